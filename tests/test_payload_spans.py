"""Engine.spans: every pattern found in a text and where, in one search per pattern — exactly what
``matches`` and a ``span`` per pattern found say.  Counted in work (searches), never in time."""
from __future__ import annotations

import importlib

import pytest

from smartlayer.detectors.payload import engine, scan_parts
from smartlayer.detectors.payload.engine_view import EngineView
from smartlayer.detectors.payload.signatures import engine_for
from tests.test_payload_work import ATTACKS, PROSE, diverse

matching = importlib.import_module("smartlayer.detectors.payload.matching")
BLOCK = 3


def texts() -> list[str]:
    mixed = ATTACKS + PROSE
    return [
        *ATTACKS, *PROSE, "",
        diverse(ATTACKS, 21, 1024), diverse(PROSE, 22, 1024), diverse(mixed, 23, 1024),
        diverse(ATTACKS, 24, 20_000), diverse(PROSE, 25, 20_000),
        # non-ASCII: byte and character offsets differ; a lone surrogate (from JSON) reads as "?"
        diverse(mixed + ["naïve café — ｆｕｌｌ 東京 ☃", "€ 12,50 für Bücher", "\ud800' or 1=1 --"], 26, 4096),
    ]


def _one_by_one(compiled, text):
    return {index: compiled.span(index, text) for index in compiled.matches(text, filtered=True)}


@pytest.mark.parametrize("kind", ["body", "query", "header", "path"])
def test_spans_are_what_matches_and_span_say(kind):
    compiled, _ = engine_for(1, kind)
    for text in texts():
        spans = compiled.spans(text)
        assert spans == _one_by_one(compiled, text), text[:80]
        assert sorted(spans) == compiled.matches(text) == list(spans)           # the set's answer, in table order


def test_a_view_answers_as_its_base_does():
    base = engine.Engine([r"(?m)union\s+select", r"(?m)<script\b", r"(?m)' or '", r"(?m)\.\./"])
    view = EngineView(base, [1, 3])
    for text in texts():
        assert view.spans(text) == {mine: base.span(theirs, text) for mine, theirs in enumerate(view.indices)
                                    if base.span(theirs, text) is not None}


def test_without_a_prefilter_spans_still_answer(monkeypatch):
    monkeypatch.setattr(engine, "_FILTER", None)
    compiled = engine.Engine([r"(?m)union\s+select", r"(?m)' or '"])
    text = "x' or 'a'='a' -- then union  select 1"
    assert compiled.spans(text) == {0: compiled.span(0, text), 1: compiled.span(1, text)}


def test_a_long_attack_is_located_on_its_prefix_without_searching_each_hit_again(monkeypatch):
    """The prefix's hits are located by the search that found them: a pattern is searched again only
    when its match reaches the cut (and may end otherwise in the whole text)."""
    monkeypatch.setattr(importlib.import_module("smartlayer.detectors.payload.scan"), "_CLEAN", {})
    calls = []
    original = engine.Engine.span

    def counting(self, index, text):
        calls.append(len(text))
        return original(self, index, text)

    monkeypatch.setattr(engine.Engine, "span", counting)
    body = diverse(ATTACKS, 27, 60_000).encode()
    result = scan_parts(body=body, content_type="text/plain")
    assert result.score >= BLOCK and "scan:stopped_at_block" in result.skipped
    assert len(result.details) >= 8
    assert len(calls) <= 3, calls          # was a search per hit of the prefix: 27 on this text
