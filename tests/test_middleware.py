"""The middleware stack over HTTP: blocks, bans, monitor mode, kill switch,
bad input never turning into a 5xx, every request logged."""
from __future__ import annotations

import pytest
from django.test import Client as HttpClient

from smartlayer import signals
from smartlayer.models import Ban, RequestLog
from smartlayer.state import bans
from tests.conftest import BROWSER_UA

pytestmark = pytest.mark.django_db


def test_benign_request_passes_and_is_logged(browser, flush_logs):
    assert browser.get("/page/1").status_code == 200
    flush_logs()
    row = RequestLog.objects.get()
    assert (row.path, row.status_code, row.was_blocked, row.client_key) == ("/page/1", 200, False, "ip:203.0.113.10")
    assert row.user_agent.startswith("Mozilla") and row.response_time_ms > 0


def test_empty_user_agent_is_blocked_and_logged_with_reason(client, flush_logs):
    r = client.get("/page/1", REMOTE_ADDR="203.0.113.11")
    assert r.status_code == 403
    flush_logs()
    row = RequestLog.objects.get()
    assert row.was_blocked and row.blocked_by == "anomaly" and row.reason == "black:empty_user_agent"
    assert row.details["decisions"][0]["reasons"] == ["black:empty_user_agent"]


def test_json_clients_get_json(client):
    r = client.get("/page/1", REMOTE_ADDR="203.0.113.11", HTTP_ACCEPT="application/json")
    assert r.status_code == 403
    assert r.json() == {"error": "forbidden", "reason": "suspicious activity"}


def test_flood_is_blocked_at_the_50th_request(browser, sl):
    sl(GREY_SUSTAINED_COUNT=0)  # else hammering one page blocks it at the 25th (tests/test_decisions.py)
    codes = [browser.get("/page/1").status_code for _ in range(50)]
    assert codes[:49] == [200] * 49
    assert codes[49] == 403


def test_repeated_blocks_turn_into_a_ban(browser, sl):
    sl(BAN_AFTER_BLOCKS=3)
    for _ in range(52):
        browser.get("/page/1")
    ban = Ban.objects.get()
    assert ban.client_key == "ip:203.0.113.10" and ban.source == "rule" and ban.is_active
    assert "repeat:blocks" in ban.reason and ban.details["blocks"] == 3


def test_ban_is_served_from_the_cache_without_sql(browser, django_assert_num_queries):
    bans.ban("ip:203.0.113.10", reason="test", source="admin")
    browser.get("/page/1")  # first request of the process may sync bans
    with django_assert_num_queries(0):
        r = browser.get("/page/1")
    assert r.status_code == 403


def test_ban_survives_a_cache_flush_via_the_periodic_sync(browser):
    from django.core.cache import cache

    bans.ban("ip:203.0.113.10", reason="test", source="admin")
    cache.clear()
    bans.reset_sync_timer()
    assert browser.get("/page/1").status_code == 403


def _interval_passes() -> None:
    """BAN_SYNC_INTERVAL went by: this process syncs with the database at its next request."""
    from django.core.cache import cache

    from smartlayer.state.cache import make_key

    cache.delete(make_key("bans-synced", "all"))
    bans.reset_sync_timer()


def test_a_lift_made_by_another_process_reaches_this_one_at_the_next_sync(browser):
    """On a per-process cache (local memory) this process only hears of a lift
    made elsewhere (a shell, the command, another worker) through the database."""
    from django.utils import timezone

    bans.ban("ip:203.0.113.10", reason="test", source="admin")
    assert browser.get("/page/1").status_code == 403
    Ban.objects.filter(client_key="ip:203.0.113.10").update(lifted_at=timezone.now(), lifted_by="shell")
    _interval_passes()
    assert browser.get("/page/1").status_code == 200


def test_a_ban_deleted_by_another_process_is_dropped_at_the_next_sync(browser):
    bans.ban("ip:203.0.113.10", reason="test", source="admin")
    assert browser.get("/page/1").status_code == 403
    Ban.objects.all()._raw_delete(Ban.objects.db)  # no signal reaches this process
    _interval_passes()
    assert browser.get("/page/1").status_code == 200


def test_lifting_a_ban_lets_the_client_back(browser):
    bans.ban("ip:203.0.113.10", reason="test", source="admin")
    assert browser.get("/page/1").status_code == 403
    assert bans.lift("ip:203.0.113.10", by="ops") == 1
    assert browser.get("/page/1").status_code == 200


def test_expired_ban_no_longer_applies(browser):
    from datetime import timedelta

    from django.utils import timezone

    obj = Ban.objects.create(client_key="ip:203.0.113.10", source="admin",
                             expires_at=timezone.now() - timedelta(seconds=1))
    assert not obj.is_active
    assert browser.get("/page/1").status_code == 200


