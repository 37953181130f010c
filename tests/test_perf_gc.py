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
import random
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


def _past_grace_decision(model: bool = False) -> Decision:
    """What the detector records on every request of a client past its grace period."""
    details = {"rule_score": 1, "rules": ["unauthenticated"]}
    if model:
        details.update(model_score=0.4123, model_threshold=0.61, model_version="v20261207")
    return Decision(Action.ALLOW, "anomaly", reasons=["grey:unauthenticated"], details=details)


@pytest.mark.parametrize("model", [False, True])
def test_a_past_grace_clients_capture_is_untracked_by_its_second_collection(model):
    """A client past its grace period has a decision on every request, and a request with a query string
    its parameters.  The capture holds both as plain values, one level deep: the collector untracks
    the inner tuples at their first collection and the capture at its second, so a queued row never
    reaches the old generation (a Decision, or the parameters' lists of lists, kept it tracked for as
    long as it waited)."""
    params = [["query", "page", "int:1"], ["query", "q", "text:3"], ["form", "x\x1f", ""]]
    ctx = _ctx(params=[list(p) for p in params])
    ctx.add(_past_grace_decision(model))
    captured = capture_log_row(ctx, 200, 1.0)
    gc.collect()
    gc.collect()
    assert not gc.is_tracked(captured)
    row = build_log_row(captured)
    assert row["params"] == params
    entry = row["details"]["decisions"][0]
    assert entry["reasons"] == ["grey:unauthenticated"] and entry["rules"] == ["unauthenticated"]
    assert entry["action"] == "allow" and entry["component"] == "anomaly"


class _LazyPairs:
    """Stands for the model's lazy ``top_features`` (worked out by the writer)."""

    def __init__(self, pairs):
        self.pairs = pairs

    def __iter__(self):
        return iter(self.pairs)


def test_the_row_records_every_decision_as_it_was_made():
    """Fuzzed decisions — texts holding the separators, empty lists, a list of one empty text,
    numbers in lists, nested dicts, lazy pairs — come out of the row as the decisions were: the
    fields, the details, the headline and the refusal."""
    from smartlayer.dbtext import db_json
    from smartlayer.request.context import decision_details

    rng = random.Random(7)
    texts = ["", "a", "grey:x", "\x1e", "\x1f", "b\x1fc", "\x1eab", "é", "x\x00y"]
    values = [lambda: rng.choice(texts), lambda: rng.randint(-3, 3), lambda: 0.25, lambda: None, lambda: True,
              lambda: [rng.choice(texts) for _ in range(rng.randint(0, 3))], lambda: [1, "a"],
              lambda: {"verdict": "BLOCK", "confidence": 90}, lambda: _LazyPairs([("f", 0.5)]),
              lambda: _LazyPairs([])]
    actions = list(Action)
    for _ in range(400):
        ctx = _ctx()
        made = []
        for _ in range(rng.randint(1, 3)):
            details = {f"k{i}": rng.choice(values)() for i in range(rng.randint(0, 4))}
            if rng.random() < 0.3:
                details["top_features"] = rng.choice(values[-2:])()
            d = Decision(rng.choice(actions), rng.choice(["anomaly", "validator", "x\x1f"]),
                         reason=rng.choice(texts), reasons=[rng.choice(texts) for _ in range(rng.randint(0, 3))],
                         details=details, monitor=rng.random() < 0.3)
            ctx.add(d)
            made.append(d)
        if not ctx.decisions:
            continue
        row = build_log_row(capture_log_row(ctx, 200, 1.0))
        expected = [db_json({"component": d.component, "action": d.action.value, "reason": d.reason,
                             "reasons": d.reasons, "monitor": d.monitor, **decision_details(d.details)})
                    for d in ctx.decisions]
        assert row["details"]["decisions"] == expected
        head = ctx.headline()
        assert row["action"] == head.action.value and row["was_blocked"] == (ctx.refused_by is not None)
        assert row["blocked_by"] == (head.component if head.refuses else "")
        assert row["monitor_only"] == (head.refuses and head.monitor)
