"""How a scan's queued texts meet the engines: one pass per kind of location, then each text alone.

Split from :mod:`.scan`, which reads the parts of a request and keeps the
evidence: this half decides what is matched when — a pass of the engine per
kind of location over all of a request's texts, a text a line; each text again
on its own where that pass found something, so that every hit names its
location; RE2's prefilter instead of the whole-table set past a request's
first :data:`.engine.SET_CHARS` characters; and the early stop once a long
request blocks; a form part's pairs met before that hold something flushed as
their plan says (:class:`.held.Plan`).  :class:`Matcher` keeps no state of its
own (the scan's slots hold it) and reads the scan's memory of clean texts
through :meth:`~.scan._Scan.clean_memory`.  A body's many fields normalised
together are :mod:`.joined`'s.
"""
from __future__ import annotations

from typing import Any

from . import held as _held
from .early import first_block
from .engine import SET_CHARS as _SET_CHARS
from .evidence import gathered, laid_out
from .normalise import without_sql_comments
from .parts import CLEAN_TEXT_CHARS as _CLEAN_TEXT_CHARS
from .parts import LOCATION_KINDS as _KINDS
from .parts import MAX_RESCANNED as _MAX_RESCANNED
from .parts import kind_of as _kind
from .signatures import engine_for


def _has_comment(text: str) -> bool:
    """Whether ``text`` holds a SQL comment marker.  Most texts hold no ``*`` at all: one ``memchr`` settles
    it, where each two-character search costs a few instructions a byte (a 1 KiB form body is asked twice)."""
    return "*" in text and ("/*" in text or "*/" in text)


#: Characters queued after which the texts read so far are matched before reading on: a request
#: that blocks on them is not read further (:meth:`Matcher.blocked`).  Above a typical request, so that
#: one is matched in one pass per kind of location.
_FLUSH_CHARS = 8192
#: The same before a request's first pass: an attacking body of many fields (multipart, JSON strings)
#: blocks on its first few, and was normalised and matched 8 KiB deep before the first verdict; a clean
#: one costs one pass more.  Just past the set's share: the pass goes through the prefilter (cheaper on
#: diverse text), and the fields matched again after it reach :meth:`Matcher.blocked`'s share at once
#: (at 4 KiB, 60 multipart fields of diverse attacks cost 52.5 M instructions, 45.9 M now).
_FIRST_FLUSH_CHARS = _SET_CHARS + 1

#: Characters of one pass beyond which it goes through the prefilter even within the request's share of the
#: whole-table set (:data:`.engine.SET_CHARS`): the set's automaton is the product of every signature, and
#: on a text of many different attack strings (a long query of them) it builds a new state at nearly every
#: byte — 3,000 characters of them cost 19-24 ms, the prefilter 8 ms.  A typical request's passes (five
#: query values, a 1 KiB form) are shorter; the answer is the same either way.
_SET_PASS_CHARS = 1536

#: Hits per request whose excerpt is located (one more search each); the rest are named without one.
_MAX_LOCATED = 8

#: No pattern (:meth:`Matcher.listed_here` before any hit).
_NONE: frozenset[int] = frozenset()

#: More patterns than this to search a line for (:meth:`Matcher.match`): the prefilter's literal pass over the
#: line first drops those whose atoms it does not hold (a pass each, on 60 fields of diverse attacks).
_NARROW_FROM = 4

#: A text past the set's share longer than twice this is first matched on its first this many characters
#: (:func:`.early.first_block`): when what they hold blocks the request, the rest is not matched.
_PREFIX_CHARS = 1024


