"""A probe sent again in a form part of several pairs: the flush's pass over the part's pairs read from memory.

A query string's pairs are matched in one pass, a pair a line
(``q=<probe>\\npage=2\\nsort=…``), before the probe's line is matched alone to
name its hits.  The line was kept (:data:`.held._HELD`) once met twice; the
joined text, read only by that pass, was not, and a scanner's probe sent
again cost a whole-table set pass on every request.  Counted in engine
passes; the verdict (score, hits in full, excerpt) stays the same.
"""
from __future__ import annotations

from smartlayer.detectors.payload import held, scan_request
from smartlayer.detectors.payload import scan as payload
from tests.helpers import review_request as _request
from tests.helpers import spy_engine_matches

PROBE = "test' AND 8705=9360 AND 'rbaE'='rbaE"


def test_the_joined_pass_of_a_probe_sent_again_is_read_from_memory(monkeypatch):
    monkeypatch.setattr(payload, "_CLEAN", {})
    monkeypatch.setattr(held, "_HELD", {})
    monkeypatch.setattr(held, "_MET", set())
    passes: list[str] = []
    spy_engine_matches(monkeypatch, lambda text, filtered: passes.append(text))
    query = {"q": PROBE, "page": "2", "sort": "price_asc", "size": "44.5", "colour": "dark blue"}
    results = []
    for _ in range(4):
        passes.clear()
        result = scan_request(_request(query))
        results.append((result.score, result.hits, result.details, result.excerpt, result.skipped))
    assert results[0][0] >= 3 and len(results[0][2]) >= 3
    assert results[0] == results[1] == results[2] == results[3]
    assert passes == []