def test_monitor_mode_never_blocks_but_records(client, sl, flush_logs):
    sl(MONITOR_MODE=True)
    r = client.get("/page/1", REMOTE_ADDR="203.0.113.11")  # empty UA
    assert r.status_code == 200
    flush_logs()
    row = RequestLog.objects.get()
    assert not row.was_blocked and row.monitor_only and row.reason == "black:empty_user_agent"


def test_monitor_mode_per_component(client, sl):
    sl(MONITOR_MODE=["validator"])
    assert client.get("/page/1", REMOTE_ADDR="203.0.113.11").status_code == 403  # anomaly still enforces


def test_monitor_mode_never_bans(browser, sl):
    sl(MONITOR_MODE=True, BAN_AFTER_BLOCKS=2)
    codes = {browser.get("/page/1").status_code for _ in range(60)}
    assert codes == {200}
    assert not Ban.objects.exists()


def test_kill_switch_turns_everything_off(client, sl, flush_logs):
    sl(ENABLED=False)
    assert client.get("/page/1", REMOTE_ADDR="203.0.113.11").status_code == 200
    flush_logs()
    assert not RequestLog.objects.exists()


def test_exempt_paths_are_logged_but_never_blocked(client, sl, flush_logs):
    sl(EXEMPT_PATHS=["/page/"])
    assert client.get("/page/1", REMOTE_ADDR="203.0.113.11").status_code == 200  # empty UA, but exempt
    flush_logs()
    assert RequestLog.objects.get().path == "/page/1"


def test_allow_listed_ip_is_never_blocked(client, sl):
    sl(ALLOW_IPS=["203.0.113.0/24"])
    assert client.get("/page/1", REMOTE_ADDR="203.0.113.11").status_code == 200


def test_request_blocked_signal_carries_the_decision(client):
    seen = []

    def receiver(sender, request, client, decision, **kw):
        seen.append((client.key, decision.component, decision.reason, decision.monitor))

    signals.request_blocked.connect(receiver)
    try:
        client.get("/page/1", REMOTE_ADDR="203.0.113.11")
    finally:
        signals.request_blocked.disconnect(receiver)
    assert seen == [("ip:203.0.113.11", "anomaly", "black:empty_user_agent", False)]


def test_blocked_by_inner_middleware_is_still_logged(browser, sl, flush_logs):
    sl(RATE_LIMIT_PLANS={"anon": {"/api/x": {"per_minute": 1}}}, ANONYMOUS_PLAN="anon")
    browser.get("/api/x")
    assert browser.get("/api/x").status_code == 429
    flush_logs()
    blocked = RequestLog.objects.get(was_blocked=True)
    assert blocked.blocked_by == "ratelimit" and blocked.status_code == 429 and blocked.action == "throttle"


# ── bad input: never a 5xx ─────────────────────────────────────────────────
@pytest.mark.parametrize("extra", [
    {"HTTP_X_FORWARDED_FOR": "garbage, ,%%%, 999.999.1.1"},
    {"REMOTE_ADDR": "not-an-ip"},
    {"HTTP_USER_AGENT": "\udcff\udcfe bad surrogates"},
    {"HTTP_COOKIE": "a=\x00\x01; ;;=; b"},
    {"HTTP_ACCEPT": "\x00" * 1000},
    {"QUERY_STRING": "q=%ff%fe%00&&=&%zz"},
])
def test_malformed_headers_never_5xx(browser, extra):
    r = browser.get("/page/1", **extra)
    assert r.status_code < 500


def test_invalid_utf8_body_never_5xx(browser):
    r = browser.post("/echo/", data=b"\xff\xfe\xfa" * 1000, content_type="text/plain")
    assert r.status_code == 200


