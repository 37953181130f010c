"""A short text's patterns without atoms searched alone: the same answer as the set, and a hit located by
the program that found it.  Counted in work (passes), never in time."""
from __future__ import annotations

import importlib

import pytest

from smartlayer.detectors.payload import engine, scan_parts
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


@pytest.mark.parametrize("kind", ["body", "query", "header", "path"])
def test_short_and_long_texts_find_what_the_set_finds_and_locate_it_alike(kind):
    """Attacks, prose and diverse blobs (short ones searched alone, long ones through the sets): the
    prefiltered answer is the set's, and each hit's span is the one the pattern compiled alone gives."""
    compiled, _ = engine_for(1, kind)
    for text in texts():
        found = compiled.matches(text, filtered=True)
        assert found == compiled.matches(text), text[:80]
        for index in found:
            alone = engine.Engine([compiled.patterns[index]])
            assert compiled.span(index, text) == alone.span(0, text) is not None


class _CountingSet:
    """A group set of the engine, counting its passes."""

    def __init__(self, group, passes):
        self.group, self.passes = group, passes

    def Match(self, encoded):  # noqa: N802 - RE2's name
        self.passes.append(len(encoded))
        return self.group.Match(encoded)


@pytest.mark.parametrize("kind", ["body", "query"])
def test_a_short_text_searches_the_patterns_without_atoms_alone(kind, monkeypatch):
    """Up to _ALONE_BYTES, no set of patterns without atoms is run: each is searched alone, by the program
    that then locates it, so that locating a hit meets no new state again.  Longer texts go through
    the sets.  The same answer either way."""
    compiled, _ = engine_for(1, kind)
    compiled.matches("x", filtered=True)
    passes: list[int] = []
    monkeypatch.setattr(compiled, "_groups", [(_CountingSet(group, passes), indices)
                                              for group, indices in compiled._groups])
    short = diverse(ATTACKS, 28, engine._ALONE_BYTES // 2)
    assert compiled.matches(short, filtered=True) == compiled.matches(short)
    assert passes == []
    long = diverse(ATTACKS, 29, 4 * engine._ALONE_BYTES)
    assert compiled.matches(long, filtered=True) == compiled.matches(long)
    assert len(passes) == len(compiled._groups)


def test_a_long_attack_is_located_on_its_prefix():
    body = diverse(ATTACKS, 27, 60_000).encode()
    result = scan_parts(body=body, content_type="text/plain")
    assert result.score >= BLOCK and "scan:stopped_at_block" in result.skipped
    assert result.excerpt and sum(1 for d in result.details if d.excerpt) >= min(len(result.details), 8) - 1
