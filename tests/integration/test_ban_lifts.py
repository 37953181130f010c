"""A lift reaches every worker, whoever made it: gunicorn with 4 workers on
PostgreSQL, with the local-memory cache (each worker its own) and with Redis.

The ban is made and lifted *here*, in the test process — as an operator's
shell or ``manage.py smartlayer_bans lift`` would — so the workers can only
hear of it through the database (local memory) or Redis.  Before the fix a
lift on local memory was never seen: the periodic sync copied active bans
into each worker's cache but never took lifted ones out.
"""
from __future__ import annotations

import json
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.conf import settings as django_settings

from tests.deploy.servers import BROWSER_UA, ServerProcess, deploy_env, free_port, gunicorn_cmd, postgres_url

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WORKERS = 4
SYNC = 1  # BAN_SYNC_INTERVAL of the servers, seconds


_local = threading.local()


def _codes(server: ServerProcess, ip: str, n: int = 40) -> Counter:
    """Status codes of ``n`` requests of ``ip``, spread over the workers."""
    def one(_):
        client = getattr(_local, "client", None)
        if client is None:  # one per thread: building one per request costs ~20 ms
            client = _local.client = httpx.Client(timeout=10)
        r = client.get(server.base_url + "/page/1", headers={"X-Forwarded-For": ip, "User-Agent": BROWSER_UA})
        return r.status_code

    with ThreadPoolExecutor(8) as pool:
        return Counter(pool.map(one, range(n)))


def _until(predicate, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s")


@pytest.fixture(params=["locmem", "redis"])
def server(request, transactional_db, database_url, tmp_path):
    from django.db import connection

    values = {
        "SMARTLAYER_DEPLOY_DATABASE_URL": postgres_url(connection.settings_dict),
        # the polling below is itself a flood: only the ban may answer it
        "SMARTLAYER_DEPLOY_SMART": json.dumps({"TRUSTED_PROXY_COUNT": 1, "BAN_SYNC_INTERVAL": SYNC,
                                               "black_requests_10s": 100000, "grey_elevated_rate_10s": 100000,
                                               "GREY_SUSTAINED_COUNT": 0, "BAN_AFTER_BLOCKS": 0}),
        "SMARTLAYER_DEPLOY_DEBUG": "1",
    }
    if request.param == "redis":
        values["SMARTLAYER_DEPLOY_REDIS_URL"] = request.getfixturevalue("redis_url")
        values["SMARTLAYER_DEPLOY_KEY_PREFIX"] = django_settings.TEST_KEY_PREFIX
        request.getfixturevalue("redis_alias")  # this process bans through the same Redis
    port = free_port()
    srv = ServerProcess(gunicorn_cmd(port, workers=WORKERS), deploy_env(**values), port, tmp_path / "gunicorn.log")
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def test_a_ban_and_its_lift_made_in_a_shell_reach_every_worker(server):
    from smartlayer.state import bans

    ip = "198.51.100.90"
    assert _codes(server, ip, 8) == {200: 8}
    bans.ban(f"ip:{ip}", reason="from a shell", source="admin")
    _until(lambda: _codes(server, ip) == {403: 40}, timeout=SYNC + 5)
    assert bans.lift(f"ip:{ip}", by="shell") == 1
    took = _until(lambda: _codes(server, ip) == {200: 40}, timeout=SYNC + 5)
    print(f"lift seen by all {WORKERS} workers after {took:.1f} s")
