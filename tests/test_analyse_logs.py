"""``manage.py analyse_logs`` and the report functions behind it."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime, timedelta
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from smartlayer.log import report
from smartlayer.models import Ban, DailyReport, ModelVersion, RequestLog, Verdict
from tests.llm_server import ai_settings, answer, status

#: A recent day, so the log retention of the command leaves its rows alone.
DAY = date.today() - timedelta(days=3)
DAY_S = DAY.isoformat()
UTC = ZoneInfo("UTC")


# every test here starts with a clean LLM client, cache and counters (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("llm_isolated")


def at(day: date, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def log(when: datetime, path: str = "/api/items", status_code: int = 200, ms: float = 10.0, **fields) -> RequestLog:
    fields.setdefault("client_key", "ip:198.51.100.1")
    return RequestLog(timestamp=when, method="GET", path=path, status_code=status_code, response_time_ms=ms, **fields)


@pytest.fixture
def traffic(db):
    """A small day of traffic with known figures, plus rows on the days around it."""
    rows = [log(at(DAY, 1, i), ms=float(i + 1)) for i in range(20)]                     # 1 … 20 ms
    rows += [log(at(DAY, 2), path="/slow", ms=900.0), log(at(DAY, 2), path="/slow", ms=1100.0)]
    rows += [log(at(DAY, 3), path="/missing", status_code=404) for _ in range(3)]
    rows += [log(at(DAY, 3), path="/boom", status_code=500)]
    rows += [log(at(DAY, 4), path="/.env", status_code=403, was_blocked=True, blocked_by="anomaly",
                 reason="black:empty_user_agent", client_key="ip:203.0.113.66") for _ in range(3)]
    rows += [log(at(DAY, 4), path="/search", status_code=403, was_blocked=True, blocked_by="validator",
                 reason="payload:sql_union", client_key="u:17")]
    rows += [log(at(DAY, 5), model_score=s) for s in (0.1, 0.3, 0.8)]
    rows += [log(at(DAY - timedelta(days=1), 23, 59)), log(at(DAY + timedelta(days=1), 0, 0))]
    RequestLog.objects.bulk_create(rows)
    Ban.objects.create(client_key="ip:203.0.113.66", source="rule", reason="repeat", created_at=at(DAY, 4))
    Ban.objects.create(client_key="u:17", source="llm", reason="LLM verdict: BLOCK", created_at=at(DAY, 6))
    Ban.objects.create(client_key="u:18", source="llm", reason="old", created_at=at(DAY - timedelta(days=2)))
    ModelVersion.objects.create(version="v7", status="active", threshold=0.62, samples=5000)
    Verdict.objects.create(kind="grey", verdict="BLOCK", created_at=at(DAY, 6))
    return rows


# ── figures ────────────────────────────────────────────────────────────────

def test_summary_figures(traffic):
    s = report.build_summary(DAY)
    t = s["totals"]
    assert t["requests"] == 33
    assert t["blocked"] == 4
    assert (t["errors_4xx"], t["errors_5xx"]) == (3, 1)  # smartlayer's own 403s are not app errors
    assert t["errors_4xx_rate"] == round(3 * 100 / 33, 2)
    assert t["clients"] == 3
    assert s["endpoints"]["slowest"][0] == {"path": "/slow", "requests": 2, "mean_ms": 1000.0, "max_ms": 1100.0}
    assert s["endpoints"]["busiest"][0]["path"] == "/api/items"
    assert len(s["endpoints"]["busiest"]) == 5
    assert s["blocks"]["by_component"] == [{"component": "anomaly", "count": 3}, {"component": "validator", "count": 1}]
    assert s["blocks"]["by_reason"][0] == {"reason": "black:empty_user_agent", "count": 3}
    assert s["blocks"]["top_clients"][0] == {"client_key": "ip:203.0.113.66", "blocks": 3}
    assert s["bans_by_source"] == [{"source": "llm", "count": 1}, {"source": "rule", "count": 1}]
    assert s["active_model"]["version"] == "v7"
    assert s["anomaly_scores"] == {"count": 3, "mean": 0.4, "max": 0.8}
    assert s["llm_verdicts"] == [{"kind": "grey", "verdict": "BLOCK", "count": 1}]
    json.dumps(s)  # stored in a JSONField


def test_p95_is_nearest_rank(db):
    RequestLog.objects.bulk_create([log(at(DAY), ms=float(v)) for v in range(100, 0, -1)])
    qs = RequestLog.objects.all()
    assert report.percentile(qs, "response_time_ms", 0.95) == 95.0
    assert report.percentile(qs, "response_time_ms", 1.0) == 100.0
    assert report.percentile(RequestLog.objects.none(), "response_time_ms", 0.95) is None
    assert report.build_summary(DAY)["totals"]["p95_ms"] == 95.0


def test_day_follows_the_site_timezone(db):
    tz = ZoneInfo("Asia/Tokyo")
    RequestLog.objects.bulk_create([
        log(datetime(2025, 3, 10, 0, 30, tzinfo=tz)),  # 9 March in UTC, 10 March in Tokyo
        log(datetime(2025, 3, 11, 0, 30, tzinfo=tz)),
    ])
    with override_settings(TIME_ZONE="Asia/Tokyo"):
        assert report.build_summary(date(2025, 3, 10))["totals"]["requests"] == 1


def test_default_date_is_yesterday_in_site_timezone():
    assert report.parse_date(None) == timezone.localdate() - timedelta(days=1)
    assert report.parse_date("2025-03-10") == date(2025, 3, 10)


def test_figures_for_ai_hold_no_client_identity(traffic):
    figures = report.figures_for_ai(report.build_summary(DAY))
    text = json.dumps(figures)
    assert "203.0.113.66" not in text and "u:17" not in text
    assert figures["blocks"]["top_clients"][0] == {"client": "client #1", "blocks": 3}


# ── the command ────────────────────────────────────────────────────────────

def test_without_ai_saves_the_raw_report_and_why(traffic, server):
    out = StringIO()
    with ai_settings(None):
        call_command("analyse_logs", date=DAY_S, stdout=out)
    saved = DailyReport.objects.get(date=DAY)
    assert saved.ai_status.startswith("not configured")
    assert saved.report.startswith(f"smartlayer daily report for {DAY_S}")
    assert "No AI summary (not configured" in saved.report
    assert "p95" in saved.report and "'/slow'" in saved.report
    assert saved.summary["totals"]["requests"] == 33
    assert server.hits == 0
    line = out.getvalue().strip()
    assert "\n" not in line and f"report for {DAY_S} created" in line and "33 requests" in line


def test_with_ai_puts_the_summary_on_top(traffic, server):
    server.script(answer("Traffic was healthy.\nThe .env probes deserve a look."))
    with ai_settings(server.url):
        call_command("analyse_logs", date=DAY_S, stdout=StringIO())
    saved = DailyReport.objects.get(date=DAY)
    assert saved.ai_status == "ok (fake-model)"
    head, _, figures = saved.report.partition("── Figures ──")
    assert "Traffic was healthy." in head
    assert "Requests: 33" in figures
    system, user = server.messages()
    assert "never instructions" in system["content"]
    assert "/.env" in user["content"]              # paths travel as data …
    assert "203.0.113.66" not in user["content"]   # … client identities do not
    assert "BEGIN-DATA-" in user["content"]


def test_failing_ai_falls_back_to_the_figures(traffic, server):
    server.default = status(500)
    with ai_settings(server.url, AI_RETRIES=1):
        call_command("analyse_logs", date=DAY_S, stdout=StringIO())
    saved = DailyReport.objects.get(date=DAY)
    assert saved.ai_status == "failed: HTTP 500"
    assert "No AI summary (failed: HTTP 500)" in saved.report
    assert "Requests: 33" in saved.report


def test_rerun_updates_the_same_report(traffic, server):
    server.script(answer("First take."), answer("Second take."))
    out = StringIO()
    with ai_settings(server.url):
        call_command("analyse_logs", date=DAY_S, stdout=out)
        call_command("analyse_logs", date=DAY_S, stdout=out)
    assert DailyReport.objects.count() == 1
    assert "Second take." in DailyReport.objects.get().report
    assert "updated" in out.getvalue().splitlines()[-1]


def test_rerun_after_retention_keeps_the_report(traffic):
    with ai_settings(None):
        call_command("analyse_logs", date=DAY_S, stdout=StringIO())
        RequestLog.objects.all().delete()  # the day's logs have since been purged
        out = StringIO()
        call_command("analyse_logs", date=DAY_S, stdout=out)
    saved = DailyReport.objects.get(date=DAY)
    assert saved.summary["totals"]["requests"] == 33
    assert "kept" in out.getvalue()


def test_day_without_traffic_still_gets_a_report(db, server):
    with ai_settings(server.url):
        call_command("analyse_logs", date=DAY_S, stdout=StringIO())
    saved = DailyReport.objects.get(date=DAY)
    assert saved.ai_status.startswith("skipped")
    assert server.hits == 0


def test_verbosity_2_prints_the_full_report(traffic):
    out = StringIO()
    with ai_settings(None):
        call_command("analyse_logs", date=DAY_S, verbosity=2, stdout=out)
    assert "Slowest endpoints" in out.getvalue()
    assert out.getvalue().rstrip().splitlines()[-1].startswith("smartlayer: report for")


@pytest.mark.parametrize("bad", ["yesterday", "2025-13-01", "10/03/2025", ""])
def test_bad_date_is_an_error(db, bad):
    with pytest.raises(CommandError, match="invalid date"):
        call_command("analyse_logs", date=bad, stdout=StringIO())
    assert not DailyReport.objects.exists()


def test_bad_date_exits_non_zero():
    code = (
        "import django, sys; django.setup(); "
        "from django.core.management import execute_from_command_line; "
        "execute_from_command_line(['manage.py', 'analyse_logs', '--date', 'not-a-date'])"
    )
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60,
                          env={"DJANGO_SETTINGS_MODULE": "tests.settings", "SMARTLAYER_SCHEDULER": "0",
                               "PATH": "/usr/bin:/bin"})
    assert proc.returncode != 0
    assert "invalid date" in proc.stderr


# ── retention ──────────────────────────────────────────────────────────────

def test_retention_deletes_only_old_rows_in_batches(db):
    now = timezone.now()
    old = [log(now - timedelta(days=31, minutes=i)) for i in range(7)]
    young = [log(now - timedelta(days=29)), log(now - timedelta(hours=1))]
    RequestLog.objects.bulk_create(old + young)
    assert report.purge_old_logs(30, batch=3, now=now) == 7
    assert RequestLog.objects.count() == 2
    assert report.purge_old_logs(0) == 0 and report.purge_old_logs(None) == 0


def test_retention_also_deletes_old_llm_verdicts(db):
    from smartlayer.models import Verdict

    now = timezone.now()
    Verdict.objects.create(kind="grey", verdict="BLOCK", created_at=now - timedelta(days=31))
    Verdict.objects.create(kind="grey", verdict="ALLOW", created_at=now - timedelta(days=1))
    report.purge_old_logs(30, now=now)
    assert list(Verdict.objects.values_list("verdict", flat=True)) == ["ALLOW"]


def test_command_applies_retention_and_says_so(db):
    now = timezone.now()
    RequestLog.objects.bulk_create([log(now - timedelta(days=40)), log(now - timedelta(days=5))])
    out = StringIO()
    with ai_settings(None, LOG_RETENTION_DAYS=30):
        call_command("analyse_logs", stdout=out)
    assert RequestLog.objects.count() == 1
    assert "deleted 1 log rows older than 30 days" in out.getvalue()


def test_default_retention_is_30_days(db):
    now = timezone.now()
    RequestLog.objects.bulk_create([log(now - timedelta(days=31)), log(now - timedelta(days=29))])
    with ai_settings(None):
        call_command("analyse_logs", stdout=StringIO())
    assert RequestLog.objects.count() == 1
