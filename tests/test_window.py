"""ClientWindow's merge of events other workers saw (the replicated store's core).

The property that matters: however the events of several workers are
interleaved and delayed, once each worker has merged the others' events its
window equals one ClientWindow fed with the time-ordered union of all of them.
"""
from __future__ import annotations

import random
from collections import deque

import pytest

from smartlayer.state.windows.replicated import ReplicatedWindowStore
from smartlayer.state.windows.window import ClientWindow, _insert_in_order


def state(win: ClientWindow) -> tuple:
    return (list(win.arrivals), sorted(win.outcomes), win.minutes, win.hours, win.first_seen, win.last_seen)


def random_events(rng: random.Random, n: int, t0: float, span: float) -> list[tuple]:
    times = sorted(t0 + rng.random() * span for _ in range(n))
    paths = ["/", "/a", "/b/1", "/b/2", "/login/"]
    return [(t, rng.choice(["GET", "POST"]), rng.choice(paths), rng.choice([0, 1, 2, 8])) for t in times]


def reference(events: list[tuple], max_events: int, keep: float) -> ClientWindow:
    win = ClientWindow(max_events)
    for e in sorted(events, key=lambda e: e[0]):
        win.arrive(e, keep)
    return win


@pytest.mark.parametrize("seed", range(20))
def test_workers_that_merge_each_others_events_end_with_the_single_window(seed):
    """3 workers; each request goes to a random worker; each worker hears the
    others' events in batches, late and out of order with its own."""
    rng = random.Random(seed)
    max_events, keep = rng.choice([(5, 30.0), (50, 120.0), (200, 600.0)])
    events = random_events(rng, rng.randint(1, 300), 1_700_000_000.0, rng.choice([10.0, 300.0, 4000.0]))
    workers = [ClientWindow(max_events) for _ in range(3)]
    inbox: list[list[tuple]] = [[] for _ in workers]
    for e in events:
        w = rng.randrange(3)
        workers[w].arrive(e, keep)
        for other in range(3):
            if other != w:
                inbox[other].append(e)
        # now and then a worker's bus thread delivers what it heard so far
        for other in range(3):
            if inbox[other] and rng.random() < 0.2:
                for heard in inbox[other]:
                    workers[other].merge_arrival(heard, keep)
                inbox[other].clear()
    for w, pending in enumerate(inbox):
        for heard in pending:
            workers[w].merge_arrival(heard, keep)
    expected = reference(events, max_events, keep)
    for win in workers:
        assert list(win.arrivals) == list(expected.arrivals)
        assert win.minutes == expected.minutes and win.hours == expected.hours
        assert win.first_seen == expected.first_seen and win.last_seen == expected.last_seen


def test_an_older_event_lands_in_its_place_and_a_full_window_drops_the_oldest():
    events: deque = deque([(1.0,), (3.0,), (5.0,)], maxlen=4)
    _insert_in_order(events, (4.0,))
    assert [e[0] for e in events] == [1.0, 3.0, 4.0, 5.0]
    _insert_in_order(events, (2.0,))  # full: 1.0 makes room, as an append would have dropped it
    assert [e[0] for e in events] == [2.0, 3.0, 4.0, 5.0]
    _insert_in_order(events, (0.5,))  # older than everything in a full window: dropped
    assert [e[0] for e in events] == [2.0, 3.0, 4.0, 5.0]
    _insert_in_order(events, (5.0, "same time"))  # ties keep arrival order
    assert events[-1] == (5.0, "same time")


def test_merged_outcomes_are_time_ordered():
    win = ClientWindow(10)
    win.complete((10.0, 200, 5.0, False))
    win.merge_outcome((12.0, 404, 5.0, False))
    win.merge_outcome((11.0, 500, 5.0, False))
    assert [o[0] for o in win.outcomes] == [10.0, 11.0, 12.0]


