"""Text the database refuses never reaches it, and one bad row never blocks the log.

On SQLite a NUL is stored as is but a lone surrogate fails the whole insert;
on PostgreSQL both fail it (tests/integration/test_log_text.py runs the
PostgreSQL side, COPY included).  Every test here runs on whichever database
the suite runs on.
"""
from __future__ import annotations

import math

import pytest
from django.test import Client as HttpClient

from smartlayer import state
from smartlayer.dbtext import REPLACEMENT, db_json, db_text
from smartlayer.log import writer as logwriter
from smartlayer.models import RequestLog
from tests.conftest import BROWSER_UA

pytestmark = pytest.mark.django_db

R = REPLACEMENT


# ── the cleaner ────────────────────────────────────────────────────────────

def test_db_text_replaces_nul_and_lone_surrogates_and_truncates():
    assert db_text("a\x00b\ud800c\udfffd", 100) == f"a{R}b{R}c{R}d"
    assert db_text("é\x00", 100) == f"é{R}"
    assert db_text("x" * 10, 4) == "xxxx"
    assert db_text("\x00" * 10, 3) == R * 3
    assert db_text("😀", 5) == "😀"  # an astral character is valid text, not a surrogate
    assert db_text(None) == "" and db_text(42) == "42"


def test_db_text_returns_ordinary_text_unchanged():
    s = "/page/" + "a" * 50
    assert db_text(s, 500) is s
    u = "/café/ünïcode"
    assert db_text(u, 500) is u


def test_db_json_cleans_keys_and_values_recursively():
    value = {"a\x00": ["x\x00", {"k": "\ud800", "n": 1, "f": 0.5, "b": True, "z": None}], 3: (1, "\x00"),
             "nan": math.nan, "inf": -math.inf, "set": frozenset(), (1, 2): "tuple key"}
    clean = db_json(value)
    assert clean == {f"a{R}": [f"x{R}", {"k": R, "n": 1, "f": 0.5, "b": True, "z": None}], 3: [1, R],
                     "nan": None, "inf": None, "set": "frozenset()", "(1, 2)": "tuple key"}
    clean_already = {"decisions": [{"component": "anomaly", "reasons": ["black:x"], "score": 3}]}
    assert db_json(clean_already) == clean_already


# ── through the request path ───────────────────────────────────────────────

def test_nul_in_the_path_through_the_middleware_stack_is_logged(browser, flush_logs):
    # a NUL in the path is a protocol anomaly the validator refuses; the refused request is logged all the same
    assert browser.get("/page/%00").status_code == 403
    assert browser.get("/page/ok").status_code == 200
    flush_logs()
    assert set(RequestLog.objects.values_list("path", flat=True)) == {f"/page/{R}", "/page/ok"}


def _context(user_id: str | None = None, **kw):
    import time

    from smartlayer.request.client import Client
    from smartlayer.request.context import RequestContext

    client = Client(key=f"u:{user_id}" if user_id else "ip:203.0.113.9", ip="203.0.113.9", user_id=user_id,
                    authenticated=bool(user_id))
    fields = {"client": client,
              "method": "GET", "path": "/page/1", "user_agent": BROWSER_UA, "started": time.time(),
              "t0": time.perf_counter()}
    fields.update(kw)
    return RequestContext(**fields)


def test_nul_and_lone_surrogates_in_every_logged_field_and_in_details(flush_logs):
    from smartlayer.request.context import log_row
    from smartlayer.request.decision import Action, Decision

    ctx = _context(path="/p\x00\ud800", user_agent="UA\x00\udc80", method="G\x00T", model_version="v\x00",
                   user_id="u\x00" + "9" * 100)
    ctx.add(Decision(Action.BLOCK, "validator", reason="payload:\x00null_byte\ud800",
                     reasons=["null\x00", "\udcff"], details={"excerpt\x00": "a\x00b\ud800", "n": [1, "\x00"]}))
    logwriter.get_writer().put(log_row(ctx, 403, 1.0))
    flush_logs()
    row = RequestLog.objects.get()
    assert (row.path, row.user_agent, row.method, row.model_version) == (f"/p{R}{R}", f"UA{R}{R}", f"G{R}T", f"v{R}")
    assert row.user_id == f"u{R}" + "9" * 62  # cleaned, then cut to the column's 64
    assert row.client_key == f"u:u{R}" + "9" * 60
    assert row.reason == f"payload:{R}null_byte{R}"
    decision = row.details["decisions"][0]
    assert decision["reasons"] == [f"null{R}", R]
    assert decision[f"excerpt{R}"] == f"a{R}b{R}" and decision["n"] == [1, R]


# ── a row the database refuses for a reason cleaning cannot fix ────────────

def _rows(n: int, bad: set[int]) -> list[dict]:
    from django.utils import timezone

    return [{"timestamp": timezone.now(), "client_key": f"ip:198.51.100.{i}", "method": "GET", "path": f"/r/{i}",
             # a negative status breaks PositiveSmallIntegerField's CHECK constraint on every backend
             "status_code": -1 if i in bad else 200, "response_time_ms": 1.0} for i in range(n)]


