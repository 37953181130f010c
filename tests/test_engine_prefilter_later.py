"""An engine whose prefilter is built on first need (offline work) answers exactly as one built whole.

The replay builds its engines with ``prefilter_later``: a log line's query and
headers are short, so the prefilter (half of an engine's compilation, at every
start of the command) is usually never needed.  Matches, located hits and
long texts must not depend on when it was built.
"""
from __future__ import annotations

from smartlayer.detectors.payload import engine, normalise
from smartlayer.detectors.payload.signatures import engine_for
from tests.test_payload_work import ATTACKS, PROSE, diverse


def _patterns(kind: str) -> list[str]:
    return ["(?m)" + s.pattern for s in engine_for(1, kind)[1]]


def test_short_texts_never_build_the_prefilter_and_find_the_same():
    patterns = _patterns("query")
    whole = engine.Engine(patterns)
    later = engine.Engine(patterns, prefilter_later=True)
    for text in ATTACKS + PROSE:
        text = normalise(text)
        found = later.matches(text)
        assert found == whole.matches(text), text
        for index in found:       # located hits: the pattern compiled alone, the same program
            assert later.span(index, text) == whole.span(index, text), (index, text)
    if engine.ENGINE == "re2" and engine._FILTER is not None:
        assert later._filter is None and later._groups is None   # never needed, never built


def test_a_long_text_builds_it_then_answers_as_the_whole_engine():
    patterns = _patterns("body")
    whole = engine.Engine(patterns)
    later = engine.Engine(patterns, prefilter_later=True)
    for seed, snippets in ((5, ATTACKS), (6, PROSE)):
        text = normalise(diverse(snippets, seed, 6000))
        assert later.matches(text, filtered=True) == whole.matches(text, filtered=True) == whole.matches(text)
        known = frozenset(whole.matches(text)[:3])
        assert later.matches_besides(text, known) == whole.matches_besides(text, known)
    if engine.ENGINE == "re2" and engine._FILTER is not None:
        assert (later._filter is None) == (whole._filter is None)
        assert (later._groups is None) == (whole._groups is None)
