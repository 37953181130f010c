"""What a request sent again costs: the hits of a probe met before, the cookies, the first pass of many fields.

* a short attacking text met twice keeps its hits by location (:data:`.held._HELD`): they are credited
  in one loop (:meth:`.evidence.Evidence.credit`), not one ``_hit`` call each, with the same result;
* a request's cookie values, found clean twice, are remembered together (:meth:`.parts.PartReader.cookies`):
  sent again they are not read value by value; values holding anything, or not all read, never are;
* a body of many fields is first matched just past the set's share (:data:`.matching._FIRST_FLUSH_CHARS`).
"""
from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.test import RequestFactory

import smartlayer.detectors.payload.scan as payload
from smartlayer.detectors.payload import evidence, held
from smartlayer.detectors.payload.engine import SET_CHARS
from smartlayer.detectors.payload.scan import scan_parts, scan_request
from tests.helpers import FORM, HEADERS, spy_engine_matches

PROBE = "test' AND 8705=9360 AND 'rbaE'='rbaE"
COOKIES = "sessionid=k2j9d0s7a6q5w4e3; csrftoken=Qm9vZGxlMTIzNDU2Nzg5; theme=dark"


@pytest.fixture(autouse=True)
def memories(monkeypatch):
    """Every memory of the scan empty, so that what a test counts starts from nothing remembered."""
    monkeypatch.setattr(payload, "_CLEAN", {})
    monkeypatch.setattr(payload, "_CLEAN_LONG", [])
    monkeypatch.setattr(held, "_HELD", {})
    monkeypatch.setattr(held, "_MET", set())
    monkeypatch.setattr(held, "_COOKIES_MET", set())


def _request(query: dict, cookie: str = COOKIES):
    return RequestFactory().post("/shop/review?" + urlencode(query), data=urlencode(FORM).encode(),
                                 content_type="application/x-www-form-urlencoded",
                                 **dict(HEADERS, HTTP_COOKIE=cookie))


def _verdict(result):
    return result.score, result.hits, result.details, result.excerpt, result.truncated, result.skipped


def _counting(monkeypatch, owner, name):
    calls = []
    original = getattr(owner, name)

    def counted(self, *args, **kwargs):
        calls.append(args)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


def test_a_probe_met_again_credits_its_hits_without_a_call_per_hit(monkeypatch):
    query = {"q": PROBE, "page": "2", "sort": "price_asc"}
    first = scan_request(_request(query))
    scan_request(_request(query))                       # met twice: its hits are kept with it
    calls = _counting(monkeypatch, evidence.Evidence, "_hit")
    again = scan_request(_request(query))
    assert first.score >= 3 and len(first.hits) >= 4
    assert calls == []                                  # before: one call per hit
    assert _verdict(again) == _verdict(first)
    assert [hit.label for hit in again.details] == again.hits


def test_hits_credited_in_one_loop_respect_the_located_hits_cap(monkeypatch):
    """Past :data:`.matching._MAX_LOCATED` located hits a probe's hits are made without an excerpt, as before."""
    from smartlayer.detectors.payload import matching

    query = {"q": PROBE, "r": "1' or '1'='1", "s": "<script>alert(1)</script>"}
    for _ in range(3):
        scan_request(_request(query))
    remembered = scan_request(_request(query))
    monkeypatch.setattr(held, "_HELD", {})
    monkeypatch.setattr(held, "_MET", set())
    fresh = scan_request(_request(query))
    assert len(remembered.hits) > matching._MAX_LOCATED
    assert _verdict(remembered) == _verdict(fresh)


def test_cookies_sent_again_are_not_read_value_by_value(monkeypatch):
    first = scan_request(_request({"q": "shoes"}))
    assert not any(len(key) == 3 and key[2] == 3 for key in payload._CLEAN)     # met once: not yet
    scan_request(_request({"q": "shoes"}))
    texts = _counting(monkeypatch, payload._Scan, "text")
    again = scan_request(_request({"q": "shoes"}))
    assert not [args for args in texts if args[1] == "cookie"]     # before: one lookup per value
    assert _verdict(again) == _verdict(first) and again.score == 0
    assert any(len(key) == 3 and key[2] == 3 for key in payload._CLEAN)


def test_an_attacking_cookie_is_never_remembered():
    cookie = COOKIES + "; pref=1' or '1'='1"
    results = [scan_request(_request({"q": "shoes"}, cookie)) for _ in range(3)]
    assert all(r.score >= 3 and any(h.endswith("@cookie") for h in r.hits) for r in results)
    assert _verdict(results[2]) == _verdict(results[0])
    assert not any(len(key) == 3 and key[2] == 3 for key in payload._CLEAN)


def test_cookies_not_all_read_are_not_remembered():
    """A request that stops at its block before its cookies are matched says nothing of them (a guard)."""
    body = "\n".join(f"x{i} ' union select password from users -- <script>alert({i})</script>" for i in range(400))
    result = scan_parts(body=body.encode(), content_type="text/plain", cookies={"a": "1' or '1'='1", "b": "2"})
    assert result.score >= 3 and "scan:stopped_at_block" in result.skipped
    assert not any(len(key) == 3 and key[2] == 3 for key in payload._CLEAN)
    again = scan_parts(query_string="q=shoes", cookies={"a": "1' or '1'='1", "b": "2"})
    assert again.score >= 3 and any(h.endswith("@cookie") for h in again.hits)


def test_cookies_with_memory_and_without_give_the_same_verdict(monkeypatch):
    cookies = [COOKIES, COOKIES + "; x=%27%20or%201=1--", "a=1; b=<svg onload=alert(1)>", "a=1; b=2", COOKIES]
    remembered: dict = {}
    for cookie in cookies * 2:
        monkeypatch.setattr(payload, "_CLEAN", remembered)
        with_memory = scan_request(_request({"q": "shoes"}, cookie))
        monkeypatch.setattr(payload, "_CLEAN", {})
        without = scan_request(_request({"q": "shoes"}, cookie))
        assert _verdict(with_memory) == _verdict(without), cookie


def test_many_attacking_fields_are_first_matched_just_past_the_set_share(monkeypatch):
    passes = []
    spy_engine_matches(monkeypatch, lambda text, filtered: passes.append(len(text)))
    attacks = ["' union select password from users --", "<img src=x onerror=alert(1)>", "../../../../etc/passwd",
               "; cat /etc/shadow", "{{7*7}} ${7*7}", "1' or '1'='1"]
    fields = {f"f{i}": [" ".join(attacks[(i + j) % len(attacks)] + f" n{i}x{j}" for j in range(22))] for i in range(60)}
    result = scan_parts(form_fields=fields)
    assert result.score >= 3 and "scan:stopped_at_block" in result.skipped
    assert SET_CHARS < passes[0] < 4096          # before: the first pass read 4 KiB or more
