"""A line of a pass is not searched again for a signature its location lists already — counted, not timed.

When a pass over many fields finds something, each field (a line of the
pass) is matched again to name where the hits are.  A signature is listed
once per location, so a later line's hit of it adds nothing: those patterns
are left out of the line's search.  What must not change: the hits, the score,
and which lines are remembered clean (a line holding a listed signature is not).
"""
from __future__ import annotations

from urllib.parse import urlencode

import pytest

from smartlayer.detectors.payload import engine as engine_mod
from smartlayer.detectors.payload import matching, scan_parts
from smartlayer.detectors.payload import scan as payload


def _query(count: int) -> str:
    """``count`` values, each its own SQL tautology (no two lines alike), then two clean values: more than one
    pass of the whole-table set takes (``matching._SET_PASS_CHARS``), fewer fields than are matched again one
    by one (``parts.MAX_RESCANNED``)."""
    values = {f"p{i}": f"customer name {i:04d}' or {i}={i} -- trailing words x{i}" for i in range(count)}
    values.update({"page": "2", "sort": "price_asc"})
    return urlencode(values)


def _searched(monkeypatch) -> list[list[int]]:
    """The patterns each line's search for what it holds (:meth:`Engine.among`) was asked for; not the
    yes-or-no questions (``first=True``) about the signatures left out."""
    asked: list[list[int]] = []
    among = engine_mod.Engine.among

    def spy(self, text, indices, first=False):
        if not first:
            asked.append(list(indices))
        return among(self, text, indices, first)

    monkeypatch.setattr(engine_mod.Engine, "among", spy)
    return asked


@pytest.fixture(autouse=True)
def fresh_memory(monkeypatch):
    monkeypatch.setattr(payload, "_CLEAN", {})


def test_a_signature_listed_at_a_location_is_not_searched_for_again_on_its_later_lines(monkeypatch):
    asked = _searched(monkeypatch)
    result = scan_parts(query_string=_query(50))
    assert result.score >= 3 and asked
    # every line holds the same tautology: searched for on the first lines, left out once it is listed
    first, later = asked[0], asked[-1]
    assert len(later) < len(first)
    assert sum(map(len, asked)) < len(first) * len(asked) / 2


def test_the_hits_are_those_of_a_search_for_every_candidate(monkeypatch):
    leaner = scan_parts(query_string=_query(50))
    monkeypatch.setattr(payload, "_CLEAN", {})
    monkeypatch.setattr(matching.Matcher, "listed_here", lambda self, signatures, location, indices: frozenset())
    full = scan_parts(query_string=_query(50))
    assert (leaner.score, leaner.hits, leaner.details, leaner.skipped) == (full.score, full.hits, full.details,
                                                                          full.skipped)


def test_a_line_holding_only_a_listed_signature_is_not_remembered_clean_and_a_clean_one_is():
    # the last value holds only what the values before it listed; page=2 holds nothing
    query = _query(50) + "&" + urlencode({"b": "yes' or 8=8 -- b"})
    scan_parts(query_string=query)
    remembered = {key[1] for key in payload._CLEAN if isinstance(key[1], str)}
    assert "page=2" in remembered
    assert not any("or 8=8" in text for text in remembered)
    # sent alone, that value is still refused: nothing remembered it as clean
    assert scan_parts(query_string=urlencode({"b": "yes' or 8=8 -- b"})).score >= 3


def test_once_a_request_scores_a_block_it_is_read_only_as_far_as_stopping_needs(monkeypatch):
    """A long first text that blocks but is matched again for less than the set's share: the texts after
    it are matched as soon as they make up the rest of that share, not after 8 KiB more."""
    from tests.helpers import spy_engine_matches

    passes: list[int] = []
    scan = payload._new_scan()
    lines = "\n".join(f"customer {i:03d} wrote: it's fine' or {i}={i} -- thanks" for i in range(40))
    scan.matched_now(lines, "body")
    assert scan.score >= scan.cfg.block_score and not scan.stopped
    assert scan.located_chars < engine_mod.SET_CHARS
    spy_engine_matches(monkeypatch, lambda text, filtered: passes.append(len(text)))
    filler = " and more words" * 20           # past the length whose raw text is remembered: no key, no wait
    for i in range(100):
        scan.text(f"field {i}: <img src=x onerror=alert({i})>{filler}", "body")
    assert scan.stopped
    # the pass over what followed: the rest of the share and one text more (8 KiB and more before)
    share = engine_mod.SET_CHARS - len(lines)
    assert max(passes) <= share + 400
    assert sum(passes) <= 2 * (share + 400)          # and those texts matched again, each once
    assert "scan:stopped_at_block" in scan.result().skipped


def test_the_flush_size_follows_the_scan():
    scan = payload._new_scan()
    assert scan.flush_at() == matching._FIRST_FLUSH_CHARS
    scan.passes = 1
    assert scan.flush_at() == matching._FLUSH_CHARS
    scan.score, scan.located_chars = scan.cfg.block_score, 1000
    assert scan.flush_at() == engine_mod.SET_CHARS - 1000
    scan.located_chars = engine_mod.SET_CHARS + 5
    assert scan.flush_at() == 1


def test_offline_a_view_answers_whether_a_line_holds_a_listed_signature(monkeypatch):
    """The replay's query and header engines are views of one shared engine: they answer whether a text holds
    any of some patterns (``among(..., first=True)``) as an engine of their own does, and a replayed query
    whose later lines hold only listed signatures scans."""
    from smartlayer.detectors.payload import normalise
    from smartlayer.detectors.payload.engine_view import EngineView
    from tests.helpers import offline_query_view

    view, own = offline_query_view(monkeypatch)
    for text in (normalise("x' or 7=7 -- a"), normalise("page=2"), normalise("<img src=x onerror=alert(1)>")):
        candidates = list(range(len(view.patterns)))
        mine, theirs = view.among(text, candidates, first=True), own.among(text, candidates, first=True)
        assert len(mine) == len(theirs) <= 1
        if mine:
            assert view.span(mine[0], text) is not None
    scan = payload._new_scan()
    scan.engines = {}                                 # this scan's engines made now: the offline views
    scan.run(query_string=_query(50) + "&" + urlencode({"b": "yes' or 8=8 -- b"}), body=None, content_type="",
             headers=None, cookies=None, form_fields=None)
    assert isinstance(scan.engines["query"], EngineView)
    result = scan.result()
    assert result.score >= 3 and "error:internal" not in result.skipped


def test_clean_texts_after_a_blocking_one_are_read_in_long_passes(monkeypatch):
    """Reading short passes only pays while they may stop the request: once a pass after the block has
    nothing to locate, the texts after it (clean prose) are read as any long request's are."""
    from tests.helpers import spy_engine_matches

    scan = payload._new_scan()
    lines = "\n".join(f"customer {i:03d} wrote: it's fine' or {i}={i} -- thanks" for i in range(40))
    scan.matched_now(lines, "body")
    assert scan.score >= scan.cfg.block_score and scan.located_chars < engine_mod.SET_CHARS
    passes: list[int] = []
    spy_engine_matches(monkeypatch, lambda text, filtered: passes.append(len(text)))
    words = "the reader may find the parcel at the door and the note on the table by the window".split()
    for i in range(200):                              # ~60 KiB of fields, each past the remembered length
        scan.text(" ".join(words[(i + j) % len(words)] for j in range(55)) + f" {i}", "body")
    scan.flush()
    assert not scan.stopped
    assert len(passes) <= sum(passes) // matching._FLUSH_CHARS + 3
