"""Live servers for the integration tests: gunicorn with 4 sync workers on Redis + PostgreSQL.

:func:`start_gunicorn` (the ``gunicorn`` fixture of ``conftest.py``) starts
``gunicorn tests.deploy.wsgi`` on 127.0.0.1 and a free port, pointed at
pytest's PostgreSQL test database and at the test Redis with the suite's key
prefix, so the test process and the workers share every key and row.
Clients are told apart by ``X-Forwarded-For`` (``TRUSTED_PROXY_COUNT = 1``)
and every response names its worker (``X-Worker-Pid``).
"""
from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from django.conf import settings as django_settings

from tests.deploy.servers import BROWSER_UA, ServerProcess, deploy_env, free_port, gunicorn_cmd, postgres_url

__all__ = ["BROWSER_UA", "WORKERS", "parallel", "request", "start_gunicorn", "wait_for_minute_room"]

WORKERS = 4


_local = threading.local()


def request(server: ServerProcess, method: str, path: str, ip: str, ua: str = BROWSER_UA,
            cookies: dict[str, str] | None = None) -> httpx.Response:
    """One request as client ``ip`` (a thread-local httpx client: building one per request costs ~20 ms).

    ``cookies`` are sent as this request's ``Cookie`` header (the shared client keeps none of its own).
    """
    client = getattr(_local, "client", None)
    if client is None:
        client = _local.client = httpx.Client(timeout=10)
    headers = {"X-Forwarded-For": ip, "User-Agent": ua}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    return client.request(method, server.base_url + path, headers=headers)


def parallel(n: int, fn, items) -> list[Any]:
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(fn, items))


def worker_pids_answering(server: ServerProcess, timeout: float = 30.0) -> set[int]:
    """Wait until every worker process is up and has answered; their pids."""
    deadline = time.monotonic() + timeout
    expected: set[int] = set()
    seen: set[int] = set()
    while time.monotonic() < deadline:
        expected = server.children()
        if len(expected) == WORKERS and expected <= seen:
            return expected
        responses = parallel(8, lambda _: request(server, "GET", "/_debug/worker?sleep=0.05", "192.0.2.1"),
                             range(16))
        seen |= {r.json()["pid"] for r in responses if r.status_code == 200}
    raise TimeoutError(f"workers {sorted(expected)} did not all answer (seen {sorted(seen)}):\n{server.output()}")


def wait_for_minute_room(seconds: float = 12.0) -> None:
    """Fixed windows are aligned to the clock: do not straddle a minute boundary."""
    left = 60.0 - time.time() % 60.0
    if left < seconds:
        time.sleep(left + 0.2)


def start_gunicorn(tmp_path: Any, redis_url: str):
    """A generator for the ``gunicorn`` fixture: yields ``start(smart_settings) -> server``,
    then stops every server it started (and kills it if need be)."""
    from django.db import connection

    servers: list[ServerProcess] = []
    count_dir = tmp_path / "counts"
    count_dir.mkdir()

    def start(smart: dict[str, Any]) -> ServerProcess:
        env = deploy_env(
            SMARTLAYER_DEPLOY_DATABASE_URL=postgres_url(connection.settings_dict),
            SMARTLAYER_DEPLOY_REDIS_URL=redis_url,
            SMARTLAYER_DEPLOY_KEY_PREFIX=django_settings.TEST_KEY_PREFIX,  # the prefix of the suite's `redis` alias
            SMARTLAYER_DEPLOY_SMART=json.dumps({"TRUSTED_PROXY_COUNT": 1, **smart}),
            SMARTLAYER_DEPLOY_DEBUG="1",
            SMARTLAYER_DEPLOY_COUNT_DIR=str(count_dir),
        )
        port = free_port()
        server = ServerProcess(gunicorn_cmd(port, workers=WORKERS), env, port, tmp_path / f"gunicorn-{port}.log")
        servers.append(server)
        server.start()
        server.workers = worker_pids_answering(server)
        return server

    try:
        yield start
    finally:
        for server in servers:
            server.stop()  # before transactional_db truncates the tables under it
