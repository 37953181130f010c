"""Per-client request rates of one endpoint, counted the way the rate rules count them (offline).

The rate rules look back 10 s from every request (a sliding window, the
current request included) and grant each endpoint its learned allowance: what
a normal client of this site sends there at its busiest.  It is learned from
the same quantity — each client's peak sliding 10 s count — and taken across
clients, not across time slices: a quantile over 10 s slices is dominated by
the quiet ones, so a reader whose page flushes its queued events on load and
keeps posting from three open tabs crossed it on most page loads, every one of
them normal here.

Memory stays bounded on a long log: only the last 10 s of each client are
kept, and clients silent for longer are dropped by :meth:`SlidingCounts.prune`.
Rows may arrive slightly out of order (several workers write one log); a row
older than what is kept is counted against what is left, which can only
understate its count.
"""
from __future__ import annotations

import math
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable

__all__ = ["SlidingCounts", "peak_quantiles"]


class SlidingCounts:
    """Each client's peak count of requests within ``horizon`` seconds (sliding, the current one included)."""

    __slots__ = ("horizon", "peaks", "_recent")

    def __init__(self, horizon: float = 10.0) -> None:
        self.horizon = horizon
        self.peaks: dict[str, int] = {}
        self._recent: dict[str, list[float]] = {}

    def add(self, client: str, ts: float) -> None:
        recent = self._recent.get(client)
        if recent is None:
            self._recent[client] = [ts]
            self.peaks.setdefault(client, 1)
            return
        if ts >= recent[-1]:
            recent.append(ts)
            n = len(recent) - bisect_left(recent, ts - self.horizon)
        else:   # late row: placed where it belongs, counted against what is kept
            insort(recent, ts)
            n = bisect_right(recent, ts) - bisect_left(recent, ts - self.horizon)
        if n > self.peaks.get(client, 0):
            self.peaks[client] = n
        cut = bisect_left(recent, recent[-1] - self.horizon)
        if cut:
            del recent[:cut]

    def prune(self, now: float) -> None:
        """Forget clients with nothing in the last window before ``now`` (keeps memory to the active ones)."""
        edge = now - self.horizon
        stale = [c for c, recent in self._recent.items() if recent[-1] < edge]
        for c in stale:
            del self._recent[c]


def peak_quantiles(peaks: Iterable[int]) -> list[int]:
    """[p50, p90, p99, max] of the clients' peaks (nearest rank), [0, 0, 0, 0] when there are none.

    From ten clients on, the 99th percentile is never the single busiest
    client's peak: one client — a scraper in the learning window, say — must
    not set the allowance for everyone.
    """
    data = sorted(peaks)
    n = len(data)
    if not n:
        return [0, 0, 0, 0]

    def rank(p: float) -> int:
        return min(n - 1, max(0, math.ceil(p * n) - 1))

    p99 = rank(0.99) if n < 10 else min(rank(0.99), n - 2)
    return [data[rank(0.5)], data[rank(0.9)], data[p99], data[-1]]
