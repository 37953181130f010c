"""Faults: Redis going away and coming back, fail-closed, the database refusing log writes.

Redis is taken away without touching the machine's Redis server: smartlayer's
cache alias points at a :class:`~tests.integration.conftest.TcpProxy` in front
of it, which the test takes down (connections reset, then refused) and brings
back on the same port.  The connection pools and the Redis window store are
left exactly as they were — what is tested is that they recover by
themselves, as they must in production when Redis restarts.

The database is taken away from the log writer the same way a failed server
or network would: its connection settings point at a closed port, and the
writer thread's next connection fails for real.
"""
from __future__ import annotations

import time
from urllib.parse import urlparse

import pytest
from django.test import Client as HttpClient

from smartlayer import state
from tests.conftest import BROWSER_UA
from tests.deploy.servers import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def flaky_redis(redis_proxy, settings, sl):
    """smartlayer's cache behind the proxy; short timeouts so a fault costs milliseconds, not minutes."""
    settings.CACHES = {**settings.CACHES, "flaky": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{redis_proxy.port}/{urlparse(settings.REDIS_URL).path.lstrip('/') or 0}",
        "KEY_PREFIX": settings.TEST_KEY_PREFIX,
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }}
    sl(CACHE_ALIAS="flaky")
    return redis_proxy


def browser(ip: str) -> HttpClient:
    return HttpClient(HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR=ip)


def wait_for_minute_room(seconds: float = 3.0) -> None:
    left = 60.0 - time.time() % 60.0
    if left < seconds:
        time.sleep(left + 0.1)


@pytest.mark.django_db(transaction=True)
def test_redis_outage_serves_requests_logs_once_counts_and_recovers(flaky_redis, sl, caplog, flush_logs):
    """The exact Redis window store (one round trip per request)."""
    from smartlayer.models import RequestLog
    from smartlayer.state.windows import get_window_store
    from smartlayer.state.windows.redis import RedisWindowStore

    sl(RATE_LIMIT_PLANS={"anon": {"/api/x": {"per_minute": 3}}}, ANONYMOUS_PLAN="anon", WINDOW_BACKEND="redis",
       GREY_SUSTAINED_COUNT=0)  # the BLACK boundary alone (hammering one path is blocked sooner: test_decisions)
    assert browser("198.51.100.90").get("/page/1").status_code == 200
    assert isinstance(get_window_store(), RedisWindowStore)

    flaky_redis.down()
    with caplog.at_level("WARNING", logger="smartlayer"):
        codes = [browser("198.51.100.91").get("/page/1").status_code for _ in range(10)]
        codes += [browser("198.51.100.91").get("/api/x").status_code for _ in range(10)]
    assert codes == [200] * 20  # served, even the rate-limited route (fail open)
    # one failed attempt per request and component, no retry loop (counted, not timed)
    assert state.metrics["failure.anomaly"] == 20 and state.metrics["failure.ratelimit"] == 10
    warnings = [r.getMessage() for r in caplog.records if "failed" in r.getMessage()]
    assert len([m for m in warnings if "anomaly failed" in m]) == 1  # once per FAILURE_LOG_INTERVAL
    assert len([m for m in warnings if "ratelimit failed" in m]) == 1
    flush_logs()
    assert RequestLog.objects.filter(ip_address="198.51.100.91").count() == 20  # logged all the same

    flaky_redis.up()  # Redis is back: same pools, same store, nothing reset
    failures = state.metrics["failure.anomaly"]
    codes = [browser("198.51.100.92").get("/page/1").status_code for _ in range(50)]
    assert codes[:49] == [200] * 49 and codes[49] == 403  # flood protection is back
    wait_for_minute_room()
    codes = [browser("198.51.100.93").get("/api/x").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]  # and the quota
    assert state.metrics["failure.anomaly"] == failures


@pytest.mark.django_db(transaction=True)
def test_redis_outage_with_replicated_windows_keeps_protecting_and_replication_recovers(flaky_redis, sl, caplog):
    """The default on Redis: windows and bans in worker memory.  Redis away →
    no request touches it, so nothing fails per request; each worker goes on
    judging on what it knows (the flood rule still fires); the broken
    replication is logged once and counted; when Redis is back the bus
    subscribes again by itself and events flow to the other workers again."""
    from smartlayer.state.bus import Bus
    from smartlayer.state.windows import get_window_store
    from smartlayer.state.windows.replicated import ReplicatedWindowStore

    sl(BAN_AFTER_BLOCKS=0, GREY_SUSTAINED_COUNT=0, REPLICATION_INTERVAL=0.02)
    assert browser("198.51.100.96").get("/page/1").status_code == 200
    store = get_window_store()
    assert isinstance(store, ReplicatedWindowStore)
    assert store.bus.connected.wait(5)
    # another "worker": its own bus (its own sender id) and window store
    other = ReplicatedWindowStore(bus=Bus(alias="flaky", interval=0.02))
    try:
        assert other.bus.connected.wait(5)

        flaky_redis.down()
        with caplog.at_level("WARNING", logger="smartlayer"):
            codes = [browser("198.51.100.97").get("/page/1").status_code for _ in range(50)]
            deadline = time.monotonic() + 5
            while state.metrics["failure.replication"] < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
        assert codes[:49] == [200] * 49 and codes[49] == 403  # this worker's flood rule still fires
        assert state.metrics["failure.anomaly"] == 0  # no request waited for Redis
        assert state.metrics["failure.replication"] >= 2
        warnings = [r.getMessage() for r in caplog.records if "replication failed" in r.getMessage()]
        assert len(warnings) == 1  # once per FAILURE_LOG_INTERVAL, not per attempt

        # a ban decided during the outage is enforced by this worker at once
        from smartlayer.state import bans

        bans.ban("ip:198.51.100.95", reason="during the outage", source="admin")
        assert browser("198.51.100.95").get("/page/1").status_code == 403

        flaky_redis.up()
        assert store.bus.connected.wait(10) and other.bus.connected.wait(10)
        before = len(other._windows)
        deadline = time.monotonic() + 10
        while "ip:198.51.100.98" not in other._windows:
            assert time.monotonic() < deadline, "replication did not resume after Redis came back"
            browser("198.51.100.98").get("/page/1")
            time.sleep(0.05)
        assert len(other._windows) > before
    finally:
        other.bus.stop()


