"""A scanned request's parameter shapes are worked out when read, not while the request is scanned.

On a request of values never seen before they were a third of the payload scan's cost, and on most
requests nothing on the request thread reads them: the log row does, in the writer's thread, and the
site profile only for an endpoint it knows.  Counted (calls to the pair reader), never timed; each
check also says the shapes are the ones worked out at once before.
"""
from __future__ import annotations

import gc
import time
from urllib.parse import urlencode

import pytest

from smartlayer.detectors.payload import scan_request
from smartlayer.detectors.payload.validator import decide
from smartlayer.profile import params as param_shapes
from smartlayer.profile import pending as deferral
from smartlayer.profile.core import Profile
from smartlayer.profile.learn import learn_profile
from smartlayer.request.client import Client
from smartlayer.request.context import RequestContext, build_log_row, capture_log_row
from smartlayer.state import failures
from smartlayer.state.ban_backends import MemoryBans
from tests.helpers import FORM, review_request
from tests.test_profile import _rows

QUERY = {"q": "trail running shoes 4411", "page": "2"}
FORM_TYPE = "application/x-www-form-urlencoded"


def _expected(query: dict = QUERY, form: dict = FORM) -> list[list[str]]:
    """The shapes worked out at once (as the scan did before), without a count or a memory."""
    return param_shapes.request_params(urlencode(query), urlencode(form).encode(), FORM_TYPE)


EXPECTED = _expected()


@pytest.fixture
def reads(monkeypatch):
    """Every reading of a form part's pairs for their shapes (its location), with no memory of parts."""
    monkeypatch.setattr(param_shapes, "_PARTS", {})
    calls: list[str] = []
    real = param_shapes._read_pairs

    def reading(text, where, *args, **kwargs):
        calls.append(where)
        return real(text, where, *args, **kwargs)

    monkeypatch.setattr(param_shapes, "_read_pairs", reading)
    return calls


def _ctx(path: str = "/shop/review", method: str = "POST") -> RequestContext:
    client = Client(key="ip:198.51.100.9", ip="198.51.100.9", user_id=None, authenticated=False)
    return RequestContext(client=client, method=method, path=path, user_agent="UA", started=time.time(), t0=0.0)


def test_the_scan_leaves_the_shapes_until_they_are_read(reads):
    result = scan_request(review_request(QUERY))
    assert reads == []                                   # scanned: no pair read for its shape
    assert result.params == EXPECTED                  # read: the shapes worked out at once before
    assert reads == ["q", "f"]
    assert result.params == EXPECTED and reads == ["q", "f"]   # once


def test_the_log_writer_works_them_out_from_plain_values(reads):
    """The queued capture holds the query string, body and content type (no scan, no decoded pairs):
    the collector untracks it, as a capture with the parameters' flat tuple (tests/test_perf_gc.py)."""
    ctx = _ctx()
    ctx.params = scan_request(review_request(QUERY)).shapes
    captured = capture_log_row(ctx, 200, 1.0)
    gc.collect()
    gc.collect()
    assert not gc.is_tracked(captured) and reads == []
    row = build_log_row(captured, deferral.held_params)          # the writer's thread
    assert row["params"] == EXPECTED and reads == ["q", "f"]


def test_shapes_read_on_the_request_thread_are_not_worked_out_again(reads):
    ctx = _ctx()
    pending = ctx.params = scan_request(review_request(QUERY)).shapes
    assert pending.get() == EXPECTED and reads == ["q", "f"]
    row = build_log_row(capture_log_row(ctx, 200, 1.0), deferral.held_params)
    assert row["params"] == EXPECTED and reads == ["q", "f"]


@pytest.mark.django_db
def test_served_the_row_records_the_shapes_none_read_on_the_request_thread(browser, flush_logs, reads):
    from smartlayer.models import RequestLog

    flush_logs()
    reads.clear()
    response = browser.post("/page/review?" + urlencode(QUERY), data=urlencode(FORM),
                            content_type=FORM_TYPE)
    assert response.status_code == 200 and reads == []
    flush_logs()
    row = RequestLog.objects.get(path="/page/review")
    assert row.params == EXPECTED and reads == ["q", "f"]


def test_a_long_request_has_its_shapes_worked_out_at_once(reads):
    """A queued row must not hold a large body: past PENDING_CHARS the scan works the shapes out."""
    form = dict(FORM, comment="x" * deferral.PENDING_CHARS)
    expected = _expected(QUERY, form)
    reads.clear()
    result = scan_request(review_request(QUERY, form))
    assert result.shapes.__class__ is list and reads == ["q", "f"]
    assert result.params == expected


@pytest.fixture(scope="module")
def profile():
    return Profile(learn_profile(_rows(beacons=12), resolver=False, min_clients=3, min_support=30), "v1")


def test_the_profile_reads_them_for_an_endpoint_it_knows_only(reads, profile):
    """Tampering is still named (the shapes worked out then); an unknown path needs none."""
    tampered = scan_request(review_request({}, {"product_id": "2AND 1=1", "quantity": "1"}))
    ctx = _ctx("/cart/add/")
    ctx.params = tampered.shapes
    decision = decide(ctx, tampered, bans=MemoryBans(), now=time.time(), use_llm=False, profile=profile)
    assert decision is not None and "param:shape" in decision.reasons and reads == ["f"]
    reads.clear()
    unknown = scan_request(review_request(QUERY))
    ctx = _ctx("/nowhere/known/")
    ctx.params = unknown.shapes
    decision = decide(ctx, unknown, bans=MemoryBans(), now=time.time(), use_llm=False, profile=profile)
    assert decision is not None and decision.reasons == ["path:unknown"] and reads == []


def test_a_failure_costs_the_parameters_not_the_request(monkeypatch):
    def broken(*args):
        raise ValueError("boom")

    pending = scan_request(review_request(QUERY)).shapes
    monkeypatch.setattr(deferral, "request_params", broken)
    before = failures.metrics["failure.payload_scan"]
    assert pending.get() is None and pending.held() is None
    assert failures.metrics["failure.payload_scan"] == before + 1


def test_the_writers_reading_is_the_scans_on_random_form_parts():
    """What the writer works out from the held values (no decoded pairs, the remembered parts as two
    flags) equals what the scan's own decoding gives, for random parts each sent twice (the second
    time remembered, clean or decoded)."""
    import random

    from tests.test_shared_decoding import _random_part
    from tests.test_shared_decoding import _request as form_request

    rng = random.Random(17)
    for _ in range(300):
        query, body = _random_part(rng), _random_part(rng)
        for _again in range(2):
            pending = scan_request(form_request(query, body)).shapes
            if pending.__class__ is list:
                continue
            held = pending.held()
            assert deferral.held_params(*held) == pending.get(), (query, body)
