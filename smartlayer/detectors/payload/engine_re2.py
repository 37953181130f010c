"""What this process's ``re2`` build offers the engine, and the engine's questions to RE2 that need no set.

Split from :mod:`.engine`, which compiles and runs a table's patterns: this is
the import of ``re2`` (absent: the audited stdlib fallback), the internals the
engine reaches below the Python wrapper when the build has them, the memory
budget of every program, and the two one-pattern helpers (:func:`unsupported`,
:func:`occurs`).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

try:  # the primary engine
    import re2 as _re2
except ImportError:  # pragma: no cover - exercised by forcing the fallback in the tests
    _re2 = None

#: RE2's own search, below the ``re2`` module's Python wrapper: the wrapper maps every offset back to
#: characters in Python and cost four times the search on a short value (8 µs against 2), once per hit
#: located.  None when this ``re2`` build lays its internals out otherwise: the wrapper is used then.
_UNANCHORED = getattr(getattr(_re2, "_Anchor", None), "UNANCHORED", None) if _re2 is not None else None

#: "re2" or "re" (the audited fallback).
ENGINE = "re2" if _re2 is not None else "re"

#: Memory RE2 may use for one set's DFA.  Its default (8 MiB) runs out on the full table over some
#: 64 KiB inputs.  A set whose search runs out stops short and answers *nothing*, which would turn an
#: attack into a pass: every set is sealed (:mod:`.engine_sets`), so that such an answer is seen and its
#: patterns are searched one by one instead (a single program that runs out falls back to RE2's NFA).
_MAX_MEM = 64 << 20

#: RE2's prefilter class, when this ``re2`` build has it (the set is used for every text otherwise).
_FILTER = getattr(getattr(_re2, "_re2", None), "Filter", None) if _re2 is not None else None


def _re2_options() -> Any:
    options = _re2.Options()
    options.max_mem = _MAX_MEM
    return options


def unsupported(pattern: str, *, ignore_case: bool = False) -> str | None:
    """Why the engine cannot run ``pattern``, or None when it can."""
    if _re2 is None:
        try:
            re.compile(pattern)
        except (re.error, ValueError, OverflowError, RecursionError) as exc:
            return str(exc)
        return None
    try:
        _re2.compile(("(?i)" if ignore_case else "") + pattern, options=_re2_options())
    except Exception as exc:  # re2.error, or a TypeError for odd input
        message = str(exc) or type(exc).__name__
        return message
    return None


def occurs(pattern: str, *, ignore_case: bool = False) -> Callable[[str], bool]:
    """Whether ``pattern`` occurs in a text: RE2's automaton when it is there, the stdlib's search otherwise.

    For the normaliser's yes-or-no questions over whole texts (an encoded dot, an overlong sequence): the
    stdlib's search of an alternation without a literal prefix costs tens of ns a character, 1.2 ms on
    a 64 KiB form field, where the automaton's pass costs a few.  The same answer: the patterns it is
    given are ASCII, and a lone surrogate (JSON ``"\\ud800"``) is read as ``?``, which they do not hold.
    """
    regex = re.compile(pattern, re.IGNORECASE if ignore_case else 0)

    def searched(text: str) -> bool:
        return regex.search(text) is not None

    if _re2 is None or _UNANCHORED is None:
        return searched
    try:
        low = _re2.compile(("(?i)" if ignore_case else "") + pattern, options=_re2_options())._regexp
    except Exception:                                   # a build whose internals differ: the stdlib
        return searched

    def found(text: str) -> bool:
        encoded = text.encode("utf-8", "replace")
        try:
            return bool(low.Match(_UNANCHORED, encoded, 0, len(encoded))[0][0] >= 0)
        except Exception:                               # noqa: BLE001 - never worse than the stdlib
            return searched(text)

    return found


def characters(encoded: bytes, text: str, start: int, end: int) -> tuple[int, int]:
    """Offsets ``start`` and ``end`` in ``encoded`` (``text`` as UTF-8) as offsets in ``text``: where RE2's
    search (on bytes) says a pattern matches, in the text's characters.

    The end as the start plus the match's own characters: decoding the bytes up to each read a wide
    60 KiB text's prefix twice per hit located (a long body's few hits: ~0.5 M instructions).  A start
    inside a character (only ``\\C`` matches a lone byte) has each end decoded alone, as before."""
    if len(encoded) == len(text):
        return start, end
    head = len(encoded[:start].decode("utf-8", "replace"))
    if start < len(encoded) and encoded[start] & 0xC0 == 0x80:
        return head, len(encoded[:end].decode("utf-8", "replace"))
    return head, head + len(encoded[start:end].decode("utf-8", "replace"))


def compile_filter(patterns: Any) -> Any:
    """The prefilter over ``patterns`` (same indices), or None when this build cannot make one.

    Its own pass is a set of the patterns' literal atoms (the binding's, at RE2's default budget), which
    cannot be sealed; it cannot run out either: a set of literals has at most one DFA state per atom
    prefix (the atoms of this table: a few thousand bytes), and RE2 refuses to compile a set whose
    budget does not hold many states at once, never stopping a set's search for slowness.
    """
    if _FILTER is None:
        return None
    try:
        prefilter = _FILTER()
        for index, pattern in enumerate(patterns):
            if prefilter.Add(pattern.encode("utf-8"), _re2_options()) != index:
                return None
        if prefilter.Compile() is False:      # its literal set failed to compile: the set does all
            return None
    except Exception:                         # a build whose Filter differs: the set does all
        return None
    return prefilter
