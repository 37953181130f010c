"""The rules' running counts (state.windows.recent) equal the counts made from scratch.

:class:`~smartlayer.state.windows.recent.Tally` keeps the counts of the last
10 s, 60 s and 2 minutes as events come and go; :func:`recent_of` counts them
from the snapshot's own events and is their definition.  Every snapshot a
window takes is checked against it, on random sequences built to break a
running count: late and duplicate timestamps, outcomes finishing out of order,
other workers' events merged into the middle, the event bound and expiry
dropping events inside a horizon, and a clock that goes back.
"""
from __future__ import annotations

import random

import pytest

from smartlayer.detectors.behaviour.rules import summarise
from smartlayer.state.windows.recent import Recent, recent_of
from smartlayer.state.windows.window import ClientWindow, Snapshot

PATHS = ["/", "/a", "/b/1", "/b/2", "/b/3", "/b/4", "/b/6", "/c/7", "/c?x", "/login/"]


def same(a: Recent, b: Recent) -> bool:
    """Equal counts, every field."""
    assert isinstance(a, Recent) and isinstance(b, Recent)
    return tuple(a) == tuple(b)


def check(snap: Snapshot) -> None:
    assert snap.counts is not None, "a window's snapshot carries its running counts"
    assert same(snap.counts, recent_of(snap.arrivals, snap.outcomes, snap.now))


@pytest.mark.parametrize("seed", range(40))
def test_running_counts_equal_counting_from_scratch(seed):
    rng = random.Random(seed)
    max_events, keep = rng.choice([(5, 30.0), (40, 200.0), (200, 600.0)])
    win = ClientWindow(max_events)
    t = 1_000_000.0
    pending: list[tuple] = []     # requests whose outcome is not recorded yet
    snaps = 0
    for _ in range(rng.choice([60, 300, 900])):
        t += rng.choice([0.0, 0.01, 0.3, 1.0, 2.0, 5.0, 11.0, 70.0, 130.0])
        kind = rng.random()
        now = t - rng.choice([0.0, 0.0, 0.0, 0.5, 15.0]) if kind < 0.1 else t   # a late arrival, now and then
        arrival = (now, rng.choice(["GET", "POST"]), rng.choice(PATHS), rng.choice([0, 0, 1, 64, 65]))
        if kind < 0.85:
            check(win.arrive(arrival, keep))
            snaps += 1
            pending.append(arrival)
        elif kind < 0.95:
            win.merge_arrival(arrival, keep)    # another worker's, possibly into the middle
        else:
            win.merge_outcome((now - rng.random() * 20, rng.choice([200, 404, 500]), 1.0, rng.random() < 0.2))
        while pending and rng.random() < 0.7:   # outcomes, finishing in any order
            done = pending.pop(rng.randrange(len(pending)))
            win.complete((done[0], rng.choice([200, 200, 302, 403, 404, 500]), 3.0, rng.random() < 0.1))
    assert snaps > 30


def test_a_steady_client_is_counted_without_recounting():
    """In time order the tally stays fresh: no request counts its window afresh."""
    win = ClientWindow(200)
    for i in range(500):
        snap = win.arrive((1000.0 + i * 0.5, "GET", f"/p/{i % 7}", 0), 600.0)
        win.complete((1000.0 + i * 0.5, 404 if i % 3 == 0 else 200, 2.0, False))
        check(snap)
        assert win.tally.fresh
    # 10 s back inclusive: 21 arrivals; the 200 outcomes the window keeps (the current one not finished)
    assert snap.counts.count_10s == 21 and snap.counts.paths_10s == 7
    assert snap.counts.finished_2min == 200 and snap.counts.errors_2min == 67


def test_snapshots_without_running_counts_are_counted_on_demand():
    """A snapshot another store built (the Redis store) gets the same facts from its events."""
    win = ClientWindow(200)
    for i in range(60):
        snap = win.arrive((1000.0 + i, "GET", f"/b/{i % 9}", 0), 600.0)
        win.complete((1000.0 + i, 500 if i % 2 else 200, 1.0, False))
    bare = Snapshot(now=snap.now, arrivals=snap.arrivals, outcomes=snap.outcomes, minutes=snap.minutes,
                    hours=snap.hours, first_seen=snap.first_seen)
    assert bare.counts is None
    assert summarise(bare) == summarise(snap)
