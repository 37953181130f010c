"""The matching engine: every signature of a scan in one pass over a text, in linear time.

Why RE2 (``google-re2``, its ``re2.Set``) rather than Hyperscan: measured on
this project's signature table (2 cores, Python 3.11, both from their wheels),
one ``re2.Set`` pass cost 1.5 µs on a short parameter, 2.4 µs on 1 KiB of
prose, 114 µs on 64 KiB of prose and 176 µs on 64 KiB built of the table's
own trigger characters; Hyperscan cost 0.9, 3.9, 262 and 2 062 µs, took 1.4 s
to compile the table (RE2: 50 ms) and refuses constructs RE2 takes (``$``
inside an alternative).  Both are automata: no input makes them backtrack.

RE2 has no look-around and no back-reference, so the built-in signatures use
neither, and a ``VALIDATOR_EXTRA_PATTERNS`` entry that RE2 cannot compile is
refused (system check E020) instead of being run some other way.

When ``re2`` cannot be imported (a platform without a wheel) the same
patterns run one by one with the stdlib ``re``, but only those the static
audit (:mod:`.regex_safety`) shows cannot backtrack: slower, never
super-linear.  :data:`ENGINE` says which one is in use.

Why long texts go through a prefilter (RE2's ``FilteredRE2``, the
``re2._re2.Filter`` class) instead of the set: the set's lazy DFA is the
product of every signature, and it builds a new state for every new byte
context it meets, at a cost that grows with the whole table.  Repetitive
text reuses its states, but 40 KiB of *diverse* text (many different attack
strings, or ordinary prose and code, a snippet a line) built thousands of
them: 27 ms (benign) and 91 ms (attacks) of CPU for one pass, against 6 and
4 ms through the prefilter (load 6 on 2 cores).  The prefilter matches the
literal atoms the patterns require (a case-insensitive literal set, whose
DFA has at most one state per atom prefix) and then runs only the patterns
whose atoms are all there, each alone with its own small DFA, stopping at
its first match — or, on a text longer than 16 KiB, the light ones a dozen
or so to a small set (see :func:`.engine_sets.light_bundles`): ordinary prose
holds the atoms of half the table.  It finds exactly what the set finds (a pattern without
atoms is always run); it costs more than the set on short or repeated
text, which is why a request's first :data:`SET_CHARS` characters still go
through the set (see :meth:`Engine.matches`).
"""
from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from typing import Any

from .engine_re2 import _FILTER, _MAX_MEM, _UNANCHORED, ENGINE, _re2, _re2_options, occurs, unsupported
from .engine_re2 import characters as _characters
from .engine_re2 import compile_filter as _compile_filter
from .engine_sets import light_bundles, report_unfinished, sealed_set, search_sets, unsealed

__all__ = ["ENGINE", "SET_CHARS", "Engine", "occurs", "unsupported", "_FILTER", "_MAX_MEM"]

#: Characters of a request matched through the whole-table set; past them, texts go through the
#: prefilter.  A typical request (five query values, a 1 KiB form, browser headers) stays under it.
SET_CHARS = 3072

#: Patterns without atoms matched together in one small set by the prefiltered path (see Engine._filtered).
_GROUP = 4

#: Bytes of text up to which the prefiltered path searches the patterns without atoms alone, not in sets
#: (see Engine._filtered): a long text's prefix (1 KiB), a field matched again.
_ALONE_BYTES = 2048

#: Bytes of text past which the prefiltered path searches the light patterns in their sets
#: (:func:`.engine_sets.light_bundles`) rather than alone.  On a few KiB of attacks each light pattern
#: alone stops at its first match, and a set reads on to the end building states for every attack it
#: meets: a multipart body's 8 KiB of diverse attack fields cost 85 M instructions with each alone and
#: 91 M with the sets; on 60 KiB of prose the sets save 18 M.
_BUNDLE_BYTES = 16384

