"""Snapshot.count_last_day's shortcut (every hour bucket in range: one sum) equals counting bucket by bucket."""
from __future__ import annotations

import random

from smartlayer.state.windows.window import HOUR, ClientWindow, Snapshot


def _by_bucket(snap: Snapshot) -> int:
    current = int(snap.now // HOUR)
    return sum(n for h, n in snap.hours.items() if h > current - 24)


def test_count_last_day_equals_the_bucket_by_bucket_count():
    rng = random.Random(5)
    for _ in range(500):
        now = 1_700_000_000.0 + rng.random() * 1e5
        current = int(now // HOUR)
        # buckets from 30 hours back to one hour ahead (a clock that went back), the edge at 24 included
        hours = {current - d: rng.randrange(1, 9) for d in rng.sample(range(-1, 31), rng.randrange(0, 12))}
        snap = Snapshot(now, (), (), {}, hours, now)
        assert snap.count_last_day() == _by_bucket(snap)


def test_a_day_of_arrivals_counts_the_last_24_hours_only():
    win = ClientWindow(200)
    t0 = 1_700_000_000.0
    snap = None
    for i in range(30):            # one request an hour for 30 hours
        snap = win.arrive((t0 + i * HOUR, "GET", "/", 0), 600)
    assert snap.count_last_day() == _by_bucket(snap) == 24
