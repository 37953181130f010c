"""The lines of a pass that found something are searched through the small sets of patterns without atoms.

Counted in work (passes of single programs), never in time.  The answer is each pattern's own.
"""
from __future__ import annotations

import importlib

import pytest

from smartlayer.detectors.payload import engine, scan_parts
from smartlayer.detectors.payload.signatures import engine_for
from tests.test_payload_bundles import _Counting
from tests.test_payload_work import ATTACKS, PROSE, diverse


@pytest.mark.skipif(engine.ENGINE != "re2" or engine._FILTER is None, reason="the prefilter's programs")
def test_fields_of_attacks_are_located_through_the_small_sets(monkeypatch):
    """60 multipart fields of diverse attacks: each field of the first pass was searched for each pattern
    the pass found alone (171 single-program passes in all, with the pass's own and the hits located); the
    patterns without atoms now go through their sets, which met that text in the pass already (143).  The
    bound was 150; 160 since the table reads commands spelt to hide their name (154: the same text holds
    more hits, each located once); 166 since a form field's whole value is read for a scanner's appended
    test (165: the two patterns, searched alone on the five lines where their words occur, find nothing); 172
    with the calls that hide a PHP function's name and Node.js's and Ruby's commands (171: three lines each); 176
    with a body field that is only an internal URL (173).  Each signature the table gains is searched alone on
    the lines holding its atoms: the bound follows the table, what it guards is the way lines are located."""
    monkeypatch.setattr(importlib.import_module("smartlayer.detectors.payload.scan"), "_CLEAN", {})
    compiled, _ = engine_for(1, "body")
    compiled.matches("x", filtered=True)
    passes: list[int] = []
    monkeypatch.setattr(compiled, "_low", {index: _Counting(low, passes) for index, low in compiled._low.items()})
    text = diverse(ATTACKS, 9, 60 * 1000)
    result = scan_parts(form_fields={f"f{i}": text[i * 1000:(i + 1) * 1000] for i in range(60)})
    assert result.score >= 3 and "scan:stopped_at_block" in result.skipped
    assert len(passes) <= 176


@pytest.mark.parametrize("snippets", [ATTACKS, PROSE], ids=["attacks", "prose"])
def test_among_answers_as_each_pattern_alone(snippets):
    compiled, _ = engine_for(1, "body")
    compiled.matches("x", filtered=True)
    everything = list(range(len(compiled.patterns)))
    for seed in range(3):
        for line in diverse(snippets, seed, 4000).split("\n")[:40]:
            assert compiled.among(line, everything) == [i for i in everything if compiled.find(i, line) is not None]
