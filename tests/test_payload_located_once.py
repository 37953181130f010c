"""A pattern searched alone is located by that search: not searched a second time to say where it matches.

Counted in work (passes of single programs, lines of Python run), never in time.  The hits and their
excerpts are what a search of each pattern alone gives.
"""
from __future__ import annotations

import importlib
from urllib.parse import quote

import pytest

from smartlayer.detectors.payload import engine, scan_parts
from smartlayer.detectors.payload.signatures import engine_for
from tests.test_payload_bundles import _Counting
from tests.test_payload_work import ATTACKS, diverse

_needs_prefilter = pytest.mark.skipif(engine.ENGINE != "re2" or engine._FILTER is None,
                                      reason="the prefilter's programs")


def _counted(monkeypatch) -> tuple[object, list[int]]:
    monkeypatch.setattr(importlib.import_module("smartlayer.detectors.payload.scan"), "_CLEAN", {})
    compiled, _ = engine_for(1, "body")
    compiled.matches("x", filtered=True)
    passes: list[int] = []
    monkeypatch.setattr(compiled, "_low", {index: _Counting(low, passes) for index, low in compiled._low.items()})
    return compiled, passes


@_needs_prefilter
def test_a_long_body_of_attacks_locates_its_hits_without_searching_again(monkeypatch):
    """60 KB of diverse attacks as a text body: 92 single-program passes when each hit found by a pattern
    searched alone was searched again to locate it (the prefix of 1 KiB first, then the text); 61 now."""
    _, passes = _counted(monkeypatch)
    result = scan_parts(body=diverse(ATTACKS, 9, 60 * 1000).encode(), content_type="text/plain")
    assert result.score >= 3 and "scan:stopped_at_block" in result.skipped
    assert len(passes) <= 75


@_needs_prefilter
def test_a_long_form_field_of_attacks_locates_its_hits_without_searching_again(monkeypatch):
    """The same in a comment box (a form field, percent-encoded): 101 passes before, 65 now."""
    _, passes = _counted(monkeypatch)
    body = ("c=" + quote(diverse(ATTACKS, 9, 60 * 1000))).encode()
    result = scan_parts(body=body, content_type="application/x-www-form-urlencoded")
    assert result.score >= 3
    assert len(passes) <= 80


@_needs_prefilter
def test_a_span_kept_is_the_span_a_search_alone_gives(monkeypatch):
    """Guard: what span() answers from the search that found a pattern is that pattern's own first match,
    on ASCII and on wide text (character offsets), and only for the text that search read."""
    compiled, passes = _counted(monkeypatch)
    fresh, _ = engine_for(1, "body")            # the same table, asked with an empty memory each time
    for text in (diverse(ATTACKS, 3, 3000), "é — " + diverse(ATTACKS, 4, 3000), diverse(ATTACKS, 5, 20000)):
        found = compiled.matches(text, filtered=True)
        before = len(passes)
        spans = {index: compiled.span(index, text) for index in found}
        assert len(passes) - before < len(found)             # some were located by the search that found them
        for index, span in spans.items():
            fresh._spans = (None, b"", {})
            assert span == fresh.span(index, text)
        other = text + " "
        for index in found:                                  # another text: searched, not read from the memory
            fresh._spans = (None, b"", {})
            assert compiled.span(index, other) == fresh.span(index, other)
