"""What a repeated attacking form part and an attacking request's hits cost the payload scan, counted in work.

An attacking query string (a scanner's probe in ``q``, sent request after
request) is never remembered clean, so it was unquoted, checked, split, lowered
and its parameter shapes read again on every request; a part decoded whole and
met twice now keeps its decoding (:data:`.held._FORMS`) and its shapes.  A hit
was a frozen dataclass, each field set through ``object.__setattr__``.  Each
saving is counted (decodings, pair readings, C calls) and each is checked to
leave the verdict — score, hits in full, excerpt, skipped — and the shapes as
they are.
"""
from __future__ import annotations

import random
import sys
from urllib.parse import urlencode

import pytest

from smartlayer.detectors.payload import held, parts, scan_parts, scan_request
from smartlayer.detectors.payload import scan as payload
from smartlayer.detectors.payload.result import Hit
from smartlayer.profile import params as param_shapes
from tests.helpers import FORM
from tests.helpers import review_request as _request

PROBE = "test' AND 8705=9360 AND 'rbaE'='rbaE"
QUERY = {"q": PROBE, "page": "2", "sort": "price_asc", "colour": "dark blue"}


def _full(result):
    details = [(h.signature, h.family, h.paranoia, h.weight, h.location, h.excerpt) for h in result.details]
    return result.score, result.hits, details, result.excerpt, result.truncated, result.skipped, result.params


@pytest.fixture
def fresh(monkeypatch):
    """Every memory of the scan empty."""
    monkeypatch.setattr(payload, "_CLEAN", {})
    monkeypatch.setattr(held, "_HELD", {})
    monkeypatch.setattr(held, "_MET", set())
    monkeypatch.setattr(held, "_FORMS", {}, raising=False)
    monkeypatch.setattr(held, "_FORMS_MET", set(), raising=False)
    monkeypatch.setattr(param_shapes, "_PARTS", {})


@pytest.fixture
def counted(monkeypatch, fresh):
    """Form parts unquoted whole and pairs read for their shapes, by text and by where."""
    counts: dict[str, list[str]] = {"unquoted": [], "read": []}
    unquote, read = parts._unquote, param_shapes._read_pairs

    def unquoting(text):
        counts["unquoted"].append(text)
        return unquote(text)

    def reading(text, where, *args, **kwargs):
        counts["read"].append(where)
        return read(text, where, *args, **kwargs)

    monkeypatch.setattr(parts, "_unquote", unquoting)
    monkeypatch.setattr(param_shapes, "_read_pairs", reading)
    return counts


def test_an_attacking_query_sent_again_is_neither_decoded_nor_its_shapes_read_again(counted):
    query = urlencode(QUERY)
    assert "%27" in query
    results = []
    for _ in range(3):
        for kept in counted.values():
            kept.clear()
        results.append(scan_request(_request(QUERY)))
        _ = results[-1].params   # read when the request is done, as the log writer reads them, in order
    assert results[0].score >= 3
    assert _full(results[0]) == _full(results[1]) == _full(results[2])
    # the third request: the form is remembered clean since the first, the query's decoding since the second
    assert query not in counted["unquoted"] and counted["unquoted"] == []
    assert "q" not in counted["read"]


def test_a_part_met_once_is_not_kept(fresh):
    """A scanner sending ever new probes: a hash each (bounded), no decoding kept."""
    for i in range(20):
        scan_request(_request(dict(QUERY, q=f"{PROBE} -- {i}")))
    assert held._FORMS == {}
    assert 20 <= len(held._FORMS_MET) <= held._MET_MAX
    scan_request(_request(dict(QUERY, q=f"{PROBE} -- 3")))              # met twice now
    assert list(held._FORMS) == [urlencode(dict(QUERY, q=f"{PROBE} -- 3"))]


def test_the_kept_decodings_are_bounded(fresh, monkeypatch):
    monkeypatch.setattr(held, "_FORMS_MAX", 4)
    for i in range(10):
        for _ in range(2):
            scan_parts(query_string=urlencode({"q": f"{PROBE} {i}", "page": "2"}))
        assert 1 <= len(held._FORMS) <= 4


def test_a_kept_decoding_scans_as_the_part_decoded_anew(fresh, monkeypatch):
    """Requests mixing benign and attacking values, sent twice or more in random order, each scanned with
    the memories built by those before it and with no decoding kept: the same score, hits, excerpt, shapes."""
    rng = random.Random(5)
    values = ["2", "price_asc", "dark blue", "O'Reilly", "a+b=c", "/account?tab=2", "' or 1=1--",
              "<script>alert(1)</script>", "../../etc/passwd", "; cat /etc/passwd", "union/**/select",
              "1 AND 8705=9360", "%27 or %271%27=%271", "x%2e%2e/y", "a&b", "0x2e0x2e", "caf\u00e9"]
    requests = []
    for _ in range(12):
        query = {f"p{i}": rng.choice(values) for i in range(rng.randint(1, 5))}
        form = dict(FORM, **{f"f{i}": rng.choice(values) for i in range(rng.randint(0, 3))})
        requests += [(query, form)] * rng.randint(2, 4)
    rng.shuffle(requests)
    kept: dict = {}
    met: set = set()
    used = 0
    for query, form in requests:
        monkeypatch.setattr(held, "_FORMS", kept)
        monkeypatch.setattr(held, "_FORMS_MET", met)
        before = sum(1 for text in (urlencode(query), urlencode(form)) if text in kept)
        with_memory = scan_request(_request(query, form))
        used += before
        monkeypatch.setattr(held, "_FORMS", {})
        monkeypatch.setattr(held, "_FORMS_MET", set())
        monkeypatch.setattr(payload, "_CLEAN", {})
        monkeypatch.setattr(param_shapes, "_PARTS", {})
        without = scan_request(_request(query, form))
        assert _full(with_memory) == _full(without), (query, form)
    assert used > 0                       # the memory was read, not only filled


def _opcodes(build) -> int:
    """The Python bytecode instructions a call of ``build`` runs (traced), its own call included."""
    count = [0]

    def trace(frame, event, arg):
        frame.f_trace_opcodes = True
        if event == "opcode":
            count[0] += 1
        return trace

    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        build()
    finally:
        sys.settrace(previous)
    return count[0]


def test_a_hit_is_built_without_a_setattr_per_field():
    # a frozen dataclass set each of its six fields through object.__setattr__ (about seven instructions a field:
    # 60 in all on Python 3.11); a tuple is made in one call (22)
    assert _opcodes(lambda: Hit("sqli_tautology", "sqli", 1, 3, "query", "x' or 1=1")) <= 30
    hit = Hit("sqli_tautology", "sqli", 1, 3, "query", "x' or 1=1")
    assert (hit.signature, hit.family, hit.paranoia, hit.weight, hit.location, hit.excerpt, hit.label) == (
        "sqli_tautology", "sqli", 1, 3, "query", "x' or 1=1", "sqli_tautology@query")
    assert hit == Hit("sqli_tautology", "sqli", 1, 3, "query", "x' or 1=1") and hash(hit) == hash(Hit("sqli_tautology", "sqli", 1, 3, "query", "x' or 1=1"))
    assert Hit("a", "b", 1, 1, "path").excerpt == ""
    with pytest.raises(AttributeError):
        hit.excerpt = "changed"           # shared by the requests that send the same text: never changed
