"""What a request made of texts seen before costs the payload scan, counted in work, and that it finds the same.

A form posted again (up to :data:`.parts.FORM_MEMORY_CHARS`) is remembered
clean with its decoded pairs; the fields of an attacking request that are
clean when matched alone are remembered as a clean pass would remember them.
Each saving is shown by counting engine passes, and each is checked to leave
the verdict (score, hits, excerpt) and the parameter shapes as they are.
"""
from __future__ import annotations

import random
from urllib.parse import urlencode

import pytest

from smartlayer.detectors.payload import held, scan_request
from smartlayer.detectors.payload import scan as payload
from smartlayer.detectors.payload.parts import CLEAN_TEXT_CHARS, FORM_MEMORY_CHARS
from smartlayer.profile import params as param_shapes
from tests.helpers import FORM, HEADERS, spy_engine_matches
from tests.helpers import review_request as _request


@pytest.fixture
def passes(monkeypatch):
    """The characters of every whole-engine pass (set or prefilter), with a memory of clean texts of its own
    (and of attacking texts: :data:`.held._HELD`, :data:`.held._MET`)."""
    calls: list[int] = []
    monkeypatch.setattr(payload, "_CLEAN", {})
    monkeypatch.setattr(held, "_HELD", {})
    monkeypatch.setattr(held, "_MET", set())
    spy_engine_matches(monkeypatch, lambda text, filtered: calls.append(len(text)))
    return calls


def _verdict(result):
    return result.score, sorted(result.hits), result.excerpt, result.truncated, result.params


def test_a_form_posted_again_costs_no_pass_over_its_body(passes):
    body = urlencode(FORM)
    assert CLEAN_TEXT_CHARS < len(body) <= FORM_MEMORY_CHARS and "%" in body
    first = scan_request(_request({"q": "shoes"}))
    assert max(passes) > 800                         # the body's pairs decoded, a line each: one pass
    passes.clear()
    again = scan_request(_request({"q": "shoes"}))
    assert passes == []                              # nothing new: no pass at all
    assert _verdict(again) == _verdict(first) and again.score == 0


def test_a_form_posted_again_gives_the_shapes_of_its_own_decoding(passes):
    query = {"q": "a=b", "n": "2"}
    form = dict(FORM, next="/a?b%3Dc=d", note="x=1&y=2")      # escaped "=" and "&" in values
    first = scan_request(_request(query, form)).params
    again = scan_request(_request(query, form)).params
    assert again == first == param_shapes.request_params(urlencode(query), urlencode(form).encode(),
                                                   "application/x-www-form-urlencoded")


def test_a_changed_form_is_matched_again(passes):
    scan_request(_request({"q": "shoes"}))
    passes.clear()
    attack = dict(FORM, comment=FORM["comment"] + " ' union select password from users--")
    result = scan_request(_request({"q": "shoes"}, attack))
    assert result.score >= 3 and passes


def test_the_clean_fields_of_an_attacking_request_are_not_matched_again_on_the_next(passes):
    query = {"q": "test' AND 8705=9360 AND 'rbaE'='rbaE", "page": "2", "sort": "price_asc", "colour": "dark blue"}
    first = scan_request(_request(query))
    count_first = len(passes)
    passes.clear()
    again = scan_request(_request(query))
    assert _verdict(again) == _verdict(first) and again.score >= 3
    # the first request matched the attacking pair and each clean pair and cookie alone; the second, the
    # attacking pair's pass and the attacking pair alone (the form is remembered since the first)
    assert len(passes) < count_first
    assert len(passes) == 2


@pytest.mark.parametrize("seed", range(4))
def test_remembering_never_changes_a_verdict(seed, monkeypatch):
    """Requests mixing benign and attacking values, each scanned with the memory built by those before it
    and with none: the same score, hits, excerpt and shapes."""
    rng = random.Random(seed)
    values = ["2", "price_asc", "dark blue", "trail running shoes", "O'Reilly", "a+b=c", "/account?tab=2",
              "' or 1=1--", "<script>alert(1)</script>", "../../etc/passwd", "; cat /etc/passwd",
              "union/**/select", "1 AND 8705=9360", "%27 or %271%27=%271"]
    remembered: dict = {}
    for _ in range(30):
        query = {f"p{i}": rng.choice(values) for i in range(rng.randint(1, 5))}
        form = dict(FORM, **{f"f{i}": rng.choice(values) for i in range(rng.randint(0, 3))})
        monkeypatch.setattr(payload, "_CLEAN", remembered)
        with_memory = scan_request(_request(query, form))
        monkeypatch.setattr(payload, "_CLEAN", {})
        without = scan_request(_request(query, form))
        assert _verdict(with_memory) == _verdict(without), (query, form)


def test_past_their_share_long_forms_alone_are_forgotten(passes, monkeypatch):
    """A client posting ever new forms: the oldest forms are forgotten, the headers and short values are not."""
    monkeypatch.setattr(payload, "_CLEAN_LONG_MAX", 3)
    monkeypatch.setattr(payload, "_CLEAN_LONG", [])
    for i in range(5):
        scan_request(_request({"q": "shoes"}, dict(FORM, comment=f"{i} " + FORM["comment"])))
    memory = payload._CLEAN
    forms = [key for key in memory if len(key) == 3 and key[2] == 2 and len(key[1]) > CLEAN_TEXT_CHARS]
    assert len(forms) <= 3
    assert any(key[1] == HEADERS["HTTP_USER_AGENT"] for key in memory if len(key) == 3)
    passes.clear()
    scan_request(_request({"q": "shoes"}, dict(FORM, comment="4 " + FORM["comment"])))   # the newest: remembered
    assert passes == []
