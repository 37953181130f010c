"""Shared state on a real Redis through Django's RedisCache.

* :class:`~smartlayer.state.windows.redis.RedisWindowStore` returns, at every step of
  random sequences, exactly the snapshot :class:`~smartlayer.state.windows.window.ClientWindow`
  returns — the Redis store changes where a window lives, not what it is;
* windows, rate-limit counters, bans and the active-model pointer written
  through one client are seen through another (a second cache backend
  instance with its own connection pool, i.e. what another worker has), and
  counters stay exact when many threads hit them at once.
"""
from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connections
from django.test import Client as HttpClient

from smartlayer.detectors import ratelimit
from smartlayer.request.client import Client
from smartlayer.state import bans
from smartlayer.state.redis import redis_client
from smartlayer.state.windows import get_window_store
from smartlayer.state.windows.redis import RedisWindowStore, decode_arrival, encode_arrival
from smartlayer.state.windows.window import DAY, HOUR, ClientWindow, LocalWindowStore
from tests.conftest import BROWSER_UA

pytestmark = pytest.mark.integration


def in_thread(fn: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Run ``fn`` in a new thread — which gets its own Django cache backend
    instance and so its own Redis connection pool, like another worker."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            result["error"] = exc
        finally:
            connections.close_all()  # this thread's database connection would outlive the test database

    t = threading.Thread(target=run)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), "thread did not finish in time"
    if "error" in result:
        raise result["error"]
    return result.get("value")