def test_an_old_arrival_still_counts_in_the_buckets_when_the_list_no_longer_keeps_it():
    win = ClientWindow(10)
    win.arrive((1000.0, "GET", "/", 0), 30.0)
    win.merge_arrival((900.0, "GET", "/old", 0), 30.0)  # 100 s before: beyond the 30 s the list keeps
    assert [a[2] for a in win.arrivals] == ["/"]
    assert sum(win.minutes.values()) == 2 and win.first_seen == 900.0


class _Bus:
    """Stands in for the bus: what the store sends, in order."""

    def __init__(self) -> None:
        self.sent: list = []

    def subscribe(self, topic, handler, on_connect=None) -> None:
        self.topic, self.handler = topic, handler

    def send(self, topic, item) -> None:
        self.sent.append(item)


def test_the_store_sends_every_event_and_merges_another_stores_batch():
    a_bus, b_bus = _Bus(), _Bus()
    a = ReplicatedWindowStore(bus=a_bus, max_events=50, keep_seconds=600)
    b = ReplicatedWindowStore(bus=b_bus, max_events=50, keep_seconds=600)
    a.arrive("ip:1", (100.0, "GET", "/", 0))
    a.complete("ip:1", (100.0, 404, 3.0, False))
    b.arrive("ip:1", (100.5, "GET", "/x", 0))
    b.bus.handler(a_bus.sent)  # b hears a's batch
    snap = b.arrive("ip:1", (101.0, "GET", "/y", 0))
    assert [x[2] for x in snap.arrivals] == ["/", "/x", "/y"]
    assert [o[1] for o in snap.outcomes] == [404]
    # an outcome of a client b never saw is ignored, as LocalWindowStore.complete does
    b.bus.handler([("ip:2", 1, 100.0, 200, 1.0, False)])
    assert "ip:2" not in b._windows


def test_a_batch_larger_than_one_slice_is_merged_whole():
    from smartlayer.state.windows.replicated import MERGE_SLICE

    store = ReplicatedWindowStore(bus=_Bus(), max_events=1000, keep_seconds=600)
    n = MERGE_SLICE * 2 + 7
    store.bus.handler([("ip:9", 0, 100.0 + i / 100, "GET", "/", 0) for i in range(n)])
    assert len(store._windows["ip:9"].arrivals) == n


def test_flag_marks_count_like_the_replay_and_travel_to_the_other_workers():
    """A flagged request is counted in the client's window (no cache round trip), with the same
    two half-window buckets as MemoryBans, and the other workers' windows hear of it."""
    from smartlayer.state.ban_backends import MemoryBans, _flag_buckets

    class Ctx:
        class client:
            key = "ip:7"

    a_bus, b_bus = _Bus(), _Bus()
    a = ReplicatedWindowStore(bus=a_bus, max_events=50, keep_seconds=600)
    b = ReplicatedWindowStore(bus=b_bus, max_events=50, keep_seconds=600)
    assert a.mark("ip:7", "model", 1) is None  # no window for that client: the caller counts elsewhere
    a.arrive("ip:7", (100.0, "GET", "/", 0))
    replay = MemoryBans()
    got, want = [], []
    for now in (100.0, 200.0, 310.0, 650.0, 700.0, 1300.0):
        bucket, _, _ = _flag_buckets(now, 600)
        got.append(a.mark("ip:7", "model", bucket))
        want.append(replay.note_flag(Ctx, now))
    assert got == want == [1, 2, 3, 2, 3, 1]
    assert len(a._windows["ip:7"].marks) <= 2  # older buckets are dropped
    marks = [item for item in a_bus.sent if len(item) == 3]
    assert len(marks) == 6
    b.merge_marks(marks)  # b never saw an arrival of ip:7: the window is made for the mark
    assert b.mark("ip:7", "model", _flag_buckets(1300.0, 600)[0]) == 2
    assert b.mark("ip:7", "grey", 5) == 1  # kinds are counted apart
    with pytest.raises(ValueError):
        b.merge_marks([("ip:7", "model", "5")])
