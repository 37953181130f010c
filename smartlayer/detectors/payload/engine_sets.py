"""Small RE2 sets of some of a table's patterns, for the prefiltered path of :class:`.engine.Engine`.

Two kinds: the patterns the prefilter cannot filter (no literal atom), four to a
set, every set run on every text longer than :data:`.engine._ALONE_BYTES`; and the
*light* patterns with atoms (:func:`light_bundles`), on a text longer than
:data:`.engine._BUNDLE_BYTES` a set run when the prefilter names one of its patterns —
and, run the same way, one set of the patterns a table keeps *apart* from those
(:attr:`.sigbase.Signature.apart`), whose states multiply with others'.

Every set, these and the engine's whole-table one, is *sealed* (:func:`sealed_set`).
"""
from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from typing import Any

try:
    import re2 as _re2
except ImportError:  # pragma: no cover - the engine falls back to the stdlib and builds no set
    _re2 = None

#: RE2 program size (instructions) below which a pattern with atoms is *light* (see
#: :func:`light_bundles`).  The heavy ones are the longest counted repeats over broad classes
#: (``[^<>]{0,200}``: 2,100-8,600 instructions), whose states multiply in a set.  Chosen by the
#: instructions of the prefiltered pass over 60 KiB of diverse text (callgrind, engines warmed on one
#: text, four more measured), light below / program per set: on prose 1,200 / 3,000 23.5 M,
#: 1,200 / 6,000 21.4 M, 1,200 / 12,000 20.3 M, 2,000 / 6,000 19.3 M; on attacks 17.1, 14.9, 13.9 and
#: 14.7 M.  Every pattern alone (before): 41.1 M on the prose, 14.7 M on the attacks.
LIGHT_PROGRAM = 2000

#: Program size (summed) of the patterns in one set of light patterns.
BUNDLE_PROGRAM = 6000


def light_bundles(sizes: Iterable[tuple[int, int]], light: int = LIGHT_PROGRAM,
                  budget: int = BUNDLE_PROGRAM, apart: Collection[int] = ()) -> list[list[int]]:
    """The light patterns of ``sizes`` ((index, RE2 program size) of each pattern with atoms, in table
    order) in groups of at most ``budget`` program instructions; a group of one is left out (searched
    alone, as a heavy pattern is).  The patterns of ``apart`` are in none of those groups but in one
    more of their own (when there are two or more of them), whatever their size.

    Why: on 60 KiB of diverse prose the prefilter names 30-70 patterns whose
    atoms the text holds (``select``, ``from``, ``type``, ``dir``, ``eval``
    occur in ordinary text and code), and each search of one alone is a pass
    of RE2's automaton, some ten instructions a byte however small the
    pattern.  Light patterns together make a small automaton too, which
    diverse text does not blow up: one pass per set that holds a pattern the
    prefilter named.  A member it did not name cannot match (a pattern's atoms
    occur in every match of it), so the set's answer is the patterns' own.
    """
    groups: list[list[int]] = []
    total = budget
    for index, size in sizes:
        if size >= light or index in apart:
            continue
        if total + size > budget:
            groups.append([])
            total = 0
        groups[-1].append(index)
        total += size
    groups.append(sorted(apart))
    return [group for group in groups if len(group) > 1]


#: The seal: a pattern every text matches, once, at its very end (so that no earlier DFA state is a
#: matching state, which a set would pay for on every byte).  A set's search that stops short — RE2's
#: DFA out of memory, which its set cannot fall back from and the binding cannot report — answers
#: nothing at all, seal included; a finished search always names the seal.
SEAL = r"\z"


def sealed_set(patterns: Iterable[str], options: Any) -> Any:
    """An unanchored RE2 set of ``patterns`` then :data:`SEAL` (its index: the number of patterns)."""
    built = _re2.Set.SearchSet(options)
    for pattern in patterns:
        built.Add(pattern)
    built.Add(SEAL)
    built.Compile()
    return built


def unsealed(found: Any, seal: int) -> list[int] | None:
    """A sealed set's answer without its seal (``seal``: its index), or None when the seal is missing: the
    search stopped short and said nothing of the set's patterns, which the caller must search otherwise."""
    if not found:
        return None
    if found[-1] == seal:          # nearly always: it matches at the text's end, after every other pattern
        found.pop()
    elif seal in found:
        found.remove(seal)
    else:
        return None
    return found


def report_unfinished(what: str, size: int) -> None:
    """Count a set's search that stopped short and log it once per interval; never raises (offline
    work may run without settings)."""
    message = f"an RE2 set ({what}) stopped short on {size} bytes (DFA out of memory)"
    then = "its patterns were searched one by one instead, the verdict unchanged"
    try:
        from ...state.failures import report_failure

        report_failure("payload_set_unfinished", message, then=then)
    except Exception:                                     # noqa: BLE001 - no settings: a log line each
        logging.getLogger("smartlayer").warning("smartlayer: %s; %s", message, then)


def search_sets(patterns: Sequence[str], groups: Iterable[Sequence[int]],
                options: Any) -> list[tuple[Any, tuple[int, ...]]]:
    """A sealed RE2 set of ``patterns[i]`` for each group of indices, with the indices: a set's answer
    ``j`` is pattern ``indices[j]``, and ``len(indices)`` its seal.  Raises what RE2 raises (the caller
    falls back).

    Each set is the binding's own, below the wrapper (whose ``Match`` is a Python call and a type test
    around it): a line of a long pass meets up to a dozen of these sets.  Its ``Match`` answers an empty
    list, not None, when nothing matched — which a sealed set never says of a finished search."""
    found = []
    for indices in groups:
        built = sealed_set([patterns[index] for index in indices], options)
        found.append((getattr(built, "_set", built), tuple(indices)))
    return found
