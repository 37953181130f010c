"""The middlewares under ASGI: same decisions as under WSGI, and the event loop never waits on them.

Unit level: Django's ``AsyncClient`` drives the ASGI handler, so the
middlewares are built in async mode and run ``__acall__`` — blocks, bans,
429s, monitor mode, fail-open/closed and logging must come out exactly as
under WSGI (tests/test_middleware.py).  Then what ASGI adds: the cores
(cache, database) run in worker threads, checked twice — by where the core
runs (not the loop's thread, no running loop there) and by what that buys (a
core stuck for half a second does not hold up a concurrent request).

Server level: a real uvicorn process serving ``tests.deploy.asgi`` blocks a
flood and logs every request, down to the last one, through a graceful stop.
"""
from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient

from smartlayer.http.middleware import _SmartLayerMiddleware
from smartlayer.models import RequestLog
from tests.conftest import BROWSER_UA

pytestmark = pytest.mark.django_db(transaction=True)  # the cores use other threads' connections


class IPAsyncClient(AsyncClient):
    """AsyncClient from a given client address (ASGI's ``scope["client"]``, which
    becomes REMOTE_ADDR) with default request headers.

    (Headers given to AsyncClient's constructor arrive as ``http-user-agent``
    in Django 5.2's ASGI scope, so they are merged per request here instead.)
    """

    def __init__(self, ip: str, headers: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ip = ip
        self.base_headers = dict(headers or {})

    def _base_scope(self, **request: Any) -> dict[str, Any]:
        scope = super()._base_scope(**request)
        scope["client"] = [self.ip, 40000]
        return scope

    def generic(self, method: str, path: str, *args: Any, headers: dict[str, str] | None = None, **kwargs: Any):
        return super().generic(method, path, *args, headers={**self.base_headers, **(headers or {})}, **kwargs)


def aclient(ip: str = "203.0.113.20", ua: str | None = BROWSER_UA, **kwargs: Any) -> AsyncClient:
    return IPAsyncClient(ip, headers={"user-agent": ua} if ua is not None else {}, **kwargs)


def get(path: str, ip: str = "203.0.113.20", ua: str | None = BROWSER_UA, **extra: Any):
    """One GET through the ASGI handler (an event loop in another thread, as a server runs it)."""
    return async_to_sync(aclient(ip, ua).get)(path, **extra)


@pytest.fixture
def async_calls(monkeypatch) -> list[str]:
    """Records that the middlewares really took their async path."""
    calls: list[str] = []
    original = _SmartLayerMiddleware.__acall__

    async def spy(self, request):
        calls.append(type(self).__name__)
        return await original(self, request)

    monkeypatch.setattr(_SmartLayerMiddleware, "__acall__", spy)
    return calls


# ── the same decisions as under WSGI ───────────────────────────────────────
def test_benign_request_is_served_and_logged(async_calls, flush_logs):
    r = get("/page/1")
    assert r.status_code == 200
    # one pass: the outermost of the four adjacent middlewares runs all of them (issue 17)
    assert async_calls == ["AIAnomalyDetector"]
    flush_logs()
    row = RequestLog.objects.get()
    assert (row.path, row.status_code, row.was_blocked, row.client_key) == ("/page/1", 200, False, "ip:203.0.113.20")
    assert row.response_time_ms > 0


def test_empty_user_agent_is_blocked_and_logged(flush_logs):
    r = get("/page/1", ua=None, headers={"accept": "application/json"})
    assert r.status_code == 403 and r.json() == {"error": "forbidden", "reason": "suspicious activity"}
    flush_logs()
    row = RequestLog.objects.get()
    assert row.was_blocked and row.blocked_by == "anomaly" and row.reason == "black:empty_user_agent"


def test_flood_is_blocked_at_the_50th_request(sl):
    sl(GREY_SUSTAINED_COUNT=0)  # the BLACK boundary alone (hammering one path is blocked sooner: test_decisions)
    async def flood() -> list[int]:
        c = aclient("203.0.113.21")
        return [(await c.get("/page/1")).status_code for _ in range(50)]

    codes = async_to_sync(flood)()
    assert codes[:49] == [200] * 49 and codes[49] == 403


def test_ban_is_enforced(flush_logs):
    from smartlayer.state import bans

    bans.ban("ip:203.0.113.22", reason="async test", source="admin")
    assert get("/page/1", ip="203.0.113.22").status_code == 403
    assert get("/page/1", ip="203.0.113.23").status_code == 200


def test_rate_limit_answers_429_with_headers(sl, flush_logs):
    sl(RATE_LIMIT_PLANS={"anon": {"/api/x": {"per_minute": 2}}}, ANONYMOUS_PLAN="anon", RATELIMIT_HEADERS=True)

    async def three() -> list:
        c = aclient("203.0.113.24")
        return [await c.get("/api/x") for _ in range(3)]

    left = 60.0 - time.time() % 60.0
    if left < 3:  # fixed minute windows: do not straddle a boundary
        time.sleep(left + 0.1)
    r1, r2, r3 = async_to_sync(three)()
    assert (r1.status_code, r2.status_code, r3.status_code) == (200, 200, 429)
    assert r1["RateLimit-Policy"] == '"per_minute";q=2;w=60'  # added by after() on the async path
    assert int(r3["Retry-After"]) >= 1
    flush_logs()
    row = RequestLog.objects.get(status_code=429)
    assert row.blocked_by == "ratelimit" and row.action == "throttle"


def test_monitor_mode_never_blocks_but_records(sl, flush_logs):
    sl(MONITOR_MODE=True)
    assert get("/page/1", ua=None).status_code == 200
    flush_logs()
    row = RequestLog.objects.get()
    assert not row.was_blocked and row.monitor_only and row.reason == "black:empty_user_agent"


def test_kill_switch(sl, flush_logs):
    sl(ENABLED=False)
    assert get("/page/1", ua=None).status_code == 200
    flush_logs()
    assert not RequestLog.objects.exists()


def test_cache_failure_fails_open_and_closed(monkeypatch, sl):
    from smartlayer import state
    from smartlayer.state.windows.window import LocalWindowStore

    def broken(*a, **k):
        raise ConnectionError("cache down")

    monkeypatch.setattr(LocalWindowStore, "arrive", broken)
    assert get("/page/1").status_code == 200
    assert state.metrics["failure.anomaly"] == 1
    sl(CACHE_FAIL_OPEN=False)
    assert get("/page/1").status_code == 503


def test_view_exception_is_a_500_and_logged(flush_logs):
    r = async_to_sync(aclient("203.0.113.25", raise_request_exception=False).get)("/boom/")
    assert r.status_code == 500
    flush_logs()
    assert RequestLog.objects.get(path="/boom/").status_code == 500


# ── the event loop never waits on a core ───────────────────────────────────
def test_cores_run_off_the_event_loop(monkeypatch):
    from smartlayer.detectors.behaviour.detector import Detector

    seen: list[tuple[int, bool]] = []
    original = Detector.inspect

    def spy(self, *args, **kwargs):
        try:
            asyncio.get_running_loop()
            on_loop = True
        except RuntimeError:
            on_loop = False
        seen.append((threading.get_ident(), on_loop))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Detector, "inspect", spy)

    async def run() -> int:
        await aclient().get("/page/1")
        return threading.get_ident()

    loop_thread = async_to_sync(run)()
    assert len(seen) == 1
    core_thread, on_loop = seen[0]
    assert core_thread != loop_thread and not on_loop


