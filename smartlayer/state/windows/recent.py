"""What a client did recently — the counts the rules read — kept up to date as events arrive.

The behaviour rules (:func:`smartlayer.detectors.behaviour.rules.summarise`)
read, on every request: the arrivals of the last 10 s (how many, how many a
plan governs, how many distinct paths), the distinct paths of the last 60 s
(and the last few of them), and the finished requests and errors of the last
2 minutes.  Counted afresh, each request copied those tails of the window and
walked them: for a reader whose page sends a beacon every 2 s, ~100 events
per request, the largest single cost of a request's inspection.

:class:`Tally` keeps the same counts *running*: an event is added when it
is appended, taken away when it leaves the horizon (or the window), so a
request costs a few steps, whatever the window holds.  :func:`recent_of`
counts them from scratch; it **defines** what the counts mean, and the tally
must agree with it at every snapshot (``tests/test_window_recent.py`` checks
that on random sequences: late, duplicate and out-of-order events, merges,
evictions, time going back):

* a horizon holds the events at the end of the window whose timestamps are
  all at or after ``now - seconds`` — walked back from the newest, stopping
  at the first older one (the window is time-ordered except for the rare
  late event, and that is where a walk stops);
* outcomes of requests smartlayer itself refused are not "finished";
  an error is a finished request answered 400 or more.

The tally only ever *moves forward* over time-ordered events.  Whatever
breaks that — an event appended older than the newest, one merged into the
middle (another worker's), a snapshot taken at an earlier ``now`` — marks it
stale; the next snapshot counts from scratch (the old cost, once), and the
tally resumes from there when the events it covers are in order.
"""
from __future__ import annotations

from collections import deque
from itertools import islice
from operator import itemgetter
from typing import NamedTuple

from ...request.facts import FLAG_PLAN_GOVERNED, longest_sequential_run
from ...request.facts import _template_id as template_id

#: The horizons the rules count over (seconds); see the module docstring of the rules.
SHORT, MINUTE_H, OUTCOMES_H = 10.0, 60.0, 120.0
#: How many of the last minute's paths a snapshot keeps (shown to the LLM, in the facts).
RECENT_PATHS = 20
_path = itemgetter(2)


class Recent(NamedTuple):
    """The recent counts of one client at a snapshot's ``now`` (the current request included).

    A named tuple: built on every request, and a tuple is built several times faster than a frozen dataclass.
    """

    count_10s: int
    governed_10s: int          # of those, requests a customer's plan governs
    paths_10s: int             # distinct paths in the last 10 s
    paths_60s: int             # distinct paths in the last 60 s
    sequential_run_60s: int    # longest run of consecutive ids among them (request.facts.longest_sequential_run)
    recent_paths: tuple        # the paths of the last ≤ RECENT_PATHS arrivals of the last 60 s, oldest first
    finished_2min: int         # outcomes of the last 2 min, refusals of ours left out
    errors_2min: int           # of those, answered ≥ 400


_new_recent = tuple.__new__


def _suffix_start(events: deque | tuple, cutoff: float) -> int:
    """Index of the first event of the horizon: walk back from the newest while at or after ``cutoff``."""
    i = len(events)
    while i > 0 and events[i - 1][0] >= cutoff:
        i -= 1
    return i


def recent_of(arrivals: deque | tuple, outcomes: deque | tuple, now: float) -> Recent:
    """The counts from scratch (the definition; stores without a tally use it directly)."""
    n = len(arrivals)
    i60 = _suffix_start(arrivals, now - MINUTE_H)
    i10 = _suffix_start(arrivals, now - SHORT)
    last_10s = list(islice(arrivals, i10, n))
    paths_60s = [a[2] for a in islice(arrivals, i60, n)]
    distinct = tuple(dict.fromkeys(paths_60s))
    o120 = _suffix_start(outcomes, now - OUTCOMES_H)
    finished = [o[1] for o in islice(outcomes, o120, len(outcomes)) if not o[3]]
    return Recent(
        count_10s=len(last_10s),
        governed_10s=sum(1 for a in last_10s if a[3] & FLAG_PLAN_GOVERNED),
        paths_10s=len({a[2] for a in last_10s}),
        paths_60s=len(distinct),
        sequential_run_60s=longest_sequential_run(distinct),
        recent_paths=tuple(paths_60s[-RECENT_PATHS:]),
        finished_2min=len(finished),
        errors_2min=sum(1 for status in finished if status >= 400),
    )


def _in_order(events: deque, start: int) -> bool:
    prev = None
    for e in islice(events, start, len(events)):
        if prev is not None and e[0] < prev:
            return False
        prev = e[0]
    return True


