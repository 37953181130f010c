"""What the request path leaves to CPython's cyclic garbage collector, counted, never timed.

A request log row waits in the writer's queue for up to ``LOG_FLUSH_INTERVAL``.  While the queued
capture held a function and the client object, the collector kept tracking it: every young and
middle collection traversed it and moved it up, and the old generation's growth is what triggers a
full collection — measured at ~100 promoted objects per middle collection from the queue alone,
about a third of all promotions (``tests/benchmarks/overhead.py --gc``).  A benign request's capture
now holds atomic values only, which the collector untracks at the first collection it survives.
"""
from __future__ import annotations

import gc
import time

import pytest

from smartlayer.log import writer as logwriter
from smartlayer.request.client import Client
from smartlayer.request.context import RequestContext, build_log_row, capture_log_row
from smartlayer.request.decision import Action, Decision


def _ctx(params=None) -> RequestContext:
    client = Client(key="ip:203.0.113.9", ip="203.0.113.9", user_id=None, authenticated=False)
    ctx = RequestContext(client=client, method="GET", path="/p", user_agent="UA", started=time.time(),
                         t0=time.perf_counter())
    ctx.params = params
    return ctx


def test_a_benign_capture_is_untracked_once_it_survives_a_collection():
    """No decision, no parameter (the validator's empty list): nothing in the tuple for the collector."""
    captured = capture_log_row(_ctx(params=[]), 200, 1.0)
    gc.collect()
    assert not gc.is_tracked(captured)
    # the row it makes is the one a context without the validator's list makes
    row, same = build_log_row(captured), build_log_row(capture_log_row(_ctx(), 200, 1.0))
    row.pop("timestamp"), same.pop("timestamp")
    assert row == same and row["params"] is None and row["ip_address"] == "203.0.113.9"


def test_a_capture_with_decisions_or_parameters_keeps_them():
    """What a row records is still taken: the decisions and the parameters stay in the capture (a guard:
    it held them before too)."""
    ctx = _ctx(params=[["query", "q", "text:1"]])
    ctx.add(Decision(Action.RECORD, "anomaly", reason="grey", reasons=["grey:x"]))
    captured = capture_log_row(ctx, 200, 1.0)
    gc.collect()
    assert gc.is_tracked(captured)
    row = build_log_row(captured)
    assert row["params"] == [["query", "q", "text:1"]] and row["details"]["decisions"][0]["reason"] == "grey"


@pytest.mark.django_db
def test_served_benign_requests_leave_nothing_tracked_in_the_log_queue(browser, flush_logs):
    """The whole stack: the rows waiting for the writer are no work for the collector."""
    flush_logs()
    for i in range(5):
        assert browser.get(f"/page/{i}").status_code == 200
    queue = logwriter.get_writer().queue
    assert len(queue) == 5
    gc.collect()
    assert [gc.is_tracked(row) for row in queue] == [False] * 5
    flush_logs()
