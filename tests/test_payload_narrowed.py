"""Lines of a prefiltered pass are searched for that pass's hits alone, and the prefilter's literal pass drops
patterns a line cannot match: the same hits as matching every line through the whole-table set.

Counted in hits and in work (whole-table passes), never in time.
"""
from __future__ import annotations

import importlib
from urllib.parse import quote

import pytest

from smartlayer.detectors.payload import engine, normalise, scan_parts
from smartlayer.detectors.payload.signatures import engine_for
from tests.helpers import spy_engine_matches
from tests.test_payload_work import ATTACKS, PROSE, diverse

matching = importlib.import_module("smartlayer.detectors.payload.matching")
scan_module = importlib.import_module("smartlayer.detectors.payload.scan")
NEVER_STOPS = 10_000


@pytest.mark.parametrize("level", [1, 2, 3])
@pytest.mark.parametrize("kind", ["path", "query", "body", "header"])
def test_the_literal_pass_never_drops_a_pattern_that_matches(level, kind):
    """Over every signature of the table: what a text matches is always among what its atoms allow."""
    compiled, _ = engine_for(level, kind)
    texts = [normalise(t) for t in ATTACKS + PROSE]
    texts += [normalise(diverse(ATTACKS, 5, 6000)), normalise(diverse(PROSE, 6, 6000)), "\n".join(texts)]
    texts += [normalise(t.replace("'", "'/**/")) for t in ATTACKS]
    for text in texts:
        possible = compiled.possible(text)
        if possible is None:          # no prefilter in this build: nothing is dropped
            continue
        assert set(compiled.matches(text)) <= possible, text[:80]


def _fields(seed: int, comments: bool) -> dict[str, list[str]]:
    blob = diverse(ATTACKS, seed, 40_000)
    if comments:
        blob = blob.replace(" ", "/**/", 200)
    return {f"f{i}": [blob[i * 700:(i + 1) * 700]] for i in range(50)}


def _labels(result):
    return sorted(result.hits), result.score


@pytest.mark.parametrize("comments", [False, True])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_many_diverse_fields_get_the_hits_the_set_gives_them(sl, monkeypatch, seed, comments):
    """Fields of a pass past the set's share: the same hits as when every field goes through the set."""
    sl(VALIDATOR_BLOCK_SCORE=NEVER_STOPS)          # nothing cut short: every hit listed either way
    monkeypatch.setattr(scan_module, "_CLEAN", {})
    fields = _fields(seed, comments)
    narrowed = scan_parts(form_fields=fields)
    monkeypatch.setattr(matching, "_SET_CHARS", 10 ** 9)    # every pass and every field through the set
    assert _labels(scan_parts(form_fields=fields)) == _labels(narrowed)
    assert narrowed.score > 0


@pytest.fixture
def set_chars(monkeypatch):
    """The texts the whole-table set is asked to match."""
    seen: list[str] = []
    monkeypatch.setattr(scan_module, "_CLEAN", {})
    spy_engine_matches(monkeypatch, lambda text, filtered: None if filtered else seen.append(text))
    return seen


@pytest.mark.parametrize("comments", [False, True])
def test_fields_of_a_prefiltered_pass_are_not_matched_again_through_the_set(sl, set_chars, comments):
    """The first fields of a long multipart form (a pass of 8 KiB, past the set's share) cost the set nothing
    once their pass was prefiltered, SQL comments or not: the set's DFA meets new contexts on every diverse line.
    (The last few fields, a pass within the share, may still go through it.)"""
    sl(VALIDATOR_BLOCK_SCORE=NEVER_STOPS)
    result = scan_parts(form_fields=_fields(4, comments))
    assert result.score > 0
    first = tuple(f"f{i}=" for i in range(10))
    assert not [text for text in set_chars if text.startswith(first)]
    assert sum(map(len, set_chars)) <= engine.SET_CHARS


def test_a_typical_attack_is_still_located_through_the_set(set_chars):
    """A short request stays within the set's share: its pass and its rescans go through the set."""
    body = ("name=x&comment=" + quote("1' AND 1=2 -- and <script>alert(1)</script>")).encode()
    result = scan_parts(query_string="q=test%27%20or%20%271%27%3D%271", body=body,
                        content_type="application/x-www-form-urlencoded")
    assert result.score >= 3
    assert 0 < sum(map(len, set_chars)) <= engine.SET_CHARS