def run_threads(n: int, fn: Callable[[int], Any], timeout: float = 60.0) -> list[Any]:
    """Run ``fn(i)`` in ``n`` threads released at the same moment; their results in order."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(10)
            results[i] = fn(i)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "threads did not finish in time"
    if errors:
        raise errors[0]
    return results


# ── RedisWindowStore == ClientWindow ───────────────────────────────────────
# time steps between events, weighted: bursts, the 10 s / 60 s windows, minute
# and hour bucket edges, a day of silence (exactly and just over), and clocks
# of different workers slightly out of order (negative steps)
STEPS = [(0.0, 4), (0.001, 4), (0.37, 6), (2.9, 6), (9.99, 3), (10.01, 3), (59.5, 4), (61.0, 4), (600.0, 2),
         (3599.0, 2), (3601.0, 2), (DAY, 1), (DAY + 0.25, 1), (2 * DAY, 1), (-1.5, 1), (-0.001, 1)]
# paths and methods with the encoding's separator, spaces, newlines, non-ASCII
# and lone surrogates — none may change what is stored
PATHS = ["/", "/page/1", "/a b", "/a  b ", "/x\x1fy", "/ünï/çödé", "/\udcff\udcfe", "/1 2 3", "/%20", "/a\nb",
         "", " ", "/users/12345", "/" + "z" * 500]
METHODS = ["GET", "POST", "HEAD", "", "M E", "X\x1f", "délète"]


def random_events(seed: int, n: int) -> list[tuple[str, tuple]]:
    rng = random.Random(seed)
    steps, weights = zip(*STEPS, strict=True)
    t = 1_700_000_000 + rng.random() * 1000
    events: list[tuple[str, tuple]] = []
    for _ in range(n):
        t += rng.choices(steps, weights)[0] + rng.random() * 0.01
        if events and rng.random() < 0.3:
            # the outcome of a recent request (its arrival time), sometimes late
            ts = rng.choice([e[1][0] for e in events[-5:]])
            events.append(("complete", (ts, rng.choice([200, 201, 301, 403, 404, 429, 500]),
                                        rng.random() * 800, rng.random() < 0.2)))
        else:
            events.append(("arrive", (t, rng.choice(METHODS), rng.choice(PATHS), rng.randrange(16))))
    return events


def assert_same_as_client_window(store: RedisWindowStore, events: list[tuple[str, tuple]], key: str) -> int:
    reference = ClientWindow(store.max_events)
    checked = 0
    for i, (kind, item) in enumerate(events):
        if kind == "arrive":
            expected = reference.arrive(item, store.keep_seconds)
            got = store.arrive(key, item)
            assert got == expected, f"step {i}: {item!r}"
            checked += 1
        else:
            reference.complete(item)
            store.complete(key, item)
    return checked


@pytest.mark.parametrize("seed,max_events,keep_seconds", [
    (1, 8, 30.0), (2, 200, 600.0), (3, 3, 5.0), (4, 50, 86400.0 * 2),
])
def test_snapshots_equal_client_window_on_random_sequences(redis_alias, seed, max_events, keep_seconds):
    store = RedisWindowStore(max_events=max_events, keep_seconds=keep_seconds)
    checked = assert_same_as_client_window(store, random_events(seed, 600), f"ip:198.51.100.{seed}")
    assert checked > 350


def test_minute_and_hour_buckets_are_pruned_like_client_window(redis_alias):
    store = RedisWindowStore()
    t = 1_700_000_000.123
    events = [("arrive", (t + i * 61.0, "GET", f"/p/{i}", 0)) for i in range(130)]       # > 61 minute buckets
    t2 = t + 130 * 61.0
    events += [("arrive", (t2 + i * 3601.0, "GET", "/h", 0)) for i in range(40)]        # > 25 hour buckets
    assert_same_as_client_window(store, events, "ip:198.51.100.200")
    snap = store.arrive("ip:198.51.100.200", (t2 + 40 * 3601.0, "GET", "/h", 0))
    assert len(snap.hours) <= 26 and len(snap.minutes) <= 62  # bounded, as in memory


def test_exact_boundaries_are_the_same(redis_alias):
    """Timestamps on the boundaries themselves: an event exactly ``keep_seconds``
    old stays, a silence of exactly one day does not reset, one just over does."""
    store = RedisWindowStore(max_events=5, keep_seconds=30.0)
    t = 1_700_000_000.0  # exactly representable, so the sums below are exact too
    times = [t, t + 30.0, t + 60.0, t + 60.0, t + 60.0 + DAY, t + 60.5 + 2 * DAY, t + 60.5 + 2 * DAY + 30.0]
    events = []
    for ts in times:
        events += [("arrive", (ts, "GET", "/", 0)), ("complete", (ts, 200, 1.0, False))]
    assert_same_as_client_window(store, events, "ip:198.51.100.201")


def test_arrival_encoding_round_trips_any_path():
    for method in METHODS:
        for path in PATHS:
            arrival = (1_700_000_000.1 + len(path), method, path, 13)
            assert decode_arrival(encode_arrival(arrival)) == arrival


def test_windows_are_shared_across_store_instances(redis_alias):
    a = RedisWindowStore()
    b = in_thread(RedisWindowStore)
    in_thread(lambda: b.arrive("warm-up", (1.0, "GET", "/", 0)))  # b connects from another thread
    assert a._redis()[0].connection_pool is not b._redis()[0].connection_pool
    reference = ClientWindow(a.max_events)
    t = time.time()
    for i in range(30):
        store = a if i % 2 else b
        arrival = (t + i * 0.1, "GET", f"/page/{i}", 0)
        expected = reference.arrive(arrival, a.keep_seconds)
        assert store.arrive("u:42", arrival) == expected
        reference.complete((arrival[0], 200, 1.0, False))
        (b if i % 2 else a).complete("u:42", (arrival[0], 200, 1.0, False))
    snap = b.arrive("u:42", (t + 5, "GET", "/last", 0))
    assert len(snap.arrivals) == 31 and len(snap.outcomes) == 30


def test_keys_live_a_day_and_a_silent_client_starts_fresh(redis_alias):
    client = redis_client("redis")
    store = RedisWindowStore()
    store.arrive("ip:198.51.100.30", (time.time(), "GET", "/", 0))
    keys = store.keys("ip:198.51.100.30")
    assert all(k.startswith(f"{django_settings.TEST_KEY_PREFIX}:1:sl:w:") for k in keys)
    ttls = [client.ttl(k) for k in keys if client.exists(k)]
    assert len(ttls) == 4  # no outcome yet: no outcome list
    assert all(DAY <= ttl <= DAY + HOUR for ttl in ttls)

    short = RedisWindowStore(ttl=1)
    t = time.time()
    short.arrive("ip:198.51.100.31", (t, "GET", "/one", 0))
    short.complete("ip:198.51.100.31", (t, 200, 1.0, False))
    deadline = time.monotonic() + 5
    while any(client.exists(k) for k in short.keys("ip:198.51.100.31")):
        assert time.monotonic() < deadline, "window keys did not expire"
        time.sleep(0.1)
    snap = short.arrive("ip:198.51.100.31", (t + 2, "GET", "/two", 0))
    assert [a[2] for a in snap.arrivals] == ["/two"] and snap.outcomes == () and snap.first_seen == t + 2


def test_outcome_of_an_unknown_window_writes_nothing(redis_alias):
    store = RedisWindowStore()
    store.complete("ip:198.51.100.32", (time.time(), 200, 1.0, False))
    assert not any(redis_client("redis").exists(k) for k in store.keys("ip:198.51.100.32"))


def test_clear_removes_window_keys_only(redis_alias):
    from django.core.cache import caches

    store = RedisWindowStore()
    store.arrive("ip:198.51.100.33", (time.time(), "GET", "/", 0))
    caches["redis"].set("not-a-window", 1)
    store.clear()
    assert not any(redis_client("redis").exists(k) for k in store.keys("ip:198.51.100.33"))
    assert caches["redis"].get("not-a-window") == 1


def test_auto_backend_uses_replicated_windows_on_redis_cache_and_each_can_be_chosen(redis_alias, sl):
    from smartlayer.state.windows.replicated import ReplicatedWindowStore

    assert isinstance(get_window_store(), ReplicatedWindowStore)
    sl(WINDOW_BACKEND="redis")
    assert isinstance(get_window_store(), RedisWindowStore)
    sl(WINDOW_BACKEND="local")
    assert type(get_window_store()) is LocalWindowStore


# ── exact under concurrency ────────────────────────────────────────────────
@pytest.mark.django_db(transaction=True)
def test_flood_is_blocked_at_the_50th_request_across_threads(redis_alias, sl):
    """8 threads × 10 requests from one IP, no ban: the shared window counts
    every arrival once, so exactly 49 are served and the rest refused."""
    sl(BAN_AFTER_BLOCKS=0, GREY_SUSTAINED_COUNT=0)  # the BLACK boundary alone (hammering one path is blocked sooner: test_decisions)

    def burst(i: int) -> list[int]:
        c = HttpClient(HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR="198.51.100.40")
        return [c.get("/page/1").status_code for _ in range(10)]  # one path: no ID-probing score

    codes = [code for codes in run_threads(8, burst) for code in codes]
    assert codes.count(200) == 49 and codes.count(403) == 31


def test_rate_limit_counters_are_exact_across_threads(redis_alias, sl):
    sl(RATE_LIMIT_PLANS={"anon": {"/api/x": {"per_minute": 50}}}, ANONYMOUS_PLAN="anon")
    client = Client(key="ip:198.51.100.41", ip="198.51.100.41", user_id=None, authenticated=False)
    now = time.time()  # one fixed clock: every call counts in the same minute bucket

    def calls(i: int) -> list[bool]:
        return [ratelimit.check(client, None, "/api/x", now) is None for _ in range(25)]

    allowed = [ok for oks in run_threads(16, calls) for ok in oks]
    assert allowed.count(True) == 50 and allowed.count(False) == 350
    # refused requests gave their increment back: the counter holds the quota used
    route = ratelimit.compiled_plans()["anon"][0]
    key = ratelimit._bucket_key("per_minute", "anon", route, client, int(now // 60))
    from django.core.cache import caches

    assert caches["redis"].get(key) == 50


# ── bans and the model pointer seen by another client ─────────────────────
@pytest.mark.django_db(transaction=True)
def test_ban_is_seen_by_another_client_and_lifted_everywhere(redis_alias):
    client = Client(key="ip:198.51.100.50", ip="198.51.100.50", user_id=None, authenticated=False)

    def status() -> int:
        return HttpClient(HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR="198.51.100.50").get("/page/1").status_code

    assert in_thread(status) == 200
    bans.ban("ip:198.51.100.50", reason="integration", source="admin")
    entry = in_thread(lambda: bans.lookup(client))
    assert entry is not None and entry["source"] == "admin"
    assert in_thread(status) == 403
    assert bans.lift("ip:198.51.100.50", by="ops") == 1
    assert in_thread(lambda: bans.lookup(client)) is None
    assert in_thread(status) == 200


@pytest.mark.django_db(transaction=True)
def test_ban_survives_a_redis_flush_through_the_periodic_sync(redis_alias):
    from django.core.cache import caches

    from smartlayer.state.ban_backends import CacheBans

    bans.ban("ip:198.51.100.51", reason="integration", source="admin")
    caches["redis"].clear()  # the test database only (db 15 in CI)
    bans.reset_sync_timer()
    client = Client(key="ip:198.51.100.51", ip="198.51.100.51", user_id=None, authenticated=False)
    ctx = type("Ctx", (), {"client": client})()
    entry = in_thread(lambda: CacheBans().lookup(ctx, time.time()))
    assert entry is not None and entry["source"] == "admin"


@pytest.mark.django_db(transaction=True)
def test_active_model_pointer_reaches_another_host_through_redis(redis_alias, sl, tmp_path, make_model_version):
    """Host A activates v2; host B — its own store copy whose ACTIVE file
    still says v1 — switches to v2 through the cache pointer alone."""
    import shutil

    from smartlayer.ml import registry, runtime
    from smartlayer.ml.store import ModelStore

    store_a = ModelStore(tmp_path / "a")
    for name in ("v1", "v2"):
        make_model_version(store_a, name)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    store_b = ModelStore(tmp_path / "b")
    store_b.set_active("v1")
    sl(MODEL_ENABLED=True, MODEL_STORE=str(tmp_path / "b"), MODEL_RELOAD_INTERVAL=0.1)
    runtime.reset_runtime()

    def active_on_b() -> str | None:
        model = runtime.get_active_model()
        return model.version if model is not None else None

    assert in_thread(active_on_b) == "v1"
    time.sleep(0.05)  # the activation must be newer than B's pointer file
    registry.activate("v2", store=store_a)
    assert store_b.active_version() == "v1"  # B's file never changed
    deadline = time.monotonic() + 3
    while in_thread(active_on_b) != "v2":
        assert time.monotonic() < deadline, "host B never picked up the activation"
        time.sleep(0.05)
    runtime.reset_runtime()


def test_incr_and_read_is_one_round_trip_and_agrees_with_the_cache_api(redis_alias):
    """The flag counter's increment and the previous bucket's read, pipelined: same values as
    Django's cache API sees, one round trip (counted on the connection) instead of three."""
    from django.core.cache import caches

    from smartlayer.state import cache as sl_cache
    from smartlayer.state.redis import raw_redis

    cache = caches[redis_alias]
    key, other = sl_cache.make_key("flag", "t", "now"), sl_cache.make_key("flag", "t", "before")
    cache.delete_many([key, other])
    assert sl_cache.incr_and_read(key, 30, other) == (1, 0)
    cache.set(other, 4, timeout=30)
    assert sl_cache.incr_and_read(key, 30, other) == (2, 4)
    client, full_key = raw_redis()
    assert cache.get(key) == 2 and 0 < client.ttl(full_key(key)) <= 30

    sent: list[int] = []
    original = client.connection_pool.get_connection

    def counting(*args, **kwargs):
        sent.append(1)
        return original(*args, **kwargs)

    client.connection_pool.get_connection = counting
    try:
        assert sl_cache.incr_and_read(key, 30, other) == (3, 4)
    finally:
        client.connection_pool.get_connection = original
    assert len(sent) == 1