def test_ten_megabyte_body_never_5xx(browser, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024
    body = b"a=" + b"x" * (10 * 1024 * 1024)
    r = browser.post("/echo/", data=body, content_type="application/x-www-form-urlencoded")
    assert r.status_code == 200
    assert r.json()["len"] == len(body)  # the view still reads the whole body


def test_ten_megabyte_body_over_django_limit_is_django_400_not_500(browser):
    body = b"x" * (10 * 1024 * 1024)
    r = browser.post("/echo/", data=body, content_type="application/octet-stream")
    assert r.status_code in (200, 400, 413)


def test_view_exception_is_logged_as_500_and_raised_normally(browser, flush_logs):
    c = HttpClient(raise_request_exception=False, HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR="203.0.113.12")
    assert c.get("/boom/").status_code == 500
    flush_logs()
    assert RequestLog.objects.get(path="/boom/").status_code == 500


def test_cache_failure_fails_open_and_is_counted(browser, monkeypatch):
    from smartlayer import state
    from smartlayer.state.windows.window import LocalWindowStore

    def broken(*a, **k):
        raise ConnectionError("cache down")

    monkeypatch.setattr(LocalWindowStore, "arrive", broken)
    assert browser.get("/page/1").status_code == 200
    assert browser.get("/page/1").status_code == 200
    assert state.metrics["failure.anomaly"] == 2


def test_cache_failure_fails_closed_when_configured(browser, monkeypatch, sl):
    from smartlayer.state.windows.window import LocalWindowStore

    sl(CACHE_FAIL_OPEN=False)
    monkeypatch.setattr(LocalWindowStore, "arrive", lambda *a, **k: (_ for _ in ()).throw(ConnectionError("x")))
    assert browser.get("/page/1").status_code == 503


def test_failure_is_logged_once_per_interval(browser, monkeypatch, caplog):
    from smartlayer.state.windows.window import LocalWindowStore

    monkeypatch.setattr(LocalWindowStore, "arrive", lambda *a, **k: (_ for _ in ()).throw(ConnectionError("x")))
    with caplog.at_level("WARNING", logger="smartlayer"):
        for _ in range(5):
            browser.get("/page/1")
    assert len([r for r in caplog.records if "anomaly failed" in r.getMessage()]) == 1


# ── WatchLog ───────────────────────────────────────────────────────────────
def test_nothing_is_lost_when_the_queue_is_not_full(flush_logs):
    for i in range(300):
        c = HttpClient(HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR=f"198.51.100.{i % 250}")
        c.get(f"/page/{i}")
    flush_logs()
    assert RequestLog.objects.count() == 300


def test_full_queue_drops_are_counted_and_logged(browser, sl, caplog):
    from smartlayer.log.writer import get_writer, reset_writer

    sl(LOG_QUEUE_SIZE=5)
    reset_writer()
    with caplog.at_level("WARNING", logger="smartlayer"):
        codes = [browser.get(f"/page/{i}").status_code for i in range(8)]
    assert codes == [200] * 8  # requests are still served
    writer = get_writer()
    assert writer.stats["dropped_full"] == 3 and writer.stats["enqueued"] == 5
    assert any("log-queue failed" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db(transaction=True)
def test_background_writer_thread_writes_batches(sl):
    from smartlayer.log.writer import get_writer

    sl(LOG_WRITER="thread", LOG_FLUSH_INTERVAL=0.05)
    for i in range(50):
        HttpClient(HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR=f"198.51.100.{i}").get("/page/1")
    writer = get_writer()
    assert writer._thread is not None and writer._thread.is_alive()
    assert writer.flush(timeout=10)
    assert RequestLog.objects.count() == 50


@pytest.mark.django_db(transaction=True)
def test_database_outage_keeps_rows_buffered(sl, monkeypatch):
    from smartlayer.log.writer import get_writer

    writer = get_writer()
    for i in range(10):
        HttpClient(HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR=f"198.51.100.{i}").get("/page/1")
    from smartlayer.log import writer as logwriter

    def down(*a, **k):
        raise ConnectionError("database down")

    monkeypatch.setattr(logwriter, "insert_rows", down)
    assert not writer.flush(timeout=1)
    assert writer.backlog == 10 and writer.stats["write_errors"] >= 1
    monkeypatch.undo()
    assert writer.flush(timeout=5)
    assert RequestLog.objects.count() == 10 and writer.stats["dropped_error"] == 0


def test_no_sql_per_anonymous_benign_request(browser, django_assert_num_queries):
    browser.get("/page/0")  # first request may run the periodic ban sync
    with django_assert_num_queries(0):
        for i in range(50):
            r = browser.get(f"/page/{i % 4}", REMOTE_ADDR=f"198.51.100.{i}")
            assert r.status_code == 200


def test_every_refusal_is_logged_on_the_smartlayer_logger(client, caplog, sl):
    with caplog.at_level("INFO", logger="smartlayer"):
        client.get("/page/1", REMOTE_ADDR="203.0.113.11")
        sl(MONITOR_MODE=True)
        client.get("/page/2", REMOTE_ADDR="203.0.113.12")
    lines = [r for r in caplog.records if r.name == "smartlayer" and "refuse" in r.getMessage()]
    assert [r.smartlayer["reason"] for r in lines] == ["black:empty_user_agent", "black:empty_user_agent"]
    assert lines[0].getMessage().startswith("smartlayer: refused ip:203.0.113.11 GET /page/1 by anomaly")
    assert lines[1].getMessage().startswith("smartlayer: would refuse") and lines[1].smartlayer["monitor"]
