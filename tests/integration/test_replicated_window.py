"""Replicated windows and the ban mirror over a real Redis (the default on RedisCache).

Each "worker" here is a :class:`~smartlayer.state.bus.Bus` of its own (its own
sender id, its own pub/sub connection and thread) with its own window store —
what separate processes have, minus the fork.  The 4-process version of the
same guarantees is in ``test_multiprocess.py``.
"""
from __future__ import annotations

import random
import time

import pytest

from smartlayer import state
from smartlayer.request.client import Client
from smartlayer.state import ban_mirror, bans
from smartlayer.state.bus import Bus
from smartlayer.state.windows.replicated import ReplicatedWindowStore
from smartlayer.state.windows.window import ClientWindow

pytestmark = pytest.mark.integration


def wait_until(predicate, timeout: float = 5.0, what: str = "condition") -> float:
    t0 = time.monotonic()
    while not predicate():
        assert time.monotonic() - t0 < timeout, f"{what} not reached within {timeout} s"
        time.sleep(0.01)
    return time.monotonic() - t0


@pytest.fixture
def workers(redis_alias):
    """``make(n)``: n window stores, each on a bus of its own, subscribed and ready."""
    made: list[ReplicatedWindowStore] = []

    def make(n: int, **kwargs) -> list[ReplicatedWindowStore]:
        stores = [ReplicatedWindowStore(bus=Bus(alias=redis_alias, interval=0.02), **kwargs) for _ in range(n)]
        made.extend(stores)
        for s in stores:
            assert s.bus.connected.wait(5), "bus did not subscribe"
        return stores

    yield make
    for s in made:
        s.bus.stop()


def test_every_worker_ends_with_the_window_of_all_their_requests(workers):
    """200 requests of 5 clients spread at random over 3 workers, in real
    time: once the last batch is delivered every worker's window of every
    client equals one ClientWindow fed with that client's requests in time order."""
    rng = random.Random(7)
    stores = workers(3, max_events=50, keep_seconds=600)
    sent: dict[str, list[tuple]] = {}
    for i in range(200):
        key = f"ip:203.0.113.{rng.randrange(5)}"
        arrival = (time.time(), "GET", f"/p/{rng.randrange(9)}", rng.choice([0, 8]))
        sent.setdefault(key, []).append(arrival)
        rng.choice(stores).arrive(key, arrival)
        if i % 40 == 0:
            time.sleep(0.03)  # let some batches go out mid-stream

    def converged() -> bool:
        return all(sum(s._windows[k].minutes.values()) == len(v) if k in s._windows else False
                   for s in stores for k, v in sent.items())

    took = wait_until(converged, what="convergence")
    for key, arrivals in sent.items():
        expected = ClientWindow(50)
        for a in arrivals:
            expected.arrive(a, 600)
        for s in stores:
            win = s._windows[key]
            assert list(win.arrivals) == list(expected.arrivals)
            assert win.minutes == expected.minutes and win.first_seen == expected.first_seen
    print(f"3 workers converged {took * 1000:.0f} ms after the last request")


def test_a_flood_spread_over_workers_is_counted_whole_within_the_interval(workers):
    a, b = workers(2)
    key = "ip:203.0.113.20"
    for i in range(30):
        (a if i % 2 else b).arrive(key, (time.time(), "GET", "/", 0))
    wait_until(lambda: key in a._windows and len(a._windows[key].arrivals) == 30, what="a hears b", timeout=2)
    snap = a.arrive(key, (time.time(), "GET", "/", 0))
    assert len(snap.arrivals_since(10)) == 31  # every request of the client, not a's half


def test_flags_counted_on_several_workers_add_up_in_every_window(workers):
    """The sustained-anomaly counts live in the replicated windows: a client flagged on two
    workers is counted whole on each, once the marks are delivered — no Redis counter."""
    a, b = workers(2)
    key = "ip:203.0.113.36"
    for store in (a, b):
        store.arrive(key, (time.time(), "GET", "/", 0))
    for i in range(6):
        (a if i % 2 else b).mark(key, "model", 42)
    wait_until(lambda: all((s._windows[key].marks or {}).get(("model", 42)) == 6 for s in (a, b)),
               what="both workers count all six flags")
    assert a.mark(key, "model", 43) == 7  # the next bucket plus this one


def test_workers_of_different_groups_do_not_share_windows_but_share_bans(redis_alias):
    """REPLICATION_GROUP: per-host window replication, cluster-wide bans."""
    buses = [Bus(alias=redis_alias, interval=0.02) for _ in range(3)]
    a, a2, b = (ReplicatedWindowStore(bus=bus, group=g) for bus, g in zip(buses, ["host-a", "host-a", "host-b"],
                                                                          strict=True))
    mirror = ban_mirror.BanMirror(redis_alias)
    try:
        buses[2].subscribe(ban_mirror.TOPIC, mirror.apply, on_connect=mirror.reload)
        for store in (a, a2, b):
            assert store.bus.connected.wait(5)
        a.arrive("ip:203.0.113.35", (time.time(), "GET", "/", 0))
        wait_until(lambda: "ip:203.0.113.35" in a2._windows, what="same group hears it")
        time.sleep(0.1)  # several intervals: the other group had every chance to hear it
        assert "ip:203.0.113.35" not in b._windows
        buses[0].publish_now(ban_mirror.TOPIC, [(bans.ban_key("ip:203.0.113.35"), {"reason": "x", "expires": None})])
        wait_until(lambda: mirror.lookup([bans.ban_key("ip:203.0.113.35")]) is not None, what="ban across groups")
    finally:
        for bus in buses:
            bus.stop()


