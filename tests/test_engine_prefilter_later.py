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


def test_offline_the_query_and_header_engines_share_one_set_and_answer_as_their_own(monkeypatch):
    """One compilation for the two kinds a log line has; each view finds, locates and orders its hits
    exactly as an engine compiled on its own patterns, built-in and extra alike."""
    import re

    from smartlayer.detectors.payload import signatures
    from smartlayer.detectors.payload.sigbase import Signature

    extra = (Signature("site_token", "custom", 3, re.compile(r"zz[0-9]+q")),)
    texts = [normalise(t) for t in ATTACKS + PROSE] + ["ZZ12Q and ' or 1=1 --", "sqlmap/1.7 (https://sqlmap.org)"]
    for level in (1, 2, 3):
        monkeypatch.setattr(signatures, "_ENGINES", {})
        monkeypatch.setattr(signatures, "PREFILTER_LATER", [False])
        own = {kind: engine_for(level, kind, extra) for kind in ("query", "header")}
        monkeypatch.setattr(signatures, "_ENGINES", {})
        monkeypatch.setattr(signatures, "_SHARED", {})
        monkeypatch.setattr(signatures, "PREFILTER_LATER", [True])
        views = {kind: engine_for(level, kind, extra) for kind in ("query", "header")}
        assert len(signatures._SHARED) == 1                       # one set compiled for both
        assert views["query"][0].base is views["header"][0].base
        for kind, (view, sigs) in views.items():
            engine_own, sigs_own = own[kind]
            assert sigs == sigs_own and view.patterns == engine_own.patterns
            assert view.line_local == engine_own.line_local
            for text in texts:
                found = view.matches(text)
                assert found == engine_own.matches(text), (kind, text)
                for index in found:
                    assert view.span(index, text) == engine_own.span(index, text)
            long = normalise(diverse(ATTACKS, level, 5000))
            assert view.matches(long, filtered=True) == engine_own.matches(long, filtered=True)
            known = frozenset(engine_own.matches(long)[:2])
            assert view.matches_besides(long, known) == engine_own.matches_besides(long, known)