def test_one_thread_hop_per_request_and_the_bookkeeping_on_the_loop(monkeypatch, hops):
    """The decisions run in a worker thread (they may wait on the cache or the
    database) — all four adjacent middlewares' in one hop; recording the
    outcome and queueing the log row are memory operations and run on the
    loop — one hop a request, not four (nor eight)."""
    from smartlayer import MIDDLEWARE
    from smartlayer.http import middleware as mw

    finished_on_loop: list[bool] = []
    original_finish = mw.finish

    def finish(ctx, response, *rest):
        try:
            asyncio.get_running_loop()
            finished_on_loop.append(True)
        except RuntimeError:
            finished_on_loop.append(False)
        return original_finish(ctx, response, *rest)

    monkeypatch.setattr(mw, "finish", finish)
    assert get("/page/1").status_code == 200
    assert len(MIDDLEWARE) == 4 and len(hops) == 1 and finished_on_loop == [True]


def _run_and_cancel(ip: str, after: float, path: str = "/page/1") -> None:
    """Start a request through the ASGI handler and cancel it ``after`` seconds
    later, as Django does when the client disconnects; then give the
    decision's thread time to end."""
    async def scenario() -> None:
        task = asyncio.ensure_future(aclient(ip).get(path))
        await asyncio.sleep(after)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.6)  # the shielded decision finishes and logs

    async_to_sync(scenario)()


def test_a_request_cancelled_during_the_view_is_logged_as_499(flush_logs):
    _run_and_cancel("203.0.113.40", after=0.1, path="/slow/?s=0.3")
    flush_logs()
    rows = list(RequestLog.objects.filter(ip_address="203.0.113.40").values_list("status_code", flat=True))
    assert rows == [499]


def test_a_request_cancelled_while_its_decision_runs_is_logged_as_499(monkeypatch, flush_logs):
    """Cancelled while the core is still in its worker thread (a slow cache):
    the decision runs to its end and the request is logged then."""
    from smartlayer.state.ban_backends import CacheBans

    original = CacheBans.lookup

    def lookup(self, ctx, now):
        time.sleep(0.3)
        return original(self, ctx, now)

    monkeypatch.setattr(CacheBans, "lookup", lookup)
    _run_and_cancel("203.0.113.41", after=0.1)
    flush_logs()
    rows = list(RequestLog.objects.filter(ip_address="203.0.113.41").values_list("status_code", flat=True))
    assert rows == [499]