def test_own_messages_are_not_applied_twice(workers):
    (a,) = workers(1)
    a.arrive("ip:203.0.113.30", (time.time(), "GET", "/", 0))
    time.sleep(0.2)  # several flushes: a hears its own batch on the channel, and skips it
    assert len(a._windows["ip:203.0.113.30"].arrivals) == 1


def test_bad_messages_are_counted_and_the_subscription_survives(workers, redis_alias):
    (a,) = workers(1)
    import marshal

    from smartlayer.state.bus import PROTOCOL
    from smartlayer.state.redis import redis_client

    publish = redis_client(redis_alias).publish
    publish(a.bus.channel("w"), b"\x00not marshal")
    publish(a.bus.channel("w"), marshal.dumps((PROTOCOL, b"someone", [("ip:1", 0, "not a time")])))
    publish(a.bus.channel("w"), marshal.dumps((PROTOCOL + 1, b"someone", [("ip:1", 0, 1.0, "GET", "/", 0)])))
    wait_until(lambda: state.metrics["bus.malformed"] == 2 and state.metrics["bus.other_version"] == 1,
               what="bad messages counted")
    # the subscription survived them: a real event from another worker still arrives
    publish(a.bus.channel("w"), marshal.dumps((PROTOCOL, b"someone", [("ip:203.0.113.31", 0, 1.0, "GET", "/", 0)])))
    wait_until(lambda: "ip:203.0.113.31" in a._windows, what="a good message after bad ones")


# ── the ban mirror ─────────────────────────────────────────────────────────
@pytest.fixture
def other_mirror(redis_alias):
    """Another worker's ban mirror: its own bus, loaded on subscription."""
    bus = Bus(alias=redis_alias, interval=0.02)
    mirror = ban_mirror.BanMirror(redis_alias)
    bus.subscribe(ban_mirror.TOPIC, mirror.apply, on_connect=mirror.reload)
    assert bus.connected.wait(5)
    yield mirror
    bus.stop()


def client(ip: str) -> Client:
    return Client(key=f"ip:{ip}", ip=ip, user_id=None, authenticated=False)


@pytest.mark.django_db(transaction=True)
def test_a_ban_reaches_another_worker_in_milliseconds_and_so_does_its_lift(redis_alias, other_mirror):
    c = client("203.0.113.40")
    assert other_mirror.lookup(bans.lookup_keys(c)) is None
    t0 = time.monotonic()
    bans.ban(c.key, reason="integration", source="admin")
    wait_until(lambda: other_mirror.lookup(bans.lookup_keys(c)) is not None, timeout=1.0, what="ban")
    took = time.monotonic() - t0
    assert other_mirror.lookup(bans.lookup_keys(c))["source"] == "admin"
    assert bans.lookup(c) is not None  # this worker's own mirror (or the cache before it is ready)
    bans.lift(c.key, by="ops")
    wait_until(lambda: other_mirror.lookup(bans.lookup_keys(c)) is None, timeout=1.0, what="lift")
    print(f"ban seen by the other worker {took * 1000:.1f} ms after ban() was called")


@pytest.mark.django_db(transaction=True)
def test_bans_added_and_deleted_in_the_admin_reach_another_worker(redis_alias, other_mirror):
    """The admin saves and deletes Ban rows; model signals announce both."""
    from smartlayer.models import Ban

    c = client("203.0.113.45")
    row = Ban.objects.create(client_key=c.key, reason="by hand", source="admin")
    wait_until(lambda: other_mirror.lookup(bans.lookup_keys(c)) is not None, timeout=1.0, what="admin ban")
    row.delete()
    wait_until(lambda: other_mirror.lookup(bans.lookup_keys(c)) is None, timeout=1.0, what="admin delete")


@pytest.mark.django_db(transaction=True)
def test_a_worker_that_subscribes_later_loads_the_bans_that_exist(redis_alias):
    assert ban_mirror.ban_mirror() is not None  # replicated on RedisCache: this process announces
    bans.ban("ip:203.0.113.41", reason="before", source="admin")
    bans.ban("ip:203.0.113.42", reason="short", source="admin", ttl=1)
    time.sleep(1.1)  # the second expires
    bus = Bus(alias=redis_alias, interval=0.02)
    late = ban_mirror.BanMirror(redis_alias)
    try:
        bus.subscribe(ban_mirror.TOPIC, late.apply, on_connect=late.reload)
        assert bus.connected.wait(5) and late.ready
        assert late.lookup(bans.lookup_keys(client("203.0.113.41")))["reason"] == "before"
        assert late.lookup(bans.lookup_keys(client("203.0.113.42"))) is None
        assert len(late) == 1  # the expired one was pruned from the index too
    finally:
        bus.stop()


@pytest.mark.django_db(transaction=True)
def test_the_request_path_reads_bans_from_the_mirror_without_touching_redis(redis_alias, sl):
    """Once ready, a ban lookup is a dict read: it answers even with the cache gone."""
    from django.test import Client as HttpClient

    from smartlayer.state.bans import ban_mirror
    from tests.conftest import BROWSER_UA

    mirror = ban_mirror()
    assert mirror is not None
    bans.ban("ip:203.0.113.43", reason="integration", source="admin")
    wait_until(lambda: mirror.ready, what="mirror ready")
    calls = []
    from django.core.cache import caches

    real = caches["redis"].get_many
    caches["redis"].get_many = lambda *a, **k: calls.append(a) or real(*a, **k)
    try:
        r = HttpClient(HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR="203.0.113.43").get("/page/1")
        assert r.status_code == 403
        assert HttpClient(HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR="203.0.113.44").get("/page/1").status_code == 200
    finally:
        del caches["redis"].get_many
    assert calls == []
