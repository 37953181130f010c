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
from .engine_view import EngineView
from .engine_warm import warm
from .families import code, protocol, sql, system, web
from .sigbase import BODY, KINDS, Signature

__all__ = ["PARANOIA_LEVELS", "SIGNATURES", "Signature", "engine_for"]

#: Built-in signatures.  Weights: 3 = an attack on its own, 1–2 = a hint
#: that needs a second one (or the LLM) before anything is blocked.
SIGNATURES: tuple[Signature, ...] = (*sql.SIGNATURES, *web.SIGNATURES, *system.SIGNATURES, *code.SIGNATURES,
                                     *protocol.SIGNATURES)
PARANOIA_LEVELS = (1, 2, 3)

_REGEX_SIGNATURES = tuple(s for s in SIGNATURES if s.source is not None)
_BY_NAME = {s.name: s for s in SIGNATURES}
if len(_BY_NAME) != len(SIGNATURES):  # pragma: no cover - a table edit gone wrong
    raise ImportError("duplicate signature names in the payload table")

#: (paranoia, kind, extra signatures) → (engine, the signatures in its order)
_ENGINES: dict[tuple[int, str, tuple[Signature, ...]], tuple[Engine, tuple[Signature, ...]]] = {}
_LOCK = threading.Lock()
#: Whether engines built from now on are for offline work (set by :func:`.config.compile_on_first_use`):
#: each leaves its prefilter until a long text needs it, and the kinds of :data:`_SHARED_KINDS` are views
#: of one engine compiled on the patterns of them all (:class:`.engine_view.EngineView`).
PREFILTER_LATER = [False]
#: The kinds of location a log line has (its query, its user agent and referer).
_SHARED_KINDS = frozenset(("query", "header"))
#: (paranoia, extra signatures) → the engine the views of :data:`_SHARED_KINDS` share
_SHARED: dict[tuple[int, tuple[Signature, ...]], Engine] = {}


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
            extras = tuple(s for s in extra if s.source is not None)
            if PREFILTER_LATER[0] and kind in _SHARED_KINDS:
                engine = _shared_view(paranoia, chosen, extras)
            else:
                engine = _compile(chosen, extras, prefilter_later=PREFILTER_LATER[0])
                if kind == BODY and not PREFILTER_LATER[0]:     # the kind of the 64 KiB texts (.engine_warm)
                    warm(engine)
            chosen += extras
            if len(_ENGINES) > 64:       # settings reloaded many times (tests): keep the table bounded
                _ENGINES.clear()
            found = _ENGINES[key] = (engine, chosen)
    return found


def _compile(builtin: tuple[Signature, ...], extras: tuple[Signature, ...], *, prefilter_later: bool) -> Engine:
    """Built-in signatures as written, then the site's extra ones case-insensitive."""
    return Engine(["(?m)" + s.pattern for s in builtin + extras],  # type: ignore[operator]
                  ignore_case=[False] * len(builtin) + [True] * len(extras), prefilter_later=prefilter_later,
                  apart=[index for index, s in enumerate(builtin) if s.apart])


def _shared_view(paranoia: int, builtin: tuple[Signature, ...], extras: tuple[Signature, ...]) -> EngineView:
    """``builtin`` then ``extras`` as a view of the engine shared by :data:`_SHARED_KINDS` (called under _LOCK)."""
    shared_builtin = tuple(s for s in _REGEX_SIGNATURES if s.paranoia <= paranoia and s.scope & _SHARED_KINDS)
    key = (paranoia, extras)
    base = _SHARED.get(key)
    if base is None:
        if len(_SHARED) > 16:            # settings reloaded many times (tests): keep the table bounded
            _SHARED.clear()
        base = _SHARED[key] = _compile(shared_builtin, extras, prefilter_later=True)
    at = {id(s): i for i, s in enumerate(shared_builtin)}
    return EngineView(base, [at[id(s)] for s in builtin] + [len(shared_builtin) + j for j in range(len(extras))])


def warm_up(paranoia: int = 1) -> None:
    """Compile the engines of one level ahead of the first request."""
    for kind in KINDS:
        engine_for(paranoia, kind)