class Matcher:
    """The matching half of a scan (see the module docstring), mixed into :class:`.scan._Scan`."""

    __slots__ = ()

    def engine(self, kind: str) -> Any:
        """The engine of a kind of location, looked up once per scan."""
        found = self.engines.get(kind)
        if found is None:
            found = self.engines[kind] = engine_for(self.cfg.paranoia, kind, self.cfg.extra)[0]
        return found

    def engine_signatures(self, kind: str) -> tuple[Any, Any]:
        """The engine of a kind of location and the signatures in its order, looked up once per settings
        generation (kept with the settings as :attr:`.config._Config.engines` is)."""
        key = ("signatures", kind)
        found = self.engines.get(key)
        if found is None:
            found = self.engines[key] = engine_for(self.cfg.paranoia, kind, self.cfg.extra)
        return found


    def queue(self, text: str, location: str, key: tuple[Any, str, int] | None = None, lines: bool = False) -> None:
        """Keep a normalised text for the one pass per kind of location (see :meth:`flush`).

        ``key``: how the raw text (or the whole form part) it came from is
        remembered if the pass finds its kind clean; None for texts whose
        normalisation did more than change case.  ``lines``: the text is
        several texts, a line each (the pairs of a form part): the pass reads
        them as it reads texts queued one by one, and where it finds
        something each line is matched again on its own — one entry instead
        of one per pair, which cost more than the pass on a typical request.
        """
        if self.stopped:
            return
        self.pending.append((_KINDS.get(location) or _kind(location), location, text,
                             key if key is not None and not _has_comment(key[1]) else None, lines))
        self.pending_chars += len(text)
        # a long request: match what is read, and stop if it blocks.  Never after a text with a key: the
        # pairs of one form part share theirs, and a pass over some of them must not remember it clean.
        if key is None and self.pending_chars >= self.flush_at():
            self.flush()
            self.stopped = self.blocked()

    def flush_at(self) -> int:
        """Characters queued at which the texts read so far are matched before reading on.

        Once the request scores a block and its last flush had hits to locate, only what
        :meth:`blocked` still asks to be matched again before it stops the request: reading a whole
        :data:`_FLUSH_CHARS` more cost a JSON list of diverse attacks (a string of 2.5 KiB that
        blocked, then 8 KiB of strings matched in one pass and again line by line) 11 ms where it
        blocked on its next 0.5 KiB.  Not after a flush that located nothing (``flush_from``): the
        texts after the attack are clean, nothing will stop the request, and short passes over them
        cost more than long ones (60 KiB of prose fields after a blocking one: 24 passes for 7).
        """
        if not self.passes:
            return _FIRST_FLUSH_CHARS
        block = self.cfg.block_score
        if block and self.score >= block and self.located_chars > self.flush_from:
            return max(1, _SET_CHARS - self.located_chars)
        return _FLUSH_CHARS

    def queue_pairs(self, pairs: list[str], location: str, key: tuple[Any, str, int] | None) -> None:
        """Queue the (non-empty) pairs of a form part: more than :data:`.parts.MAX_RESCANNED` as one text for
        the location (as :meth:`flush` would match them again: once for the location, not once a pair); else
        as one entry of a pair a line when that reads as queuing them one by one, which it does unless the
        queue would be flushed among them."""
        if len(pairs) > _MAX_RESCANNED:
            self.queue("\n".join(filter(None, pairs)), location, key)
            return
        pairs = [pair for pair in pairs if pair]
        if len(pairs) > 1 and (key is not None or self.pending_chars + sum(map(len, pairs)) < self.flush_at()):
            self.queue("\n".join(pairs), location, key, True)
            return
        for pair in pairs:
            self.queue(pair, location, key)

    def flush(self) -> None:
        """Match the queued texts: one engine pass per kind of location over all of them, a text a line.

        Nearly every request matches nothing, and that is settled by these
        passes.  When one finds something, each text of that kind is matched
        again on its own, in the order the parts were read, so that each hit
        names its location and no signature is credited with a match that
        spans two fields (``\\s`` reads a line break).  Texts with SQL
        comments are matched a second time with the comments read as spaces.
        """
        pending, self.pending = self.pending, []
        self.flush_from = self.located_chars
        self.pending_chars = 0
        self.candidates.clear()      # what an earlier flush found says nothing of these texts
        self.narrowed.clear()
        self.raw_only.clear()
        if not pending:              # a request whose every text is known clean
            return
        plans = None                 # a form part's pairs met before, holding something: their plans (planned())
        if len(pending) == 1:
            kind, location, text, key, lines = pending[0]
            if not lines:
                self.passes += 1
                if not self.match_text(text, location):
                    self.remember(kind, [(text, key)])
                return
            if len(text) <= _CLEAN_TEXT_CHARS and not (self.hits or self.set_chars or self.located_chars):
                held = _held._HELD.get((self.engines.get(kind) or self.engine(kind), text))
                if held is not None:
                    plans, where = held[4], location
                    if self.planned(plans.get(where)):
                        return
                    passes, skipped = self.passes, len(self.skipped)     # else this flush makes its plan
            by_kind: dict[str, list[tuple[str, Any]]] = {kind: [(text, key)]}   # a form part's pairs, a line each
        else:
            by_kind = {}
            for kind, _, text, key, _ in pending:
                by_kind.setdefault(kind, []).append((text, key))
        found = set()
        clean = self.clean_memory()
        for kind, entries in by_kind.items():
            engine = self.engine(kind)
            # only a short text can be remembered (remember()): a long one is not hashed to be looked up
            unknown = [text for text, _ in entries if len(text) > _CLEAN_TEXT_CHARS or (engine, text) not in clean]
            if unknown:
                joined = "\n".join(unknown) if len(unknown) > 1 else unknown[0]
                self.passes += 1
                size = len(joined)
                filtered = not self.on_set(size)
                if not filtered:                          # matched() inlined: four passes of every request
                    self.set_chars += size
                    if size <= _CLEAN_TEXT_CHARS and len(unknown) == 1:   # an attack string met before: a lookup
                        hits = _held.held(engine, joined, keep=True)
                    else:
                        hits = engine.matches(joined)
                else:
                    hits = engine.matches(joined, filtered=True)
                commented = _has_comment(joined)
                if hits and engine.line_local:
                    self.candidates[engine] = hits   # each text is a line of the joined one: its hits are among these
                    if commented:
                        # but not those of its reading without comments: a comment of the joined text may
                        # run across lines, so its lines read without comments are not lines of that reading
                        self.raw_only.add(engine)
                    if filtered:
                        # past the set's share already: its lines are searched for these patterns alone (match()),
                        # not through the whole-table set, which meets new contexts on every diverse line
                        self.narrowed.add(engine)
                if hits or (commented and self.matched(engine, without_sql_comments(joined))):
                    found.add(kind)
                    continue
            self.remember(kind, entries)
        if not found:                # nearly every request: nothing to locate
            return
        # the kinds with more texts than are matched again one by one (a loop, not a generator per kind: a
        # repeated probe's request comes here every time)
        counts = dict.fromkeys(found, 0)
        for kind, _, text, _, lines in pending:
            if kind in counts:
                counts[kind] += text.count("\n") + 1 if lines else 1
        many = {kind for kind, count in counts.items() if count > _MAX_RESCANNED}
        joined_by_location: dict[str, list[str]] = {}
        for kind, location, text, key, lines in pending:
            if kind in many:         # thousands of fields: once per location, not once per field
                joined_by_location.setdefault(location, []).append(text)
            elif kind in found:
                engine = self.engines[kind]
                for one in text.split("\n") if lines else (text,):
                    if (engine, one) in clean:               # a text known clean matches nothing
                        continue
                    if self.located_chars >= _SET_CHARS and self.blocked():   # the cheap test first
                        return
                    if not self.match_text(one, location):
                        # matched alone and found clean: remembered as a clean pass would (its raw text
                        # too, if it was queued alone), so that the other fields of an attacking request
                        # (its cookies, page=2) are not matched again, alone, on the next one
                        self.remember(kind, [(one, None if lines else key)])
        self.candidates.clear()      # a location's lines joined are not lines of one pass: matched in full
        self.narrowed.clear()
        self.raw_only.clear()
        for location, texts in joined_by_location.items():
            if self.blocked():
                return
            self.match_text("\n".join(texts), location)
        if plans is not None and self.located == len(self.hits) and len(self.skipped) == skipped:
            plans[where] = _held.Plan(gathered(self.listed, self.hits), self.passes - passes, self.set_chars,
                                      self.located_chars)


    def planned(self, plan: _held.Plan | None) -> bool:
        """Flush a form part's pairs met before that hold something (:data:`.held._HELD`), for a scan that
        found nothing before, as their plan says (:class:`.held.Plan`); False when there is none yet (then
        :meth:`flush` makes it).

        Exact: before its first hit, a scan's flush of a text under :data:`.parts.CLEAN_TEXT_CHARS` depends
        on nothing else than the engine, the text and its location — no label is listed yet, no signature
        counted, each hit may be located (a plan is kept only when each was), and it matches again far less
        than the :data:`.engine.SET_CHARS` characters after which it may stop at a block.  The memory of clean
        texts only spares it work: a line known clean holds nothing either way.
        """
        if plan is None:
            return False
        self.passes += plan.passes
        self.set_chars += plan.set_chars
        self.located_chars += plan.located_chars
        if plan.laid is not None:
            self.credit(plan.laid)
        return True

    def blocked(self) -> bool:
        """Whether the request already scores a block and has been matched at length, so that matching
        more texts would change nothing but the list of hits (then said in ``skipped``:
        ``scan:stopped_at_block``).

        The hits found so far explain the verdict.  What it saves: a request
        of many attacking fields, or a long attacking field with SQL
        comments, costs the texts up to its block rather than all of them.
        A request whose texts matched again total less than
        :data:`.engine.SET_CHARS` characters is matched in full, every hit
        listed where it is.
        """
        block = self.cfg.block_score
        if block and self.score >= block and self.located_chars >= _SET_CHARS:
            self.skip("scan:stopped_at_block")
            return True
        return False


    def match_text(self, text: str, location: str) -> bool:
        """Match one text, and again with its SQL comments read as spaces if it has any; True if anything matched."""
        found = self.match(text, location)
        if _has_comment(text) and not (self.located_chars >= _SET_CHARS and self.blocked()):
            # what the first reading found is named already: the second looks only for the rest
            return bool(self.match(without_sql_comments(text), location, frozenset(found), second=True)) or bool(found)
        return bool(found)


    def matched(self, engine: Any, text: str) -> list[int]:
        """The patterns of ``engine`` found in ``text``: through its set while the request's first
        :data:`.engine.SET_CHARS` characters last, through its prefilter after (the same answer).

        The set is cheapest on short and familiar text, but each new byte
        context costs it a DFA state as dear as the whole table, and 64 KiB of
        diverse text cost 27-91 ms; bounding what one request sends it bounds
        that, whatever the number of fields the text is split into.
        """
        size = len(text)
        if self.on_set(size):
            self.set_chars += size
            return engine.matches(text)
        return engine.matches(text, filtered=True)

    def on_set(self, size: int) -> bool:
        """Whether a pass over ``size`` characters goes through the whole-table set (else the prefilter,
        with the same answer): while the request's share of it (:data:`.engine.SET_CHARS`) lasts and the
        pass is no longer than :data:`_SET_PASS_CHARS`.  The one rule for every pass (:meth:`flush`,
        :meth:`matched`, :meth:`match`); the caller charges the share when it takes the set."""
        return size <= _SET_PASS_CHARS and self.set_chars + size <= _SET_CHARS


    def listed_here(self, signatures: Any, location: str, indices: list[int]) -> frozenset[int]:
        """Which of ``indices`` name a signature listed at ``location`` already.

        Why a line of a pass does not look for them again: a signature is
        listed once per location (its first hit there names it), so another
        line's hit of it would add nothing.  On 3 KiB of diverse attacks (a
        JSON list of them, 50-60 strings matched again) most lines hold only
        signatures an earlier line named: searching each for every candidate
        of the pass cost 2.9-3.1 ms of such a request's 8-10 ms, 1.3-1.5 ms
        now (the rest of it: the lines with nothing new, searched until one
        listed signature is found, so that they are not remembered clean).
        """
        labels = self.labels
        return frozenset(index for index in indices if f"{signatures[index].name}@{location}" in labels)

    def match(self, text: str, location: str, known: frozenset[int] = frozenset(), second: bool = False) -> list[int]:
        """Match every signature that applies to ``location`` against one normalised text, in one pass;
        the indices of the patterns found.

        A text that was a line of a pass of :meth:`flush` is matched only
        against what that pass found (:attr:`.engine.Engine.line_local`), one
        pattern at a time, once the request is past the set's share
        (:meth:`matched`): a handful of patterns on a short text, where the
        whole table would meet new contexts again.

        ``known``: patterns already found at ``location`` (the first reading
        of a text with SQL comments), whose hits are listed: past the set's
        share they are not searched for again (on 60 KiB of diverse attacks
        the second reading cost as much as the first).  ``second``: this is
        that second reading, which the hits of a pass over texts with comments
        (:attr:`raw_only`) say nothing of.
        """
        engine, signatures = self.engine_signatures(_KINDS.get(location) or _kind(location))
        size = len(text)
        self.located_chars += size
        # within the set's share one pass of it beats a search per pattern found; past it (or when the pass
        # this text was a line of went past it), a line of a pass that found something is searched for each
        # of those patterns alone, and nothing else
        starts: dict[int, int] | None = None
        memo: dict[int, int] | None = None          # the starts remembered for a short text (held())
        made: dict[tuple[str, int | None], Any] | None = None    # and the hits made of it
        laid: dict[str, Any] = {}                   # and those hits laid out by location (credit())
        only = self.candidates.get(engine)
        if second and only is not None and engine in self.raw_only:
            only = None
        # (a body's fields joined into one text come here whole: 3 KiB of diverse attacks cost the set 11-14 ms)
        if self.on_set(size) and engine not in self.narrowed:
            self.set_chars += size
            remembered = _held._HELD.get((engine, text)) if size <= _CLEAN_TEXT_CHARS else None
            if remembered is None:
                found = engine.matches(text)
                if found and size <= _CLEAN_TEXT_CHARS:
                    remembered = _held.hold(engine, text, found)
            if remembered is not None:
                found, memo, made, laid, _ = remembered
                done = laid.get(location)
                if done is not None and self.located + len(done.hits) <= _MAX_LOCATED:   # each located, as below
                    self.credit(done)
                    return found
        elif only is None:
            if known:
                found = engine.matches_besides(text, known)
            elif size > 2 * _PREFIX_CHARS and (starts := first_block(self, engine, signatures, text)) is not None:
                found = sorted(starts)
            else:
                found = engine.matches(text, filtered=True)
        else:
            if len(only) > _NARROW_FROM and (possible := engine.possible(text)) is not None:
                only = [index for index in only if index in possible]
            listed = self.listed_here(signatures, location, only) if self.labels else _NONE
            found = engine.among(text, [index for index in only if index not in known and index not in listed])
            if listed and not found:
                # whether the line holds one of those all the same (a line that does is not remembered clean)
                found = engine.among(text, [index for index in only if index in listed and index not in known], True)
        for index in found:
            sig = signatures[index]
            label = f"{sig.name}@{location}"
            if label in self.labels:
                continue
            position = None
            if self.located < _MAX_LOCATED:
                self.located += 1
                if starts is not None:
                    position = starts[index]
                elif memo is None:
                    position = engine.find(index, text) or 0
                else:
                    position = memo.get(index)
                    if position is None:
                        position = memo[index] = engine.find(index, text) or 0
            self._hit(sig, location, text, position, made, label)
        if made is not None and location not in laid and (done := laid_out(signatures, location, found, memo, made)):
            laid[location] = done
        return found