class Tally:
    """Running counts over one client's window (see the module docstring); owned by a
    :class:`~smartlayer.state.windows.window.ClientWindow`, which tells it every change.

    Invariant while ``fresh``: ``a10``/``a60``/``o120`` are the indices (into the window's
    deques) where the horizons of the last ``now`` start, every event from there on is in
    time order, and the counters hold exactly those events.
    """

    __slots__ = ("fresh", "now", "a10", "a60", "o120", "n10", "gov10", "p10", "p60", "finished", "errors", "run",
                 "tail")

    def __init__(self) -> None:
        # fresh from the start: a new window is empty, and the counts of no events (every horizon at
        # index 0, nothing counted) are exact — its first snapshot moves forward like any other instead
        # of counting afresh (a new client's first request: ~25 k instructions)
        self.fresh = True
        self.now = 0.0
        self.a10 = self.a60 = self.o120 = 0
        self.n10 = self.gov10 = self.finished = self.errors = 0
        self.p10: dict[str, int] = {}
        self.p60: dict[str, int] = {}
        # the sequential run of p60's paths; -1: their set of paths with an id changed since it was
        # found (a reader's beacons and a poller repeat paths, a page's assets carry no id: the run
        # reads only ids, so a path without one coming or going leaves it as it is)
        self.run = -1
        # the paths of the newest ≥ min(RECENT_PATHS, len(arrivals)) arrivals, oldest first: their right end
        # is the window's (appended together); entries beyond the window's left end are never read
        self.tail: deque = deque(maxlen=RECENT_PATHS)

    def stale(self) -> None:
        self.fresh = False

    # ── changes of the window ───────────────────────────────────────────────
    def arrived(self, arrival: tuple) -> None:
        """``arrival`` was appended (after the window's previous newest, checked by the caller)."""
        if self.fresh:   # _add10 inlined: once per request
            p = arrival[2]
            self.n10 += 1
            if arrival[3] & FLAG_PLAN_GOVERNED:
                self.gov10 += 1
            self.p10[p] = self.p10.get(p, 0) + 1
            n = self.p60.get(p, 0)
            if not n and template_id(p) is not None:
                self.run = -1
            self.p60[p] = n + 1
            self.tail.append(p)

    def arrival_left(self, arrival: tuple) -> None:
        """The oldest arrival left the window (expiry or the event bound)."""
        if not self.fresh:
            return
        if self.a60:
            self.a60 -= 1
        elif _drop(self.p60, arrival[2]) and template_id(arrival[2]) is not None:
            self.run = -1
        if self.a10:
            self.a10 -= 1
        else:
            self._drop10(arrival)

    def completed(self, outcome: tuple) -> None:
        """``outcome`` was appended (after the previous newest outcome, checked by the caller)."""
        if self.fresh and not outcome[3]:
            self.finished += 1
            if outcome[1] >= 400:
                self.errors += 1

    def outcome_left(self, outcome: tuple) -> None:
        if not self.fresh:
            return
        if self.o120:
            self.o120 -= 1
        elif not outcome[3]:
            self.finished -= 1
            if outcome[1] >= 400:
                self.errors -= 1

    # ── reading ─────────────────────────────────────────────────────────────
    def at(self, arrivals: deque, outcomes: deque, now: float) -> Recent:
        """The counts at ``now``: the horizons moved forward, or counted afresh when stale."""
        if not self.fresh or now < self.now:
            return self._rebuild(arrivals, outcomes, now)
        self.now = now
        cut = now - MINUTE_H
        n = len(arrivals)
        i = self.a60
        while i < n and arrivals[i][0] < cut:
            p = arrivals[i][2]
            if _drop(self.p60, p) and template_id(p) is not None:
                self.run = -1
            i += 1
        self.a60 = i
        cut = now - SHORT
        i = self.a10
        while i < n and arrivals[i][0] < cut:
            self._drop10(arrivals[i])
            i += 1
        self.a10 = i
        cut = now - OUTCOMES_H
        i, m = self.o120, len(outcomes)
        while i < m and outcomes[i][0] < cut:
            o = outcomes[i]
            if not o[3]:
                self.finished -= 1
                if o[1] >= 400:
                    self.errors -= 1
            i += 1
        self.o120 = i
        return self._recent(arrivals)

    def _recent(self, arrivals: deque) -> Recent:
        k = min(RECENT_PATHS, len(arrivals) - self.a60)
        p60 = self.p60
        if self.run < 0:
            self.run = longest_sequential_run(p60)
        paths = tuple(self.tail)   # the newest k paths are its last k (k ≤ its length: see __init__)
        if k < len(paths):
            paths = paths[len(paths) - k:]
        # tuple.__new__ with the fields in order (what the named tuple's own __new__ does, one frame fewer)
        return _new_recent(Recent, (self.n10, self.gov10, len(self.p10), len(p60), self.run, paths,
                                    self.finished, self.errors))

    def _rebuild(self, arrivals: deque, outcomes: deque, now: float) -> Recent:
        recent = recent_of(arrivals, outcomes, now)
        a60 = _suffix_start(arrivals, now - MINUTE_H)
        o120 = _suffix_start(outcomes, now - OUTCOMES_H)
        if not (_in_order(arrivals, a60) and _in_order(outcomes, o120)):
            self.fresh = False   # a late event inside a horizon: counted afresh until it has left it
            return recent
        self.fresh, self.now = True, now
        self.a60, self.o120 = a60, o120
        self.a10 = _suffix_start(arrivals, now - SHORT)
        self.p60 = {}
        for a in islice(arrivals, a60, len(arrivals)):
            self.p60[a[2]] = self.p60.get(a[2], 0) + 1
        self.n10 = self.gov10 = 0
        self.p10 = {}
        for a in islice(arrivals, self.a10, len(arrivals)):
            self._add10(a)
        self.finished, self.errors = recent.finished_2min, recent.errors_2min
        self.run = recent.sequential_run_60s
        self.tail = deque(map(_path, islice(reversed(arrivals), RECENT_PATHS)), maxlen=RECENT_PATHS)
        self.tail.reverse()
        return recent

    def _add10(self, a: tuple) -> None:
        self.n10 += 1
        if a[3] & FLAG_PLAN_GOVERNED:
            self.gov10 += 1
        p = a[2]
        self.p10[p] = self.p10.get(p, 0) + 1

    def _drop10(self, a: tuple) -> None:
        self.n10 -= 1
        if a[3] & FLAG_PLAN_GOVERNED:
            self.gov10 -= 1
        _drop(self.p10, a[2])


def _drop(counts: dict[str, int], path: str) -> bool:
    """One ``path`` fewer; True when it was the last (the set of paths changed)."""
    n = counts[path] - 1
    if n:
        counts[path] = n
        return False
    del counts[path]
    return True
