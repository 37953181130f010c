"""The built-in signature table, and the compiled engines that match it.

The table itself lives in :mod:`.families` (one module per group of attack
families); here it is joined, checked for duplicate names, and compiled into
one :class:`.engine.Engine` per (paranoia level, kind of location): a text is
matched against every signature that applies to it in one pass.
"""
from __future__ import annotations

import threading
from collections.abc import Sequence

from .engine import Engine
from .families import protocol, sql, system, web
from .sigbase import KINDS, Signature

__all__ = ["PARANOIA_LEVELS", "SIGNATURES", "Signature", "engine_for"]

#: Built-in signatures.  Weights: 3 = an attack on its own, 1–2 = a hint
#: that needs a second one (or the LLM) before anything is blocked.
SIGNATURES: tuple[Signature, ...] = (*sql.SIGNATURES, *web.SIGNATURES, *system.SIGNATURES, *protocol.SIGNATURES)
PARANOIA_LEVELS = (1, 2, 3)

_REGEX_SIGNATURES = tuple(s for s in SIGNATURES if s.source is not None)
_BY_NAME = {s.name: s for s in SIGNATURES}
if len(_BY_NAME) != len(SIGNATURES):  # pragma: no cover - a table edit gone wrong
    raise ImportError("duplicate signature names in the payload table")

#: (paranoia, kind, extra signatures) → (engine, the signatures in its order)
_ENGINES: dict[tuple[int, str, tuple[Signature, ...]], tuple[Engine, tuple[Signature, ...]]] = {}
_LOCK = threading.Lock()
#: Whether engines built from now on leave their prefilter until a long text needs it (offline work:
#: set by :func:`.config.compile_on_first_use`).
PREFILTER_LATER = [False]


def engine_for(paranoia: int, kind: str, extra: Sequence[Signature] = ()) -> tuple[Engine, tuple[Signature, ...]]:
    """The engine for texts of ``kind`` at ``paranoia``: built-ins of that level and scope, then ``extra``.

    Compiled once per combination (RE2 compiles the whole table in tens of
    milliseconds) and kept; ``extra`` is a tuple fixed per settings generation.
    """
    key = (paranoia, kind, tuple(extra))
    found = _ENGINES.get(key)
    if found is not None:
        return found
    with _LOCK:
        found = _ENGINES.get(key)
        if found is None:
            chosen = tuple(s for s in _REGEX_SIGNATURES if s.paranoia <= paranoia and kind in s.scope)
            chosen += tuple(s for s in extra if s.source is not None)
            builtin = len(chosen) - len(extra)
            engine = Engine(["(?m)" + s.pattern for s in chosen],  # type: ignore[operator]
                            ignore_case=[False] * builtin + [True] * len(extra),
                            prefilter_later=PREFILTER_LATER[0])
            if len(_ENGINES) > 64:       # settings reloaded many times (tests): keep the table bounded
                _ENGINES.clear()
            found = _ENGINES[key] = (engine, chosen)
    return found


def warm_up(paranoia: int = 1) -> None:
    """Compile the engines of one level ahead of the first request."""
    for kind in KINDS:
        engine_for(paranoia, kind)
