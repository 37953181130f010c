"""Offline, the query and header engines are views of one shared engine; a matcher narrowing a line's
candidates asks its engine which patterns a text may hold (``possible``), a view included.  The view
had no such method: a replayed request whose line found more than a few patterns would have raised."""
from __future__ import annotations

from smartlayer.detectors.payload import normalise
from tests.helpers import offline_query_view
from tests.test_payload_work import ATTACKS, PROSE, diverse


def test_a_view_says_which_of_its_patterns_a_text_may_hold_as_an_engine_of_its_own_does(monkeypatch):
    view, own = offline_query_view(monkeypatch)
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


def test_a_view_has_every_public_method_of_an_engine():
    """A matcher asks whichever engine it holds, a view offline included: the view lacked ``possible`` once,
    and a new engine method since; every public method of the engine is one a view must answer too."""
    from smartlayer.detectors.payload.engine import Engine
    from smartlayer.detectors.payload.engine_view import EngineView

    public = {name for name in dir(Engine) if not name.startswith("_") and callable(getattr(Engine, name))}
    assert public <= set(dir(EngineView)), sorted(public - set(dir(EngineView)))
