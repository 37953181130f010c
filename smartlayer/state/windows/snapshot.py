"""What the rules and the model read of one client's window: an immutable :class:`Snapshot` at one instant.

Split from :mod:`.window` (which keeps the mutable :class:`~.window.ClientWindow`
and the in-process store): readers of a window — the rules, the feature
extractor, the Redis store that rebuilds a snapshot from its own data — need
this and not the machinery that records events.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice, repeat

from .recent import SHORT, Recent, recent_of

Arrival = tuple  # (ts: float, method: str, path: str, flags: int)
Outcome = tuple  # (ts: float, status: int, response_ms: float, blocked: bool)

MINUTE = 60
HOUR = 3600
DAY = 86400


def _tail_since(events: tuple, cutoff: float) -> list:
    """The events at or after ``cutoff``: events are time-ordered, so walk back
    from the newest (usually a few steps) instead of scanning the window."""
    i = len(events)
    while i > 0 and events[i - 1][0] >= cutoff:
        i -= 1
    return list(events[i:]) if events.__class__ is tuple else _newest(events, len(events) - i)


def _newest(events, k: int) -> list:
    """The newest ``k`` events of a deque, oldest first: taken from its right end (``islice`` from
    the left steps over every older event of the window first, ~200 for a busy client)."""
    if k <= 0:
        return []
    tail = list(islice(reversed(events), k))
    tail.reverse()
    return tail


@dataclass(slots=True)
class Snapshot:
    """An immutable view of one client's window at ``now``.

    ``arrivals`` ends with the current request; ``minutes`` and ``hours``
    include it too.  Everything a rule or a feature reads comes from here.
    """

    now: float
    arrivals: tuple
    outcomes: tuple
    minutes: dict
    hours: dict
    first_seen: float
    robots_at: float = 0.0   # when this client last fetched /robots.txt (0: never, as far as the window knows)
    #: the counts the rules read (:mod:`.recent`), kept running by the window; None: counted on demand.
    #: Derived from the events, so no part of a snapshot's equality (a Redis snapshot equals a window's)
    counts: Recent | None = field(default=None, compare=False, repr=False)

    @property
    def recent(self) -> Recent:
        """The recent counts (:class:`~.recent.Recent`) at ``now``, the current request included."""
        counts = self.counts
        if counts is None:
            counts = self.counts = recent_of(self.arrivals, self.outcomes, self.now)
        return counts

    def arrivals_since(self, seconds: float) -> list:
        counts = self.counts
        if counts is not None and seconds == SHORT:
            # the running count of the last 10 s is the length of this very tail (the same walk back
            # from the newest, recent.py's horizon rule): no walk needed for a busy client
            arrivals = self.arrivals
            if arrivals.__class__ is tuple:
                return list(arrivals[len(arrivals) - counts.count_10s:])
            return _newest(arrivals, counts.count_10s)
        return _tail_since(self.arrivals, self.now - seconds)

    def outcomes_since(self, seconds: float) -> list:
        return _tail_since(self.outcomes, self.now - seconds)

    def count_last_day(self) -> int:
        """Arrivals in the last 24 hours, the current one included (hour buckets)."""
        hours = self.hours
        first = int(self.now // HOUR) - 23
        # asked several times a request (grace, scoring, rules, features): when every bucket is in
        # range (the window prunes old ones), two C-level passes instead of a generator
        if not hours or min(hours) >= first:
            return sum(hours.values())
        return sum(n for h, n in hours.items() if h >= first)

    def count_between(self, start_ago: float, end_ago: float) -> int:
        """Arrivals with ``now - end_ago <= ts < now - start_ago`` (minute buckets)."""
        lo = int((self.now - end_ago) // MINUTE)
        hi = int((self.now - start_ago) // MINUTE)
        minutes = self.minutes
        # asked every request (the idle rule's ten minutes): look those minutes up, C-level, unless the
        # window holds fewer buckets than that — and then too while the span is short (a generator over
        # even three buckets costs more than ten lookups)
        if hi - lo < len(minutes) or hi - lo <= 16:
            return sum(map(minutes.get, range(lo, hi), repeat(0)))   # get(m, 0) per minute, C-level
        return sum(n for m, n in minutes.items() if lo <= m < hi)
