"""What a repeated attack string and a form part sent again cost, counted in work, and that they find the same.

A scanner sends the same probe request after request: a short text found
holding something, met a second time, is kept with its patterns, where they
match and the hits made of them (:data:`.held._HELD`); a form part the
scan remembered clean keeps its parameter shapes (:data:`.params._PARTS`).
Each saving is counted (engine passes, hits built, shapes computed) and each
is checked to leave the verdict — score, hits in full, excerpt — and the
parameter shapes as they are; a string sent once fills no memory.
"""
from __future__ import annotations

import random
from urllib.parse import urlencode

import pytest

from smartlayer.detectors.payload import held, scan_request
from smartlayer.detectors.payload import scan as payload
from smartlayer.profile import params as param_shapes
from smartlayer.profile import shapes
from tests.helpers import FORM, spy_engine_matches
from tests.helpers import review_request as _request

PROBE = "test' AND 8705=9360 AND 'rbaE'='rbaE"


def _full(result):
    """Everything a scan says, each hit in full (signature, family, level, weight, location, excerpt)."""
    return (result.score, result.hits, result.details, result.excerpt, result.truncated, result.skipped,
            result.params)


@pytest.fixture
def fresh(monkeypatch):
    """Every memory of the scan empty, so that what a test counts starts from nothing remembered."""
    monkeypatch.setattr(payload, "_CLEAN", {})
    monkeypatch.setattr(held, "_HELD", {})
    monkeypatch.setattr(held, "_MET", set())
    monkeypatch.setattr(param_shapes, "_PARTS", {})


@pytest.fixture
def counted(monkeypatch, fresh):
    """Engine passes, hits built and value shapes computed, per kind."""
    counts = {"passes": 0, "hits": 0, "shapes": 0}
    spy_engine_matches(monkeypatch, lambda text, filtered: counts.__setitem__("passes", counts["passes"] + 1))
    hit, shape = payload.Hit, shapes._shape

    def built(*args, **kwargs):
        counts["hits"] += 1
        return hit(*args, **kwargs)

    def shaped(value):
        counts["shapes"] += 1
        return shape(value)

    monkeypatch.setattr(payload, "Hit", built)
    monkeypatch.setattr(shapes, "_shape", shaped)
    return counts


def test_a_probe_sent_again_is_not_matched_nor_located_again(counted):
    query = {"q": PROBE, "page": "2", "sort": "price_asc"}
    results = []
    for _ in range(3):
        for key in counted:
            counted[key] = 0
        results.append(scan_request(_request(query)))
    assert results[0].score >= 3 and len(results[0].details) >= 3
    assert _full(results[0]) == _full(results[1]) == _full(results[2])
    # the third request: the query's pass alone (its other pairs are known clean), the probe's patterns,
    # where they match and its hits read from memory — no second pass, no hit built
    assert counted["passes"] == 1
    assert counted["hits"] == 0


def test_a_string_sent_once_fills_no_memory(fresh):
    """A scanner sending ever new probes: nothing kept but a hash each (bounded), every verdict as before."""
    for i in range(40):
        result = scan_request(_request({"q": f"{PROBE} -- {i}", "page": "2"}))
        assert result.score >= 3
    assert held._HELD == {}
    assert 0 < len(held._MET) <= held._MET_MAX


def test_the_memory_of_attack_strings_is_bounded(fresh, monkeypatch):
    monkeypatch.setattr(held, "_HELD_MAX", 4)
    for i in range(12):
        for _ in range(2):
            scan_request(_request({"q": f"{PROBE} -- {i}"}))
    assert 0 < len(held._HELD) <= 4


def test_a_form_sent_again_has_its_shapes_read_from_memory(counted):
    # the first request finds the form clean, the second finds it remembered (and keeps its shapes)
    first = scan_request(_request({"q": "shoes", "page": "2"}))
    scan_request(_request({"q": "shoes", "page": "2"}))
    counted["shapes"] = 0
    again = scan_request(_request({"q": "shoes", "page": "2"}))
    assert counted["shapes"] == 0          # the 880-character comment's shape is not computed again
    assert again.params == first.params == param_shapes.request_params(
        urlencode({"q": "shoes", "page": "2"}), urlencode(FORM).encode(), "application/x-www-form-urlencoded")


def test_shapes_of_a_remembered_part_leave_room_as_before(fresh):
    """A part's remembered rows fill only what MAX_PARAMS leaves, as reading it did."""
    query = {f"q{i}": str(i) for i in range(shapes.MAX_PARAMS - 2)}
    for _ in range(3):
        result = scan_request(_request(query))
    assert result.params == param_shapes.request_params(urlencode(query), urlencode(FORM).encode(),
                                                  "application/x-www-form-urlencoded")
    assert len(result.params) == shapes.MAX_PARAMS


@pytest.mark.parametrize("seed", range(4))
def test_the_memories_never_change_a_result(seed, monkeypatch):
    """Requests mixing benign and attacking values (repeated often), each scanned with the memories built
    by those before it and with none: the same score, hits in full, excerpt and shapes."""
    rng = random.Random(seed)
    values = ["2", "price_asc", "dark blue", "O'Reilly", "a+b=c", "/account?tab=2", PROBE,
              "' or 1=1--", "<script>alert(1)</script>", "../../etc/passwd", "; cat /etc/passwd",
              "union/**/select", "1 AND 8705=9360", "%27 or %271%27=%271", "x' or sleep(5)#"]
    memories = ({}, {}, set(), {})
    for _ in range(40):
        query = {f"p{i}": rng.choice(values) for i in range(rng.randint(1, 5))}
        form = dict(FORM, **{f"f{i}": rng.choice(values) for i in range(rng.randint(0, 3))})
        for name, (module, attr) in enumerate(((payload, "_CLEAN"), (held, "_HELD"), (held, "_MET"),
                                               (param_shapes, "_PARTS"))):
            monkeypatch.setattr(module, attr, memories[name])
        with_memory = scan_request(_request(query, form))
        monkeypatch.setattr(payload, "_CLEAN", {})
        monkeypatch.setattr(held, "_HELD", {})
        monkeypatch.setattr(held, "_MET", set())
        monkeypatch.setattr(param_shapes, "_PARTS", {})
        without = scan_request(_request(query, form))
        assert _full(with_memory) == _full(without), (query, form)
