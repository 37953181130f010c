"""The request path's shortcuts give what the definitions they replace give.

* a log row's decisions are cleaned field by field: the same value as ``db_json`` of the
  whole, as the row was built before (dirty texts, tuples, non-string keys, nested values);
* the client's address text is remembered with its parse: the same as ``str()`` of the parse.
"""
from __future__ import annotations

import math
import time

import pytest

from smartlayer.dbtext import REPLACEMENT as R
from smartlayer.dbtext import db_json
from smartlayer.request.client import Client, address_text, parse_ip, resolve_ip
from smartlayer.request.context import RequestContext, log_row
from smartlayer.request.decision import Action, Decision

DECISIONS = [
    Decision(Action.RECORD, "anomaly", reason="grey:suspicion", reasons=["grey:elevated_rate", "grey:unauthenticated"],
             details={"rule_score": 4, "rules": ["elevated_rate", "unauthenticated"], "score": 4}),
    Decision(Action.BLOCK, "validator", reason="payload:\x00null\ud800", reasons=("null\x00", "\udcff"),
             details={"excerpt\x00": "a\x00b\ud800", "n": [1, "\x00", (2, "é")], 3: math.nan, "f": 0.25}),
    Decision(Action.ALLOW, "ratelimit", reasons=["quota"], details={}),
    # a detail named like a field of the entry replaces it, as ``{..., **details}`` did
    Decision(Action.THROTTLE, "ratelimit", reason="quota:minute", details={"reason": "overridden", "monitor": 1}),
    Decision(Action.DENY, "comp\x00onent", reason="café", monitor=True),
]


def _old_details(decisions: list[Decision]) -> dict:
    """The row's details as log_row built them before: db_json over the whole."""
    return db_json({"decisions": [{"component": d.component, "action": d.action.value, "reason": d.reason,
                                   "reasons": d.reasons, "monitor": d.monitor, **d.details} for d in decisions]})


@pytest.mark.parametrize("count", [1, 2, len(DECISIONS)])
def test_log_row_details_equal_db_json_of_the_whole(count):
    client = Client(key="ip:203.0.113.9", ip="203.0.113.9", user_id=None, authenticated=False)
    ctx = RequestContext(client=client, method="GET", path="/p", user_agent="UA", started=time.time(),
                         t0=time.perf_counter())
    ctx.decisions.extend(DECISIONS[:count])
    details = log_row(ctx, 200, 1.0)["details"]
    assert details == _old_details(DECISIONS[:count])
    # same types too (a tuple made a list, NaN made None), not only equal values
    assert repr(details) == repr(_old_details(DECISIONS[:count]))
    entry = details["decisions"][1] if count > 1 else None
    if entry is not None:
        assert entry["reason"] == f"payload:{R}null{R}" and entry["reasons"] == [f"null{R}", R]
        assert entry[f"excerpt{R}"] == f"a{R}b{R}" and entry[3] is None


@pytest.mark.parametrize("value", ["198.51.100.7", "198.51.100.7:5678", "[2001:db8::1]:443", "2001:DB8:0::1",
                                   "::ffff:192.0.2.1", "fe80::1%eth0", " 10.0.0.1 ", "", None, "garbage",
                                   "999.1.1.1", "x" * 80])
def test_address_text_is_the_text_of_the_parse(value):
    parsed = parse_ip(value)
    assert address_text(value) == (str(parsed) if parsed else None)
    assert resolve_ip({"REMOTE_ADDR": value}) == (str(parsed) if parsed else None)
