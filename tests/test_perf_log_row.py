"""The request log row is made in the writer's thread; the request thread only captures its values.

Counted, never timed: the cleaning, cutting, JSON copying and timestamp of a row cost ~100 k
instructions a request with a model active when they ran on the request thread.  These tests count
those calls while requests are served and check that the rows written afterwards are complete.
"""
from __future__ import annotations

import pytest

from smartlayer.log import writer as logwriter
from smartlayer.models import RequestLog

pytestmark = pytest.mark.django_db


def _counting(monkeypatch, module, name: str, calls: list[str]) -> None:
    real = getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(name)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)


def test_serving_a_request_makes_no_part_of_its_log_row(browser, monkeypatch, flush_logs):
    """Serving a refused request (decisions with details, query parameters, a referer) neither
    cleans nor copies nor cuts anything for the log: that is done when the writer takes the row."""
    from smartlayer.request import context as ctxmod

    flush_logs()   # nothing left over from before
    calls: list[str] = []
    for name in ("db_json", "db_text", "log_columns", "referer_host", "_decision_json"):
        _counting(monkeypatch, ctxmod, name, calls)
    assert browser.get("/page/%00", {"q": "x"}, HTTP_REFERER="https://shop.example/a").status_code == 403
    assert browser.get("/page/ok", {"q": "y"}).status_code == 200
    assert calls == []
    assert len(logwriter.get_writer().queue) == 2
    flush_logs()
    assert "db_json" in calls and "log_columns" in calls and "_decision_json" in calls
    rows = {r.path: r for r in RequestLog.objects.all()}
    refused = rows["/page/\ufffd"]
    assert refused.was_blocked and refused.referer_host == "shop.example" and refused.details["decisions"]
    assert [p[1] for p in rows["/page/ok"].params] == ["q"]


def _context(path: str):
    import time

    from smartlayer.request.client import Client
    from smartlayer.request.context import RequestContext

    client = Client(key="ip:203.0.113.9", ip="203.0.113.9", user_id=None, authenticated=False)
    return RequestContext(client=client, method="GET", path=path, user_agent="UA", started=time.time(),
                          t0=time.perf_counter())


def _row(path: str) -> dict:
    from smartlayer.request.context import log_row

    return log_row(_context(path), 200, 1.0)


def test_a_row_that_cannot_be_made_is_counted_and_reported_not_retried(monkeypatch):
    """A captured row whose making fails costs that row only: dropped, counted, reported; the
    rows around it are written and the writer's accounting stays whole (flush returns)."""
    from smartlayer.request.context import capture_log_row
    from smartlayer.state import failures

    writer = logwriter.LogWriter(maxsize=100)
    reported: list[str] = []
    monkeypatch.setattr(logwriter, "report_failure", lambda where, exc: reported.append(where))
    monkeypatch.setattr(failures, "report_failure", lambda where, exc: reported.append(where))

    def broken(captured):
        raise KeyError("no such column")

    writer.put(_row("/before"))
    writer.put((broken, "anything"))
    writer.put(capture_log_row(_context("/after"), 200, 1.0))
    assert writer.flush(timeout=5)
    assert writer.stats["dropped_invalid"] == 1 and writer.stats["written"] == 2
    assert "log-row" in reported
    assert set(RequestLog.objects.values_list("path", flat=True)) == {"/before", "/after"}
