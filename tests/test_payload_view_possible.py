"""Offline, the query and header engines are views of one shared engine; a matcher narrowing a line's
candidates asks its engine which patterns a text may hold (``possible``), a view included.  The view
had no such method: a replayed request whose line found more than a few patterns would have raised."""
from __future__ import annotations

from smartlayer.detectors.payload import engine, normalise, signatures
from smartlayer.detectors.payload.engine_view import EngineView
from smartlayer.detectors.payload.signatures import engine_for
from tests.test_payload_work import ATTACKS, PROSE, diverse


def test_a_view_says_which_of_its_patterns_a_text_may_hold_as_an_engine_of_its_own_does(monkeypatch):
    monkeypatch.setattr(signatures, "_ENGINES", {})
    monkeypatch.setattr(signatures, "_SHARED", {})
    monkeypatch.setattr(signatures, "PREFILTER_LATER", [True])
    view, _sigs = engine_for(1, "query")
    assert isinstance(view, EngineView)
    own = engine.Engine(view.patterns)
    for seed, snippets in ((3, ATTACKS), (4, PROSE)):
        text = normalise(diverse(snippets, seed, 6000))
        # a long text builds the prefilter of an engine that leaves it until needed, as a scan's pass does
        assert view.matches(text, filtered=True) == own.matches(text, filtered=True)
        theirs = own.possible(text)
        mine = view.possible(text)
        if theirs is None:                     # no prefilter in this build: the view has none either
            assert mine is None
            continue
        assert mine == theirs
        # never leaves out a pattern that matches
        assert set(own.matches(text)) <= mine