class Engine:
    """A compiled set of patterns: which of them match a text, and where one does."""

    __slots__ = ("patterns", "line_local", "_set", "_filter", "_groups", "_grouped", "_single", "_low", "_fallback",
                 "_index", "_match", "_later", "_bundles", "_bundle_of", "_last", "_spans", "_apart")

    def __init__(self, patterns: Sequence[str], *, ignore_case: Sequence[bool] = (),
                 prefilter_later: bool = False, apart: Collection[int] = ()) -> None:
        """``prefilter_later``: the prefilter (as long to compile as the set) is built when a long text
        first needs it, not now — for offline work, whose texts are short (a log line's query and
        headers); until then a located hit uses its pattern compiled alone (the same RE2 program).
        ``apart``: patterns kept out of the others' small sets, in one of their own (:meth:`_bundle_light`)."""
        self._apart = frozenset(apart)
        self.patterns = tuple(("(?i)" if i < len(ignore_case) and ignore_case[i] else "") + p
                              for i, p in enumerate(patterns))
        #: Whether a pattern that matches a text also matches any text holding it as a whole line:
        #: true unless a pattern anchors to the very start or end of the text (``\\A``, ``\\z``; a site's
        #: extra pattern may), as ``^``, ``$`` (multi-line) and ``\\b`` read a line break as a text's edge.
        #: What lets a scan look for one line's hits among those of all its lines together.
        self.line_local = _line_local(self.patterns)
        self._single: dict[int, Any] = {}
        self._low: dict[int, Any] = {}       # index → RE2 below the wrapper (the prefilter's own, or _single's)
        self._set: Any = None
        self._filter: Any = None
        self._groups: list[tuple[Any, tuple[int, ...]]] | None = None   # small sets of the patterns without atoms
        self._grouped: dict[int, int] = {}   # pattern of _groups → its set's number there
        self._bundles: list[tuple[Any, tuple[int, ...]]] = []   # small sets of light patterns with atoms
        self._bundle_of: dict[int, int] = {}                     # pattern → its bundle in _bundles
        self._fallback: list[tuple[int, re.Pattern[str]]] = []
        self._index: list[int] = []
        self._match: Any = None      # the set's own Match (bytes in), below the wrapper's str handling
        self._later = False          # the prefilter is still to be built (see _prefilter)
        self._last: tuple[str | None, bytes] = (None, b"")    # the last long wide text and its bytes (_utf8)
        #: the last text searched pattern by pattern, its bytes, and where those found first match it (_kept)
        self._spans: tuple[str | None, bytes, dict[int, tuple[int, int]]] = (None, b"", {})
        if not self.patterns:
            return
        if _re2 is not None:
            self._set = sealed_set(self.patterns, _re2_options())      # answer len(patterns): its seal
            self._index.extend(range(len(self.patterns)))
            # the wrapper's Match is a Python call and an encode() around it, on every pass of every request
            self._match = getattr(getattr(self._set, "_set", None), "Match", None)
            self._later = True
            if not prefilter_later:
                self._prefilter()
                self._warm_reverse()
        else:
            self._fallback = [(index, re.compile(pattern)) for index, pattern in enumerate(self.patterns)]

    def _prefilter(self) -> Any:
        """The prefilter and the small sets of the patterns it cannot filter, built on first call."""
        if self._later:
            self._later = False
            self._filter = _compile_filter(self.patterns)
            self._groups = self._group_unfiltered()
            self._grouped = {i: number for number, (_, indices) in enumerate(self._groups or ()) for i in indices}
            if self._groups is not None:
                self._bundle_light()
        return self._filter

    def _warm_reverse(self) -> None:
        """Compile each pattern's reverse program now, with the engine, rather than on a request.

        RE2 locates a match's start with a second, reversed program that it
        compiles the first time a pattern is found and located: 0.5 ms a
        pattern on average and 3.6 ms for the largest (``shell_command``), paid
        by whichever request first holds that attack — several at once on a
        request of diverse attacks.  Compiled here (the table's four engines:
        0.2 s at start-up, ahead of the first request), they cost nothing then.
        """
        for low in self._low.values():
            try:
                low.ReverseProgramSize()
            except Exception:                    # noqa: BLE001 - a build without it: compiled on first use
                return

    def matches(self, text: str, *, filtered: bool = False) -> list[int]:
        """Indices of the patterns found anywhere in ``text``, in table order.

        ``filtered``: through the prefilter rather than the set (the same
        answer; cheaper on long diverse text, dearer on short text).
        """
        if filtered and (self._later or self._filter is not None) and self._prefilter() is not None:
            encoded = self._utf8(text)
            if self._groups is None:
                found = self._filter.Match(encoded, False)
                return sorted(found) if found else []
            return self._kept(text, encoded)
        if self._match is not None:
            try:
                encoded = text.encode("utf-8")
            except UnicodeEncodeError:          # lone surrogates (from JSON "\ud800") are not UTF-8
                encoded = text.encode("utf-8", "replace")
            found = self._match(encoded)
            if found and found[-1] == len(self.patterns):      # unsealed(), inlined: every pass of every request
                found.pop()
            else:
                found = unsealed(found, len(self.patterns))
        elif self._set is not None:
            encoded = text.encode("utf-8", "replace")
            found = unsealed(self._set.Match(encoded), len(self.patterns))
        else:
            return [index for index, regex in self._fallback if regex.search(text) is not None]
        if found is None:                       # the set stopped short: said nothing
            return self._one_by_one(encoded, range(len(self.patterns)), "whole table")
        return sorted(found) if found else []

    def _one_by_one(self, encoded: bytes, indices: Any, what: str, known: frozenset[int] = frozenset()) -> list[int]:
        """Which of ``indices`` (less ``known``) match ``encoded``, each searched alone: a set's answer when
        its search stopped short.  Counted and logged (:func:`.engine_sets.report_unfinished`); each
        program falls back to RE2's NFA if its own DFA runs out, so this answer is always complete."""
        report_unfinished(what, len(encoded))
        text = encoded.decode("utf-8", "replace")
        return sorted(index for index in indices if index not in known and self.span(index, text) is not None)

    def _utf8(self, text: str) -> bytes:
        """``text`` as UTF-8, lone surrogates (JSON ``"\\ud800"``) as ``?``; the last long text that is not
        ASCII kept with its bytes: a long text is searched several times over (the prefilter's pass, then
        each hit located), and encoding 64 KiB of wide text cost ~1 M instructions each time."""
        last = self._last
        if last[0] is text:
            return last[1]
        encoded = text.encode("utf-8", "replace")
        if len(text) > _ALONE_BYTES and not text.isascii():     # isascii(): a flag, not a pass
            self._last = (text, encoded)
        return encoded

    def possible(self, text: str) -> frozenset[int] | None:
        """The patterns that may match ``text``: those whose literal atoms it holds, and those without atoms
        (one pass of the prefilter's literal set, no pattern run); None when there is no prefilter.

        Never leaves out a pattern that matches (an atom is a literal every match contains), so a caller
        searching some patterns one by one may drop those not in it.
        """
        if self._filter is None:
            return None
        return frozenset(self._filter.Match(self._utf8(text), True))

    def matches_besides(self, text: str, known: frozenset[int]) -> list[int]:
        """What :meth:`matches` finds through the prefilter, less ``known`` (patterns the caller found
        already, which it need not find again): those are not run, nor a group made only of them."""
        if self._prefilter() is None or self._groups is None:
            return [index for index in self.matches(text, filtered=True) if index not in known]
        return self._kept(text, self._utf8(text), known)

    def _kept(self, text: str, encoded: bytes, known: frozenset[int] = frozenset()) -> list[int]:
        """:meth:`_filtered`, keeping where the patterns it searched alone matched (:attr:`_spans`): that
        search located them (RE2 reports the span), and the caller's :meth:`span` then searched again, up
        to the first match.  The last text's only, published whole (threads share an engine: a reader sees
        another text's answer, never half of one, and searches when the text is not its own)."""
        spans: dict[int, tuple[int, int]] = {}
        found = self._filtered(encoded, known, spans)
        self._spans = (text, encoded, spans)
        return found

    def _filtered(self, encoded: bytes, known: frozenset[int] = frozenset(),
                  spans: dict[int, tuple[int, int]] | None = None) -> list[int]:
        """The prefilter's answer, its patterns without atoms matched a few to a set — on a text of
        more than :data:`_ALONE_BYTES`; on a shorter one, each alone as the others are.

        Those (a third of the table: ``'\\s?or``, ``../``, ``;\\s?cmd``) pass
        any text, and run one by one they cost 34 passes over it even when
        it is ``' or '`` 20 000 times, where a set of a few is one pass and
        stays small: 64 KiB of repeated attack text cost 3.1 ms one by one,
        1.0 ms four to a set (diverse text: about the same either way).

        Why alone on a short text: a set says whether, not where, and a hit
        is then located (:meth:`span`) by the pattern's own program, whose
        DFA meets the text's new states a second time — on 1 KiB of diverse
        attacks (a long text's prefix, :func:`.early.first_block`)
        13 set hits located cost 1.9 ms.  Searched alone, the pattern's own
        program has built those states already: finding and locating cost
        1.8 ms in all where they cost 2.8 (same texts, separate processes).
        """
        found = []
        size = len(encoded)
        alone = size <= _ALONE_BYTES
        grouped = self._grouped
        low = self._low
        bundle_of = self._bundle_of if size > _BUNDLE_BYTES else {}
        bundles = set()
        for index in self._filter.Match(encoded, True):      # the atoms' pass: the patterns that may match
            if index in known or (not alone and index in grouped):
                continue
            bundle = bundle_of.get(index)
            if bundle is not None:
                bundles.add(bundle)                          # searched with its bundle, below
            elif (where := low[index].Match(_UNANCHORED, encoded, 0, size)[0])[0] >= 0:
                found.append(index)
                if spans is not None:
                    spans[index] = where
        for bundle in bundles:
            # its members that are not candidates cannot match (their atoms are not in the text)
            group, indices = self._bundles[bundle]
            found.extend(self._group_match(group, indices, encoded, known))
        for group, indices in () if alone else self._groups or ():
            if known and known.issuperset(indices):
                continue
            found.extend(self._group_match(group, indices, encoded, known))
        return sorted(found)

    def _group_match(self, group: Any, indices: tuple[int, ...], encoded: bytes, known: frozenset[int]) -> list[int]:
        """The patterns of one small set (less ``known``) found in ``encoded``: searched alone if the set stopped short."""
        found = unsealed(group.Match(encoded), len(indices))
        if found is None:
            return self._one_by_one(encoded, indices, "a few patterns", known)
        return [indices[i] for i in found if indices[i] not in known]

    def among(self, text: str, indices: Sequence[int], first: bool = False) -> list[int]:
        """Which of ``indices`` match ``text``, in their order: each pattern of a small set of patterns
        without atoms through its set (one pass for the set's candidates), the others each alone.

        For a line of a pass that found ``indices`` (:meth:`.matching.Matcher.match`): the sets met that
        pass's text already, so a line of it costs them a pass over states they hold, where each of their
        patterns alone met it for the first time (60 multipart fields of diverse attacks: ~30 searches
        a field).  Whether, not where: a hit is then located by its own program, up to a few a request.
        ``first``: stop at the first found, for a caller that asks only whether the text holds any.
        """
        if self._groups is None or _UNANCHORED is None:
            found_alone = (index for index in indices if self.span(index, text) is not None)
            return next(([index] for index in found_alone), []) if first else list(found_alone)
        encoded = self._utf8(text)
        size = len(encoded)
        low = self._low
        grouped = self._grouped
        found = set()
        sets = set()
        spans: dict[int, tuple[int, int]] = {}
        for index in indices:
            if (number := grouped.get(index)) is not None:    # a pattern is in one set: its number, not a search
                sets.add(number)
            elif (where := low[index].Match(_UNANCHORED, encoded, 0, size)[0])[0] >= 0:
                found.add(index)
                spans[index] = where
                if first:
                    break
        self._spans = (text, encoded, spans)                  # located by that search (see _kept)
        for number in () if first and found else sets:
            group, members = self._groups[number]
            found.update(self._group_match(group, members, encoded, frozenset()))
            if first and not found.isdisjoint(indices):
                break
        hits = [index for index in indices if index in found]
        return hits[:1] if first else hits

    def _group_unfiltered(self) -> list[tuple[Any, tuple[int, ...]]] | None:
        """Sets of :data:`_GROUP` patterns each, of the patterns the prefilter cannot filter (no atoms).

        None (the prefilter runs every pattern itself) when this build's
        prefilter cannot hand its compiled patterns out or RE2's own search
        is out of reach.
        """
        if self._filter is None or _UNANCHORED is None:
            return None
        try:
            unfiltered = [i for i in self._filter.Match(b"", True) if i not in self._apart]   # pass every text
            for index in range(len(self.patterns)):
                self._low[index] = self._filter.GetRE2(index)
            groups = search_sets(self.patterns, [unfiltered[start:start + _GROUP]
                                                 for start in range(0, len(unfiltered), _GROUP)], _re2_options())
        except Exception:                                     # an older build: the prefilter alone
            self._low.clear()
            return None
        return groups

    def _bundle_light(self) -> None:
        """The light patterns with atoms in small sets, and those kept apart in one of their own
        (:func:`.engine_sets.light_bundles`, which says why); left empty, each pattern searched alone as
        before, when the sets cannot be built."""
        try:
            sizes = [(index, self._low[index].ProgramSize()) for index in range(len(self.patterns))
                     if index not in self._grouped]
            built = search_sets(self.patterns, light_bundles(sizes, apart=self._apart), _re2_options())
        except Exception:                                     # noqa: BLE001 - each pattern alone, as before
            return
        self._bundles = built
        self._bundle_of = {index: number for number, (_, indices) in enumerate(built) for index in indices}

    def position(self, index: int, text: str) -> int:
        """Where pattern ``index`` first matches ``text`` (0 if it does not)."""
        start = self.find(index, text)
        return 0 if start is None else start

    def find(self, index: int, text: str) -> int | None:
        """Where pattern ``index`` first matches ``text``, None if it does not: that pattern alone.

        Through the prefilter's compiled copy of the pattern when there is
        one (compiling it again cost 0.4 ms a pattern, on the request that
        first needed it), else compiled on first use and kept.
        """
        found = self.span(index, text)
        return None if found is None else found[0]

    def span(self, index: int, text: str) -> tuple[int, int] | None:
        """Where pattern ``index`` first matches ``text``, start and end (characters); None if it does not.
        The pattern as RE2 itself runs it (see :meth:`find`), fetched once."""
        kept = self._spans
        if kept[0] is text and (where := kept[2].get(index)) is not None:     # located by the search that found it
            return _characters(kept[1], text, where[0], where[1])
        low = self._low.get(index) if _UNANCHORED is not None else None
        if low is None and _UNANCHORED is not None:
            low = self._low[index] = self._below_wrapper(index)
        if low is not None:
            last = self._last                            # _utf8(), inlined: once per hit located
            encoded = last[1] if last[0] is text else \
                text.encode("utf-8", "replace") if len(text) <= 2048 else self._utf8(text)
            try:
                start, end = low.Match(_UNANCHORED, encoded, 0, len(encoded))[0]
            except Exception:                            # a build whose internals differ: the wrapper
                pass
            else:
                return None if start < 0 else _characters(encoded, text, start, end)
        regex = self._compiled(index)
        try:
            match = regex.search(text)
        except UnicodeEncodeError:
            match = regex.search(text.encode("utf-8", "replace").decode("utf-8"))
        return match.span() if match is not None else None

    def _compiled(self, index: int) -> Any:
        """Pattern ``index`` alone, as the ``re2`` wrapper (or the stdlib fallback) compiles it."""
        regex = self._single.get(index)
        if regex is None:
            pattern = self.patterns[index]
            regex = _re2.compile(pattern, options=_re2_options()) if _re2 is not None else re.compile(pattern)
            self._single[index] = regex
        return regex

    def _below_wrapper(self, index: int) -> Any:
        """Pattern ``index`` as RE2 itself runs it: the prefilter's copy, or the wrapper's; None if neither."""
        if self._filter is not None:
            try:
                return self._filter.GetRE2(index)
            except Exception:                            # an older build without GetRE2
                pass
        return getattr(self._compiled(index), "_regexp", None)


def _line_local(patterns: Sequence[str]) -> bool:
    return not any(anchor in p for p in patterns for anchor in ("\\A", "\\z", "\\Z"))
