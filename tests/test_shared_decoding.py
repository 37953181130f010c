"""One decoding per request: the profile's parameter shapes read the form parts the payload scan decoded.

The scan decodes a query string or an urlencoded body whole; the shapes of
its parameters must be exactly those of decoding each pair on its own,
whatever the request holds: escapes of ``&`` or ``=``, invalid or overlong
UTF-8, non-ASCII text, a ``%`` that is no escape, empty pairs, values past
what the shapes look at.
"""
from __future__ import annotations

import random

import pytest
from django.test import RequestFactory

from smartlayer.detectors.payload import scan as payload
from smartlayer.detectors.payload.scan import scan_request
from smartlayer.profile import params as param_shapes
from smartlayer.profile.params import request_params

FORM = "application/x-www-form-urlencoded"
PIECES = ["a", "Jane", "O%27Reilly", "+", "%20", "%26", "%3D", "%3d", "=", "&", "%2B", "%C3%A9", "%c0%af",
          "%E2%82", "%ZZ", "%", "%4", "caf\u00e9", "%00", "%0a", "0x41", "%252e", "..%2f", "%u0041", "\\", "12",
          "2024-01-31", "jane%40example.co.uk", "&&", "=="]


#: What ordinary forms hold: parts made of these alone are decoded whole by the scan.
PLAIN = ["a", "Jane", "O%27Reilly", "+", "%20", "%3D", "%3d", "=", "%2B", "12", "jane%40example.co.uk", "%2Fa%3Fb"]


def _random_part(rng: random.Random) -> str:
    pairs = []
    pieces = PLAIN if rng.random() < 0.6 else PIECES
    for _ in range(rng.randint(0, 8)):
        name = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 3)))
        value = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 6)))
        pairs.append(f"{name}={value}" if rng.random() < 0.9 else name)
    return "&".join(pairs)


def _request(query: str, body: str):
    return RequestFactory().post("/f?" + query, data=body.encode("utf-8"), content_type=FORM)


def test_the_shapes_read_from_the_scans_decoding_are_each_pairs_own():
    rng = random.Random(13)
    for _ in range(600):
        query, body = _random_part(rng), _random_part(rng)
        request = _request(query, body)
        result = scan_request(request)
        raw_query = request.META["QUERY_STRING"]           # as a WSGI server hands it: UTF-8 read as latin-1
        assert result.params == request_params(raw_query, body.encode("utf-8") or None, FORM), (query, body)


@pytest.mark.parametrize("query", ["a%3Db=c%3Dd&x=1", "%3d=%3d&b%3D=2", "n=O%27Reilly&next=%2Fa%3Fb%3D2", "a=b+c&&d"])
def test_escaped_equals_signs_split_where_each_pair_does(query):
    request = _request(query, query)
    assert scan_request(request).params == request_params(query, query.encode(), FORM)


@pytest.mark.parametrize("value", ["x" * 7000, "%41" * 2500, "a%26b" * 300])
def test_long_values_are_shaped_as_before(value):
    query = f"q={value}&page=2"
    result = scan_request(_request(query, f"c={value}"))
    assert result.params == request_params(query, f"c={value}".encode(), FORM)


def test_a_typical_request_decodes_its_query_and_form_once(monkeypatch):
    """The five query values and the 1 KiB form of a typical request: no pair decoded again for the shapes."""
    from tests.benchmarks.validator_cost import HEADERS, QUERY, form_body

    calls = []
    original = param_shapes._decode

    def counting(text):
        calls.append(text)
        return original(text)

    monkeypatch.setattr(param_shapes, "_decode", counting)
    monkeypatch.setattr(payload, "_CLEAN", {})
    query = "&".join(f"{k}={v.replace(' ', '+')}" for k, v in QUERY.items())
    request = RequestFactory().post("/shop/review?" + query, data=form_body(), content_type=FORM, **HEADERS)
    result = scan_request(request)
    assert result.score == 0 and calls == []
    monkeypatch.setattr(param_shapes, "_decode", original)
    assert result.params == request_params(query, form_body(), FORM)
    assert [name for _, name, _ in result.params] == [*QUERY, "name", "email", "rating", "comment", "next"]


def _splits_at_ampersand(call) -> list[str]:
    """The texts holding ``&`` that ``str.split`` was called on while ``call()`` ran (C calls seen by a profiler)."""
    import sys

    texts: list[str] = []

    def profile(frame, event, arg):
        if event == "c_call" and getattr(arg, "__name__", "") == "split":
            owner = getattr(arg, "__self__", None)
            if isinstance(owner, str) and "&" in owner:
                texts.append(owner)

    sys.setprofile(profile)
    try:
        call()
    finally:
        sys.setprofile(None)
    return texts


def test_a_typical_request_splits_its_query_and_form_into_pairs_once(monkeypatch):
    """The scan splits each decoded form part into its pairs once, and the shapes read those pairs: a query
    string and a 1 KiB form body are not split again (in any letter case) for the parameter shapes."""
    from tests.benchmarks.validator_cost import HEADERS, QUERY, form_body

    monkeypatch.setattr(payload, "_CLEAN", {})
    query = "&".join(f"{k}={v.replace(' ', '+')}" for k, v in QUERY.items())
    request = RequestFactory().post("/shop/review?" + query, data=form_body(), content_type=FORM, **HEADERS)
    results = []
    texts = _splits_at_ampersand(lambda: results.append(scan_request(request)))
    assert results[0].score == 0
    assert results[0].params == request_params(query, form_body(), FORM)
    parts = [t for t in texts if len(t) >= len(query)]    # the query string and the form body, however spelt
    assert len(parts) == 2, texts     # one split of each decoded part (the body's "%3D" is in a value)
    assert sum("running shoes" in t.lower() for t in parts) == 1, texts


@pytest.mark.parametrize(("text", "expected"), [
    ("a%3Db=c", True), ("%3d=1", True), ("x=1&b%3D=2", True), ("x=%3D&y%3d", True), ("n=a%3Db%3D2&m=%3F", False),
    ("a=b%3Dc&d=%3d", False), ("%3F=1", False), ("a%3", False), ("", False), ("a=1&&%3D", True)])
def test_an_escaped_equals_sign_is_found_in_names_only(text, expected):
    assert param_shapes._escaped_equals_in_name(text) is expected
    names = ["%3d" in pair.partition("=")[0].lower() for pair in text.split("&")]
    assert any(names) is expected         # what splitting the text and looking at each name says
