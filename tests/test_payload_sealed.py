"""A set whose search stops short never turns an attack into a pass.

RE2's set cannot fall back when its DFA runs out of memory, and its Python
binding cannot say so: the search answers nothing, as on a clean text.  This
build of RE2 cannot be made to stop short once a set compiles (a budget too
small to hold the states is refused at compile time, and a set's search is
never abandoned for slowness), so the tests give the engine's sets RE2's
stopped-short answer (an empty list; ``None`` through the ``re2`` wrapper) and
check that every verdict is the one a finished search gives, counted and
logged once per interval.
"""
from __future__ import annotations

import importlib
import logging

import pytest

from smartlayer.detectors.payload import engine, scan_parts
from smartlayer.detectors.payload.signatures import KINDS, engine_for
from smartlayer.state import failures
from tests.test_payload import OBVIOUS_ATTACKS
from tests.test_payload_work import ATTACKS, PROSE, diverse

COUNTER = "failure.payload_set_unfinished"


class _StoppedShort:
    """A small set of the engine whose every search runs out of memory (the wrapper's answer: None)."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def Match(self, *args):  # noqa: N802 - RE2's name
        return None


def _stop_short(monkeypatch, compiled) -> None:
    compiled.matches("x", filtered=True)                # the prefilter and its sets, built
    monkeypatch.setattr(compiled, "_match", lambda encoded: [])
    for name in ("_groups", "_bundles"):
        monkeypatch.setattr(compiled, name, [(_StoppedShort(group), indices)
                                             for group, indices in getattr(compiled, name) or ()])


@pytest.fixture
def fresh(monkeypatch):
    """No memory of texts met before: every verdict below comes from the engines."""
    monkeypatch.setattr(importlib.import_module("smartlayer.detectors.payload.scan"), "_CLEAN", {})
    held = importlib.import_module("smartlayer.detectors.payload.held")
    monkeypatch.setattr(held, "_HELD", {})
    monkeypatch.setattr(held, "_MET", set())
    failures.reset_failure_log()


@pytest.mark.skipif(engine.ENGINE != "re2", reason="the stdlib fallback has no set")
@pytest.mark.parametrize("text", OBVIOUS_ATTACKS[:6])
def test_the_whole_table_set_stopping_short_still_finds_the_attack(text, monkeypatch, fresh):
    compiled, _ = engine_for(1, "query")
    text = text.lower()                                 # as the normaliser hands it over
    expected = compiled.matches(text)
    assert expected
    before = failures.metrics[COUNTER]
    _stop_short(monkeypatch, compiled)
    assert compiled.matches(text) == expected
    assert failures.metrics[COUNTER] == before + 1


@pytest.mark.skipif(engine.ENGINE != "re2", reason="the stdlib fallback has no set")
@pytest.mark.parametrize("snippets", [ATTACKS, PROSE], ids=["attacks", "prose"])
def test_the_small_sets_stopping_short_still_find_what_they_hold(snippets, monkeypatch, fresh):
    """A long text (past the bundles' threshold): the patterns without atoms and the light ones in sets."""
    compiled, _ = engine_for(1, "body")
    text = diverse(snippets, 41, 2 * engine._BUNDLE_BYTES)
    expected = compiled.matches(text, filtered=True)
    before = failures.metrics[COUNTER]
    _stop_short(monkeypatch, compiled)
    assert compiled.matches(text, filtered=True) == expected
    assert failures.metrics[COUNTER] > before


@pytest.mark.skipif(engine.ENGINE != "re2", reason="the stdlib fallback has no set")
@pytest.mark.parametrize("body", [
    "\n".join(OBVIOUS_ATTACKS),
    diverse(ATTACKS, 42, 40_000),
], ids=["short", "long"])
def test_a_request_scored_through_sets_that_stop_short_gets_the_same_verdict(body, monkeypatch, fresh):
    expected = scan_parts(body=body.encode(), content_type="text/plain", query_string="q=1+union+select+1")
    assert expected.score > 0
    for kind in KINDS:
        _stop_short(monkeypatch, engine_for(1, kind)[0])
    monkeypatch.setattr(importlib.import_module("smartlayer.detectors.payload.scan"), "_CLEAN", {})
    got = scan_parts(body=body.encode(), content_type="text/plain", query_string="q=1+union+select+1")
    assert (got.score, got.hits) == (expected.score, expected.hits)


@pytest.mark.skipif(engine.ENGINE != "re2", reason="the stdlib fallback has no set")
def test_a_set_stopping_short_is_counted_each_time_and_logged_once_per_interval(monkeypatch, fresh, caplog):
    compiled, _ = engine_for(1, "query")
    _stop_short(monkeypatch, compiled)
    before = failures.metrics[COUNTER]
    with caplog.at_level(logging.WARNING, logger="smartlayer"):
        for text in OBVIOUS_ATTACKS[:3]:
            assert compiled.matches(text.lower())
    assert failures.metrics[COUNTER] == before + 3
    assert sum("stopped short" in record.getMessage() for record in caplog.records) == 1
