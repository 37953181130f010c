"""A snapshot's last seconds are taken from the window's newest end, whatever the window holds.

Counted, never timed: a reader whose page posts a beacon every 2 s keeps ~200 arrivals in its
window, and the rules ask for its last 10 s (five of them) on every beacon; stepping over the
195 older ones first was most of that question's cost in a replay of such a site.
"""
from __future__ import annotations

from collections import deque

from smartlayer.state.windows.recent import recent_of
from smartlayer.state.windows.snapshot import Snapshot


class _Counting(deque):
    """A deque that counts the events any iteration over it steps on (from either end)."""

    stepped = 0

    def __iter__(self):
        for e in deque.__iter__(self):
            _Counting.stepped += 1
            yield e

    def __reversed__(self):
        for e in deque.__reversed__(self):
            _Counting.stepped += 1
            yield e


def _window(n: int = 200, gap: float = 2.0, now: float = 10_000.0) -> tuple[_Counting, float]:
    arrivals = _Counting((now - (n - 1 - i) * gap, "POST", f"/beacon/{i % 3}", 0) for i in range(n))
    return arrivals, now


def test_the_last_ten_seconds_step_only_on_themselves():
    arrivals, now = _window()
    counts = recent_of(tuple(arrivals), (), now)
    snap = Snapshot(now, arrivals, (), {}, {}, now - 1000, counts=counts)
    expected = [a for a in tuple(arrivals) if a[0] >= now - 10]
    assert len(expected) == 6
    _Counting.stepped = 0
    assert snap.arrivals_since(10) == expected
    assert _Counting.stepped <= len(expected)          # not the 194 older arrivals first


def test_a_longer_horizon_walks_back_and_takes_only_its_tail():
    arrivals, now = _window()
    snap = Snapshot(now, arrivals, (), {}, {}, now - 1000)   # no running counts: walked back from the newest
    expected = [a for a in tuple(arrivals) if a[0] >= now - 60]
    _Counting.stepped = 0
    assert snap.arrivals_since(60) == expected
    assert _Counting.stepped <= len(expected)


def test_a_tuple_window_and_an_empty_tail_read_the_same():
    arrivals, now = _window(n=50)
    as_tuple = tuple(arrivals)
    counts = recent_of(as_tuple, (), now)
    assert Snapshot(now, as_tuple, (), {}, {}, 0.0, counts=counts).arrivals_since(10) == \
        Snapshot(now, arrivals, (), {}, {}, 0.0, counts=counts).arrivals_since(10)
    late = now + 1000   # nothing in the last 10 s nor the last minute
    assert Snapshot(late, arrivals, (), {}, {}, 0.0).arrivals_since(60) == []
