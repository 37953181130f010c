"""HTML character references: only those that decode cost a Python call, the text as ``html.unescape`` makes it.

Random printable text has a ``&`` every hundred characters or so; each used to cost a Python call (the
test whether any decodes, then ``html.unescape``'s own), ~3 ms on 60 KiB.  Counted in calls, never timed.
"""
from __future__ import annotations

import html
import importlib
import random

import pytest

from smartlayer.detectors.payload.regex_safety import backtracking_risks

D = importlib.import_module("smartlayer.detectors.payload.decoders")
E = importlib.import_module("smartlayer.detectors.payload.entities")

PIECES = ["&", "&#", "&#x", "&#X", ";", "amp", "lt", "gt", "not", "notin", "notinva;", "x", "A", "1", "9", "f",
          " ", "\t", "#", "Counter", "ClockwiseContourIntegral", "&&", "nbsp", "le", "q", "é", "&amp;", "&#39;",
          "&#x3c", "&#0;", "&#99999999;", "AElig", "AMP", "LT;"]


def _composite(rng: random.Random) -> str:
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 14)))


def test_the_decodable_references_decode_as_html_unescape_does():
    rng = random.Random(11)
    decodable = E.decodable_references()
    for _ in range(20000):
        text = _composite(rng)
        assert decodable.sub(E.unescaped_reference, text) == html.unescape(text), text
    for _ in range(100):
        text = "".join(chr(rng.randint(32, 126)) for _ in range(3000))
        assert decodable.sub(E.unescaped_reference, text) == html.unescape(text)


@pytest.mark.parametrize("ampersands", [10, 200])
def test_long_texts_decode_as_html_unescape_does(ampersands):
    """Both of ``_unescape_entities``' long-text paths: few ``&`` and many, many distinct references."""
    rng = random.Random(ampersands)
    for _ in range(30):
        parts = [_composite(rng) for _ in range(ampersands)]
        text = ("x" * 3000).join(parts) if ampersands == 10 else " ".join(parts) + "y" * 3000
        assert D._unescape_entities(text) == html.unescape(text)


def test_the_pattern_passes_the_backtracking_audit():
    assert backtracking_risks(E.decodable_references().pattern) == []


def test_a_reference_that_does_not_decode_costs_no_call(monkeypatch):
    """60 KiB of random printable ASCII: a call per reference that decodes, none for the others."""
    rng = random.Random(2)
    text = "".join(chr(rng.randint(32, 126)) for _ in range(60 * 1024))
    calls: list[str] = []
    real = html.unescape
    monkeypatch.setattr(D.html, "unescape", lambda s: calls.append(s) or real(s))
    decoded = D._unescape_entities(text)
    decodable = len(E.decodable_references().findall(text))
    assert text.count("&") > 500 and len(calls) == decodable < 10
    monkeypatch.undo()
    assert decoded == html.unescape(text)


def test_short_texts_with_references_that_do_not_decode_cost_no_call(monkeypatch):
    """A JSON list's strings of 1 KiB of random printable ASCII, a dozen ``&`` each: ``html.unescape`` is called
    for the references that decode, not on each string (a call per ``&``, each trying up to 31 prefixes)."""
    rng = random.Random(5)
    texts = ["".join(chr(rng.randint(32, 126)) for _ in range(1000)) for _ in range(60)]
    calls: list[str] = []
    real = html.unescape
    monkeypatch.setattr(D.html, "unescape", lambda s: calls.append(s) or real(s))
    decoded = [D._unescape_entities(text) for text in texts]
    assert sum(text.count("&") for text in texts) > 400
    assert len(calls) == sum(len(E.decodable_references().findall(text)) for text in texts) < 10
    assert D._unescape_entities("Tom &amp; Jerry") == "Tom & Jerry" and calls[-1] == "Tom &amp; Jerry"   # one &: as before
    monkeypatch.undo()
    assert decoded == [html.unescape(text) for text in texts]