@pytest.fixture
def counted_inserts(monkeypatch):
    """Count insert_rows calls (attempts), each with its batch size."""
    calls: list[int] = []
    real = logwriter.insert_rows

    def counting(rows):
        calls.append(len(rows))
        return real(rows)

    monkeypatch.setattr(logwriter, "insert_rows", counting)
    return calls


def test_one_refused_row_is_dropped_alone_and_counted(counted_inserts, caplog):
    writer = logwriter.get_writer()
    for row in _rows(16, bad={11}):
        writer.put(row)
    with caplog.at_level("WARNING", logger="smartlayer"):
        assert writer.flush(timeout=5)
    assert sorted(RequestLog.objects.values_list("path", flat=True)) == sorted(f"/r/{i}" for i in range(16) if i != 11)
    assert writer.stats["written"] == 15 and writer.stats["dropped_invalid"] == 1
    assert state.metrics["log.dropped_invalid"] == 1 and writer.backlog == 0
    # halving 16 rows down to the bad one: 1 + 2 per level, 4 levels
    assert len(counted_inserts) <= 1 + 2 * math.ceil(math.log2(16))
    assert [r for r in caplog.records if "log-row failed" in r.getMessage()]
    attempts = len(counted_inserts)
    assert writer.flush(timeout=1) and len(counted_inserts) == attempts  # nothing is retried


def test_every_refused_row_is_counted_once_and_reported_once_per_interval(counted_inserts, caplog):
    writer = logwriter.get_writer()
    for row in _rows(8, bad={0, 3, 7}):
        writer.put(row)
    with caplog.at_level("WARNING", logger="smartlayer"):
        assert writer.flush(timeout=5)
    assert RequestLog.objects.count() == 5 and writer.stats["dropped_invalid"] == 3
    assert state.metrics["log.dropped_invalid"] == 3 and state.metrics["failure.log-row"] == 3
    assert len([r for r in caplog.records if "log-row failed" in r.getMessage()]) == 1
    assert len(counted_inserts) <= 2 * 8 - 1


def test_an_unavailable_database_keeps_the_batch_it_is_not_split(monkeypatch):
    from django.db import OperationalError

    writer = logwriter.get_writer()
    for row in _rows(8, bad=set()):
        writer.put(row)
    calls = []

    def down(rows):
        calls.append(len(rows))
        raise OperationalError("connection refused")

    monkeypatch.setattr(logwriter, "insert_rows", down)
    assert not writer.flush(timeout=1)
    assert calls == [8] and writer.backlog == 8
    assert writer.stats["dropped_invalid"] == 0 and writer.stats["write_errors"] == 1
    monkeypatch.undo()
    assert writer.flush(timeout=5) and RequestLog.objects.count() == 8


@pytest.mark.django_db(transaction=True)
def test_the_writer_thread_writes_around_a_refused_row_and_flush_returns(sl, counted_inserts):
    sl(LOG_WRITER="thread", LOG_FLUSH_INTERVAL=0.05)
    writer = logwriter.get_writer()
    for row in _rows(10, bad={4}):
        writer.put(row)
    for i in range(5):
        HttpClient(HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR=f"198.51.100.{200 + i}").get("/page/%00")
    assert writer.flush(timeout=10)
    assert RequestLog.objects.count() == 14 and writer.stats["dropped_invalid"] == 1
    assert writer.stats["enqueued"] == writer.stats["written"] + writer.stats["dropped_invalid"]
    assert len(counted_inserts) <= 1 + 2 * math.ceil(math.log2(15)) + 4  # the requests may arrive in other batches


# ── the other free text smartlayer stores ──────────────────────────────────

def store_free_text() -> None:
    """A ban, an LLM verdict and a daily report whose text holds a NUL and a
    lone surrogate are stored, cleaned (shared with the PostgreSQL test)."""
    from datetime import date

    from smartlayer.llm import verdicts
    from smartlayer.log import report
    from smartlayer.models import Ban, DailyReport, Verdict
    from smartlayer.state import bans

    bans.ban("ip:198.51.100.77", reason="payload:\x00\ud800", source="rule", ip="198.51.100.77",
             details={"excerpt\x00": "x\x00\ud800"})
    ban = Ban.objects.get(client_key="ip:198.51.100.77")
    assert ban.reason == f"payload:{R}{R}" and ban.details == {f"excerpt{R}": f"x{R}{R}"}
    assert state.metrics["failure.database"] == 0

    verdicts._record(kind="payload", client_key="ip:198.51.100.77", confidence=None, error="bad\x00\ud800",
                     latency_ms=1.0, ai_model="m\x00", payload_hash="h", details={"answer": "\x00\ud800"})
    verdict = Verdict.objects.get()
    assert (verdict.error, verdict.ai_model, verdict.details) == (f"bad{R}{R}", f"m{R}", {"answer": R * 2})

    day = date(2025, 3, 1)
    report.save(day, "AI says \x00\ud800", {"paths": ["/a\x00"], "k\x00": 1}, "ok\x00")
    saved = DailyReport.objects.get(date=day)
    assert saved.report == f"AI says {R}{R}" and saved.summary == {"paths": [f"/a{R}"], f"k{R}": 1}
    assert saved.ai_status == f"ok{R}"
    assert state.metrics["failure.database"] == 0


def test_free_text_with_nul_and_surrogates_reaches_bans_verdicts_and_reports():
    store_free_text()
