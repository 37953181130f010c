"""A ban decided on the request path: in force at once from the cache, its database row
written off the request thread (with the log writer's next batch), never dropped."""
from __future__ import annotations

import time

import pytest
from django.db import OperationalError, connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext

from smartlayer import signals, state
from smartlayer.log.writer import get_writer
from smartlayer.models import Ban
from smartlayer.state import ban_persist, bans
from tests.conftest import BROWSER_UA

pytestmark = pytest.mark.django_db

SQLI = "/page/1?q=1%27%20OR%20%271%27%3D%271"


@pytest.fixture
def background_writer():
    """What WatchLog's running thread registers: the request path hands ban rows over."""
    ban_persist.set_drainer(get_writer())
    yield get_writer()
    ban_persist.reset()


def test_a_ban_on_the_request_path_makes_no_query_and_is_enforced_at_once(browser, sl, background_writer):
    sl(BAN_AFTER_BLOCKS=1)
    sent = []
    signals.client_banned.connect(lambda **kw: sent.append(kw["ban"]), weak=False, dispatch_uid="t-ban-persist")
    try:
        assert browser.get("/page/1").status_code == 200   # the interval's ban sync (one query) done
        with CaptureQueriesContext(connection) as queries:
            first = browser.get(SQLI)
            after = browser.get("/page/1")
        assert first.status_code == 403 and after.status_code == 403  # banned, refused from the cache at once
        assert len(queries.captured_queries) == 0      # no SELECT + INSERT on the request thread
        assert not Ban.objects.exists() and ban_persist.pending() == 1 and sent == []
        assert background_writer.flush(timeout=10)      # the writer's next batch
        row = Ban.objects.get()
        assert row.client_key == "ip:203.0.113.10" and row.source == "rule"
        assert len(sent) == 1 and sent[0].pk == row.pk  # the signal carries the written row
        assert browser.get("/page/1").status_code == 403
    finally:
        signals.client_banned.disconnect(dispatch_uid="t-ban-persist")


def test_a_row_the_database_cannot_take_now_is_kept_counted_and_written_later(background_writer, monkeypatch):
    real_save = Ban.save

    def away(self, *args, **kwargs):
        raise OperationalError("database away")

    monkeypatch.setattr(Ban, "save", away)
    bans.ban("ip:198.51.100.7", reason="request_flood", source="rule", defer=True)
    assert not background_writer.flush(timeout=1)
    assert ban_persist.pending() == 1 and state.metrics["bans.persist_failed"] == 1
    assert state.metrics["failure.database"] == 1
    client = HttpClient(HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR="198.51.100.7")
    assert client.get("/page/1").status_code == 403  # enforced meanwhile
    monkeypatch.setattr(Ban, "save", real_save)
    assert background_writer.flush(timeout=10)
    assert Ban.objects.filter(client_key="ip:198.51.100.7", reason="request_flood").count() == 1
    assert ban_persist.pending() == 0


def test_without_a_background_writer_the_row_is_written_at_once():
    with CaptureQueriesContext(connection) as queries:
        bans.ban("ip:198.51.100.8", reason="request_flood", source="rule", defer=True)
    assert Ban.objects.filter(client_key="ip:198.51.100.8").count() == 1
    assert len(queries.captured_queries) == 2 and ban_persist.pending() == 0


@pytest.mark.django_db(transaction=True)
def test_the_writer_thread_writes_the_row_within_its_flush_interval(sl):
    sl(LOG_WRITER="thread", LOG_FLUSH_INTERVAL=0.05, BAN_AFTER_BLOCKS=1)
    client = HttpClient(HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR="198.51.100.9")
    client.get("/page/1")                      # the writer's thread starts with the first row
    assert ban_persist.drainer() is get_writer()
    assert client.get(SQLI).status_code == 403
    assert client.get("/page/1").status_code == 403
    deadline = time.monotonic() + 10
    while not Ban.objects.filter(client_key="ip:198.51.100.9").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert Ban.objects.filter(client_key="ip:198.51.100.9").count() == 1
    get_writer().stop()
    assert ban_persist.drainer() is None


def test_a_lift_before_the_row_is_written_forgets_the_row(background_writer):
    bans.ban("ip:198.51.100.11", reason="request_flood", source="rule", defer=True)
    bans.ban("ip:198.51.100.12", reason="request_flood", source="rule", defer=True)
    bans.lift("ip:198.51.100.11", by="operator")
    assert background_writer.flush(timeout=10)
    assert list(Ban.objects.values_list("client_key", flat=True)) == ["ip:198.51.100.12"]
    client = HttpClient(HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR="198.51.100.11")
    assert client.get("/page/1").status_code == 200


def test_a_receiver_that_raises_neither_repeats_the_signal_nor_holds_back_later_rows(background_writer):
    sent = []

    def broken(**kwargs):
        sent.append(kwargs["client_key"])
        raise RuntimeError("a receiver's bug")

    signals.client_banned.connect(broken, weak=False, dispatch_uid="t-ban-broken")
    try:
        bans.ban("ip:198.51.100.21", reason="request_flood", source="rule", defer=True)
        bans.ban("ip:198.51.100.22", reason="request_flood", source="rule", defer=True)
        assert background_writer.flush(timeout=10)
        assert background_writer.flush(timeout=10)   # a second batch sends nothing again
    finally:
        signals.client_banned.disconnect(dispatch_uid="t-ban-broken")
    assert sorted(Ban.objects.values_list("client_key", flat=True)) == ["ip:198.51.100.21", "ip:198.51.100.22"]
    assert sent == ["ip:198.51.100.21", "ip:198.51.100.22"] and ban_persist.pending() == 0
    assert state.metrics["bans.signal_failed"] == 2 and state.metrics["failure.signal"] == 2