def status_within(ip: str, expected: int, seconds: float) -> float:
    """Request until the answer is ``expected``; how long it took."""
    t0 = time.monotonic()
    while True:
        r = browser(ip).get("/page/1", HTTP_ACCEPT="application/json")
        if r.status_code == expected:
            if expected == 503:
                assert r.json()["error"] == "unavailable"
            return time.monotonic() - t0
        assert time.monotonic() - t0 < seconds, f"still {r.status_code} after {seconds} s, expected {expected}"
        time.sleep(0.01)


@pytest.mark.django_db(transaction=True)
def test_redis_outage_fails_closed_with_503_when_configured(flaky_redis, sl):
    """Redis windows: the request's own round trip fails, so the very next request is a 503."""
    sl(CACHE_FAIL_OPEN=False, WINDOW_BACKEND="redis")
    assert browser("198.51.100.94").get("/page/1").status_code == 200
    flaky_redis.down()
    r = browser("198.51.100.94").get("/page/1", HTTP_ACCEPT="application/json")
    assert r.status_code == 503 and r.json()["error"] == "unavailable"
    flaky_redis.up()
    assert browser("198.51.100.94").get("/page/1").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_replicated_windows_fail_closed_once_the_bus_notices_redis_is_away(flaky_redis, sl):
    """Replicated windows: no request talks to Redis, so the 503s start when the
    bus thread notices the outage (its connection drops: milliseconds) and end
    when it has subscribed again."""
    from smartlayer.state.windows import get_window_store

    sl(CACHE_FAIL_OPEN=False)
    assert browser("198.51.100.99").get("/page/1").status_code == 200
    from smartlayer.state.bans import ban_mirror

    bus = get_window_store().bus
    assert bus.connected.wait(5)
    deadline = time.monotonic() + 5
    while not ban_mirror().ready:  # from now on no request reads Redis
        assert time.monotonic() < deadline
        time.sleep(0.01)
    flaky_redis.down()
    took = status_within("198.51.100.99", 503, seconds=3)
    assert bus.failing
    assert browser("198.51.100.99").get("/page/1").status_code == 503  # and stays so
    flaky_redis.up()
    back = status_within("198.51.100.99", 200, seconds=10)
    print(f"503 after {took * 1000:.0f} ms of outage; served again {back * 1000:.0f} ms after Redis returned")


@pytest.mark.django_db(transaction=True)
def test_unreachable_redis_from_the_start_never_5xx(settings, sl, caplog):
    """A wrong port (nothing listening) instead of an outage: same outcome, no hang."""
    settings.CACHES = {**settings.CACHES, "nowhere": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{free_port()}/15",
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    }}
    sl(CACHE_ALIAS="nowhere", RATE_LIMIT_PLANS={"anon": {"/api/x": {"per_minute": 1}}}, ANONYMOUS_PLAN="anon")
    with caplog.at_level("WARNING", logger="smartlayer"):
        codes = {browser("198.51.100.95").get(p).status_code for p in ["/page/1", "/api/x", "/api/x", "/missing/"]}
    assert codes == {200, 404}
    assert state.metrics["failure.anomaly"] == 4 and state.metrics["failure.ratelimit"] == 2


@pytest.mark.django_db(transaction=True)
def test_database_outage_keeps_log_rows_buffered_up_to_the_bound(database_url, sl):
    """The writer thread's database goes away (connections refused) while
    requests keep coming: every request is served, the writer keeps what fits
    its bound and counts what it drops, and writes the rest once the database
    is back — rows written + rows dropped == requests, exactly."""
    from django.db import connections

    from smartlayer.log.writer import get_writer
    from smartlayer.models import RequestLog

    bound = 30
    sl(LOG_WRITER="thread", LOG_QUEUE_SIZE=bound, LOG_FLUSH_INTERVAL=0.05)
    for i in range(5):
        assert browser(f"198.51.100.{10 + i}").get("/page/1").status_code == 200
    writer = get_writer()
    assert writer.flush(timeout=10) and RequestLog.objects.count() == 5

    settings_dict = connections["default"].settings_dict  # shared by every thread's connection
    port = settings_dict["PORT"]
    settings_dict["PORT"] = str(free_port())  # new connections (the writer opens one per batch) fail
    try:
        deadline = time.monotonic() + 10
        codes = []
        for i in range(100):
            codes.append(browser(f"198.51.100.{20 + i % 200}").get(f"/page/{i}").status_code)
            time.sleep(0.005)
        while writer.stats["write_errors"] == 0:
            assert time.monotonic() < deadline, "the writer never tried the broken database"
            time.sleep(0.05)
        assert codes == [200] * 100
        held = writer.backlog
        dropped = writer.stats["dropped_full"] + writer.stats["dropped_error"]
        assert 0 < held <= 2 * bound  # the failed batch (≤ bound) + the queue (≤ bound)
        assert dropped > 0 and state.metrics["failure.log-write"] >= 1
        assert state.metrics["log.dropped_full"] + state.metrics["log.dropped_error"] == dropped
    finally:
        settings_dict["PORT"] = port
    assert writer.flush(timeout=15)
    assert RequestLog.objects.count() == 5 + 100 - dropped
