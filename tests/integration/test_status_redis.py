"""``smartlayer_status`` on Redis: the replication bus reported with its listeners, the
serving processes' summaries shared through the cache, and Redis away reported down."""
from __future__ import annotations

import pytest

from smartlayer import status
from smartlayer.log import heartbeat
from smartlayer.log.writer import get_writer

pytestmark = pytest.mark.django_db


def _by(report):
    return {s["name"]: s for s in report["sections"]}


def test_bus_and_processes_on_redis(redis_alias, sl, browser):
    sl(WINDOW_BACKEND="replicated")
    browser.get("/page/1")  # starts this process's bus: it now listens for bans
    heartbeat.publish(get_writer())
    by = _by(status.collect())
    assert by["cache"]["state"] == "ok" and by["cache"]["details"]["shared"] is True
    assert by["replication bus"]["state"] == "ok"
    assert by["replication bus"]["details"]["ban_channel_listeners"] >= 1
    assert by["log queue"]["details"]["processes"] >= 1


def test_redis_away_is_down(redis_alias, settings, sl):
    settings.CACHES = {**settings.CACHES, "redis": {**settings.CACHES["redis"],
                                                     "LOCATION": "redis://127.0.0.1:1/0"}}
    sl(WINDOW_BACKEND="replicated")
    report = status.collect()
    by = _by(report)
    assert by["cache"]["state"] == "down" and by["replication bus"]["state"] == "down"
    assert status.exit_code(report) == 1
