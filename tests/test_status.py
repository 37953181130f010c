"""``smartlayer_status``: every part reported, JSON for monitoring, exit 1 when one is down,
and the serving processes' figures read from what they leave in the cache."""
from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from smartlayer import status
from smartlayer.log import heartbeat
from smartlayer.log.writer import get_writer

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("smartlayer_status", *args, stdout=out)
    except SystemExit as exc:
        return int(exc.code), out.getvalue()
    return 0, out.getvalue()


def sections(report: dict) -> dict:
    return {s["name"]: s for s in report["sections"]}


def test_a_healthy_site_exits_zero_and_names_every_part(settings):
    code, text = run()
    assert code == 0, text
    for name in ("cache", "database", "replication bus", "model", "LLM", "log queue", "failures"):
        assert name in text
    assert "[DOWN]" not in text


def test_json_report(browser):
    browser.get("/page/1")
    heartbeat.reset()
    assert heartbeat.maybe_publish(get_writer())
    code, text = run("--json")
    report = json.loads(text)
    by = sections(report)
    assert code == 0 and report["state"] in ("ok", "warn")
    assert by["cache"]["state"] == "ok" and by["database"]["state"] == "ok"
    assert by["model"]["state"] == "off"            # no version trained in this test
    assert by["LLM"]["state"] == "off"
    # this process reported itself: the queue holds the row of the request above
    assert by["log queue"]["details"]["processes"] == 1
    assert by["log queue"]["details"]["backlog"] >= 1


def test_unreachable_database_is_down_and_exits_one(monkeypatch):
    monkeypatch.setattr(status, "database_section",
                        lambda: status.Section("database", status.DOWN, "postgresql unreachable: refused"))
    code, text = run()
    assert code == 1
    assert "[DOWN] database" in text


def test_a_probe_that_raises_is_reported_down_not_a_traceback(monkeypatch):
    def boom():
        raise RuntimeError("kaput")

    monkeypatch.setattr(status, "cache_section", boom)
    report = status.collect()
    assert sections(report)["cache"]["state"] == "down"
    assert "kaput" in sections(report)["cache"]["summary"]
    assert status.exit_code(report) == 1


def test_full_log_queue_and_drops(sl):
    sl(LOG_QUEUE_SIZE=2)
    from smartlayer.log.writer import LogWriter

    writer = LogWriter()
    for _ in range(3):
        writer.put({"path": "/x"})
    heartbeat.publish(writer)
    by = sections(status.collect())
    assert by["log queue"]["state"] == "down"
    assert by["log queue"]["details"]["dropped_full"] == 1
    assert by["failures"]["state"] == "warn" and by["failures"]["details"]["by_kind"]["log-queue"] == 1


def test_open_llm_breaker_is_down_and_budget_is_shown(sl, llm_isolated):
    sl(AI_API_KEY="k", AI_BASE_URL="http://127.0.0.1:9/v1", AI_MODEL="m", AI_DAILY_BUDGET=10,
       AI_BREAKER_FAILURES=1)
    from datetime import datetime, timezone

    from smartlayer.llm.client import get_client
    from smartlayer.state.cache import get_cache, make_key

    client = get_client()
    client.breaker.record_failure()
    day = datetime.now(timezone.utc).date().isoformat()
    get_cache().set(make_key("llm-budget", day), 3, 60)
    heartbeat.publish(get_writer())
    llm = sections(status.collect())["LLM"]
    assert llm["state"] == "down"
    assert "3 call(s) today of 10" in llm["summary"]


def test_model_section_reports_a_broken_active_version(tmp_path, sl):
    sl(MODEL_STORE=str(tmp_path))
    (tmp_path / "ACTIVE").write_text("20260101-000000-abcdef\n")
    model = sections(status.collect())["model"]
    assert model["state"] == "down" and "cannot be loaded" in model["summary"]


def test_extra_sections_are_shown(monkeypatch):
    monkeypatch.setattr(status, "_extra", [])

    @status.register_section
    def profile():
        return status.Section("profile", status.WARN, "guard tripped")

    by = sections(status.collect())
    assert by["profile"]["state"] == "warn"
    assert status.collect()["state"] == "warn"
