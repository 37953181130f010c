"""The request log written from generated traffic and the profile's rows key clients as the middleware does.

Live, the detector judges a cookie's first request from an address as the address (only a cookie
the address has used before makes its client one of its own) and the request log records the key
judged.  The generated request log (``write_requestlog``) and the site profile's rows from records
(``rows_from_records``) filed every cookie request under its person, so the profile and a model
trained from the generated log counted clients a live site's log never holds.  These tests drive
the real detector over an office's traffic and ask both for the keys it judged, request by request.
"""
from __future__ import annotations

import pytest

from smartlayer.profile.learn import LOG_FIELDS, learn_profile, rows_from_log, rows_from_records
from smartlayer.request.client import ip_key
from tests.test_training_cookie_keys import OFFICE, office_records


def judged_keys(recs: list) -> list[str]:
    """The key the detector judged each request as, in order."""
    from smartlayer.detectors.behaviour.detector import Detector
    from smartlayer.request.client import Client, cookie_hash
    from smartlayer.request.context import RequestContext
    from smartlayer.state.ban_backends import MemoryBans
    from smartlayer.state.windows.window import LocalWindowStore

    det = Detector(LocalWindowStore(max_clients=1000), MemoryBans(), use_llm=False, model=None)
    keys = []
    for r in recs:
        client = Client(key=ip_key(r.ip), ip=r.ip, user_id=None, authenticated=False,
                        cookie=cookie_hash(r.cookie) if r.cookie else None)
        ctx = RequestContext(client=client, method=r.method, path=r.path, user_agent=r.user_agent,
                             started=float(r.ts), t0=0.0)
        det.inspect(ctx, float(r.ts), monitor=True)
        det.record_outcome(ctx, r.status, r.response_ms, False, now=float(r.ts))
        keys.append(ctx.client.key)
    return keys


def test_profile_rows_from_records_are_keyed_as_the_detector_judged():
    recs = office_records()
    served = judged_keys(recs)
    # the office's colleagues' first requests are the address's, as served
    assert sum(k == ip_key(OFFICE) for k in served) == 8 + 6
    assert [row.client for row in rows_from_records(recs)] == served


@pytest.mark.django_db
def test_the_generated_request_log_holds_the_keys_judged_and_learns_the_same_profile():
    from smartlayer.models import RequestLog
    from smartlayer.sim.requestlog import write_requestlog

    recs = office_records()
    served = judged_keys(recs)
    assert write_requestlog(recs) == len(recs)
    rows = list(RequestLog.objects.order_by("timestamp", "pk").values(*LOG_FIELDS))
    assert [r["client_key"] for r in rows] == served
    from_log = learn_profile(lambda: rows_from_log(rows), min_clients=1)
    from_records = learn_profile(lambda: rows_from_records(recs), min_clients=1)
    assert from_log["endpoints"] == from_records["endpoints"]
