"""A long text past the set's share is first matched on a prefix, and no further when that blocks the request.

Counted in work (characters sent to the engine), never in time.  What the
prefix finds must be found by a full reading too, and a text whose prefix
does not block is read in full.
"""
from __future__ import annotations

import importlib

import pytest

from smartlayer.detectors.payload import engine, scan_parts
from tests.test_payload_work import ATTACKS, PROSE, diverse

matching = importlib.import_module("smartlayer.detectors.payload.matching")
BLOCK = 3


@pytest.fixture
def engine_calls(monkeypatch):
    calls: list[tuple[int, bool]] = []
    original = engine.Engine.matches
    monkeypatch.setattr(importlib.import_module("smartlayer.detectors.payload.scan"), "_CLEAN", {})

    def counting(self, text, *, filtered=False):
        calls.append((len(text), filtered))
        return original(self, text, filtered=filtered)

    monkeypatch.setattr(engine.Engine, "matches", counting)
    return calls


def _labels(result):
    return {(d.signature, d.location) for d in result.details}


def test_a_long_attacking_body_is_matched_on_its_prefix_alone(engine_calls):
    body = diverse(ATTACKS, 11, 60_000).encode()
    result = scan_parts(body=body, content_type="text/plain")
    assert result.score >= BLOCK and "scan:stopped_at_block" in result.skipped
    assert sum(size for size, _ in engine_calls) <= matching._PREFIX_CHARS


def test_what_the_prefix_finds_a_full_reading_finds(monkeypatch):
    body = diverse(ATTACKS, 12, 60_000).encode()
    early = scan_parts(body=body, content_type="text/plain")
    monkeypatch.setattr(matching, "_PREFIX_CHARS", 10 ** 9)          # never shorter than the text: read in full
    full = scan_parts(body=body, content_type="text/plain")
    assert early.score >= BLOCK and full.score >= early.score
    assert _labels(early) and _labels(early) <= _labels(full)
    assert early.excerpt and sum(1 for d in early.details if d.excerpt) >= min(len(early.details), 8) - 1


def test_a_long_text_whose_prefix_does_not_block_is_read_in_full(engine_calls):
    text = diverse(PROSE, 13, 40_000) + " 1 union select username, password from users"
    result = scan_parts(body=text.encode(), content_type="text/plain")
    assert result.score >= BLOCK and "sqli_union_select" in {d.signature for d in result.details}
    assert any(size >= 40_000 for size, _ in engine_calls)
