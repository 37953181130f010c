"""PostgreSQL: text it refuses never reaches it, and a refused row inside a ``COPY`` costs only that row.

PostgreSQL is stricter than SQLite: a NUL fails a text column and a
``\\u0000`` fails ``jsonb``, and a failed ``COPY`` aborts the transaction it
runs in.  These tests run the writer's real ``COPY`` path, both inside the
test's transaction (savepoints) and from the writer thread (autocommit).
"""
from __future__ import annotations

import math

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.utils import timezone

from smartlayer import state
from smartlayer.dbtext import REPLACEMENT as R
from smartlayer.log import writer as logwriter
from smartlayer.models import RequestLog
from tests.conftest import BROWSER_UA

pytestmark = pytest.mark.integration


@pytest.fixture
def postgres(database_url):
    """The suite's database is PostgreSQL (tests/settings.py switches on the same variable)."""
    assert connection.vendor == "postgresql", "SMARTLAYER_TEST_DATABASE_URL is set but the suite is not on it"


@pytest.fixture
def attempts(monkeypatch):
    calls: list[int] = []
    real = logwriter.insert_rows

    def counting(rows):
        calls.append(len(rows))
        return real(rows)

    monkeypatch.setattr(logwriter, "insert_rows", counting)
    return calls


def row(i: int, **kw) -> dict:
    fields = {"timestamp": timezone.now(), "client_key": f"ip:198.51.100.{i}", "method": "GET", "path": f"/r/{i}",
              "status_code": 200, "response_time_ms": 1.0, "details": {"i": i}}
    fields.update(kw)
    return fields


#: Rows PostgreSQL refuses for reasons cleaning does not (or, put raw, did not) fix.
REFUSED = {
    3: {"status_code": -1},                 # CHECK constraint of a PositiveSmallIntegerField
    7: {"rule_score": 10 ** 6},             # smallint out of range
    12: {"path": "/raw/\x00"},              # a NUL put on the queue without log_row's cleaning
    13: {"details": {"raw": "\x00"}},       # \u0000 in jsonb, idem
    17: {"details": {"obj": object()}},     # not JSON: fails on the client, inside the COPY
    21: {"ip_address": "not-an-address"},   # inet syntax
}


def put_batch(n: int) -> None:
    writer = logwriter.get_writer()
    for i in range(n):
        writer.put(row(i, **REFUSED.get(i, {})))


@pytest.mark.django_db
def test_nul_in_path_and_details_is_logged_inside_a_transaction(postgres, browser, flush_logs):
    from smartlayer.request.context import log_row
    from smartlayer.request.decision import Action, Decision
    from tests.test_log_text import _context

    # a NUL in the path is a protocol anomaly the validator blocks; the refused request is logged all the same
    assert browser.get("/page/%00").status_code == 403
    ctx = _context(path="/p\x00")
    ctx.add(Decision(Action.BLOCK, "validator", reason="payload:\x00", reasons=["\x00\ud800"],
                     details={"key\x00": "value\x00", "nested": [{"\x00": "\udc80"}]}))
    logwriter.get_writer().put(log_row(ctx, 403, 1.0))
    flush_logs()
    assert set(RequestLog.objects.values_list("path", flat=True)) == {f"/page/{R}", f"/p{R}"}
    details = RequestLog.objects.get(path=f"/p{R}").details["decisions"][0]
    assert details["reasons"] == [R * 2] and details[f"key{R}"] == f"value{R}"
    assert details["nested"] == [{R: R}]


@pytest.mark.django_db
def test_refused_rows_in_a_copy_are_dropped_alone_inside_a_transaction(postgres, attempts, caplog):
    """Inside the test's transaction every attempt is a savepoint: after a
    failed COPY the transaction is still usable, for the next attempt and for
    this test's own queries."""
    n = 24
    put_batch(n)
    writer = logwriter.get_writer()
    with caplog.at_level("WARNING", logger="smartlayer"):
        assert writer.flush(timeout=10)
    kept = sorted(i for i in range(n) if i not in REFUSED)
    assert sorted(RequestLog.objects.values_list("details__i", flat=True)) == kept
    assert writer.stats["dropped_invalid"] == len(REFUSED) == state.metrics["log.dropped_invalid"]
    assert len(attempts) <= 2 * n - 1
    assert len([r for r in caplog.records if "log-row failed" in r.getMessage()]) == 1
    before = len(attempts)
    assert writer.flush(timeout=1) and len(attempts) == before  # nothing left to retry
    writer.put(row(100))
    assert writer.flush(timeout=5) and RequestLog.objects.filter(details__i=100).exists()


@pytest.mark.django_db(transaction=True)
def test_the_writer_thread_copies_around_refused_rows(postgres, sl, attempts):
    """Autocommit, the writer thread's own connection: the same, and the
    requests (a NUL in the path among them) still reach the table."""
    sl(LOG_WRITER="thread", LOG_FLUSH_INTERVAL=0.05, LOG_BATCH_SIZE=32)
    n = 24
    put_batch(n)
    codes = [HttpClient(HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR=f"203.0.113.{i}").get(f"/page/{i}%00").status_code
             for i in range(6)]
    assert codes == [403] * 6           # NUL in the path: refused by the validator, logged all the same
    writer = logwriter.get_writer()
    assert writer.flush(timeout=15)
    assert RequestLog.objects.count() == n - len(REFUSED) + 6
    assert RequestLog.objects.filter(path__endswith=R).count() == 6
    assert writer.stats["dropped_invalid"] == len(REFUSED)
    assert writer.stats["written"] + writer.stats["dropped_invalid"] == writer.stats["enqueued"]
    # each refused row costs at most one attempt per halving level
    assert len(attempts) <= 3 + 2 * len(REFUSED) * math.ceil(math.log2(n + 6))


@pytest.mark.django_db
def test_free_text_with_nul_reaches_bans_verdicts_and_reports(postgres):
    from tests.test_log_text import store_free_text

    store_free_text()