def test_a_core_releases_the_database_connection_of_its_thread(monkeypatch):
    """Django closes connections at request end only in the thread handling
    ``request_finished``; one a core opened in its executor thread must be
    released by the middleware, or it lives (and, once broken, fails) forever."""
    from django.db import connections

    from smartlayer.detectors.behaviour.detector import Detector

    wrapper = connections["default"]
    if wrapper.vendor == "sqlite" and wrapper.is_in_memory_db():
        pytest.skip("an in-memory SQLite test database ignores close(); needs a file or PostgreSQL")
    opened: list[Any] = []
    original = Detector.inspect

    def spy(self, *args, **kwargs):
        RequestLog.objects.exists()  # a query, as the periodic ban sync makes
        opened.append(connections["default"])  # this thread's connection
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Detector, "inspect", spy)
    assert get("/page/1").status_code == 200
    assert len(opened) == 1 and opened[0].connection is None


def test_a_slow_core_does_not_hold_up_a_concurrent_request(monkeypatch):
    """A ban lookup stuck (a slow cache) for one client until another client's
    request, started while it hangs, has been answered: on a loop that waited
    for the stuck core, the other request could only be answered after it."""
    from smartlayer.state.ban_backends import CacheBans

    original = CacheBans.lookup
    stuck, released = threading.Event(), threading.Event()
    order: list[str] = []

    def lookup(self, ctx, now):
        if ctx.client.ip == "203.0.113.30":
            stuck.set()
            released.wait(5)           # bounds the wait if the loop is held; the order says what happened
            order.append("slow core done")
        return original(self, ctx, now)

    monkeypatch.setattr(CacheBans, "lookup", lookup)

    async def both() -> list[int]:
        async def slow_client() -> int:
            r = await aclient("203.0.113.30").get("/page/1")
            order.append("slow answered")
            return r.status_code

        async def fast_client() -> int:
            await asyncio.get_running_loop().run_in_executor(None, stuck.wait, 5)
            r = await aclient("203.0.113.31").get("/page/1")
            order.append("fast answered")
            released.set()
            return r.status_code

        return await asyncio.gather(slow_client(), fast_client())

    assert async_to_sync(both)() == [200, 200]
    assert order == ["fast answered", "slow core done", "slow answered"]


# ── a real ASGI server ─────────────────────────────────────────────────────
def test_uvicorn_blocks_a_flood_and_logs_every_request(tmp_path):
    import httpx

    from tests.deploy.counter import read_counts
    from tests.deploy.servers import ServerProcess, deploy_env, free_port, migrate, uvicorn_cmd

    db = tmp_path / "asgi.sqlite3"
    counts = tmp_path / "counts"
    counts.mkdir()
    env = deploy_env(SMARTLAYER_DEPLOY_DATABASE_URL=f"sqlite:///{db}", SMARTLAYER_DEPLOY_COUNT_DIR=str(counts),
                     SMARTLAYER_DEPLOY_SMART=json.dumps({"TRUSTED_PROXY_COUNT": 1, "BAN_AFTER_BLOCKS": 0,
                                                                 "GREY_SUSTAINED_COUNT": 0}))
    migrate(env)
    port = free_port()
    with ServerProcess(uvicorn_cmd(port), env, port, tmp_path / "uvicorn.log").start() as server:
        with httpx.Client(base_url=server.base_url, timeout=10,
                          headers={"User-Agent": BROWSER_UA, "X-Forwarded-For": "198.51.100.120"}) as c:
            codes = [c.get("/page/1").status_code for _ in range(60)]
        assert codes[:49] == [200] * 49 and codes[49:] == [403] * 11, server.output()

        def other(i: int) -> int:
            return httpx.get(f"{server.base_url}/page/{i % 3}", timeout=10,
                             headers={"User-Agent": BROWSER_UA, "X-Forwarded-For": f"198.51.100.{130 + i}"}).status_code

        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(other, range(40))) == {200}
            # SIGTERM: graceful; the log is flushed at lifespan.shutdown (see tests/deploy/asgi.py).
        # uvicorn re-raises the signal once done, so "killed by SIGTERM" is its clean exit.
        assert server.stop(timeout=30) in (0, -15), server.output()

    served = sum(read_counts(str(counts)).values())
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT COUNT(*), SUM(was_blocked) FROM smartlayer_requestlog "
                            "WHERE ip_address = '198.51.100.120'").fetchone()
        total = conn.execute("SELECT COUNT(*) FROM smartlayer_requestlog").fetchone()[0]
    assert tuple(rows) == (60, 11)
    assert total == served  # readiness probes included: every response has its row
