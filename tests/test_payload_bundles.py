"""On a long text the prefilter's light patterns are searched a few to a set: the same answer, fewer passes.

Counted in passes of RE2 over the text (a pattern searched alone, or one set), never in time.
"""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from smartlayer.detectors.payload import engine, normalise
from smartlayer.detectors.payload.signatures import engine_for
from tests.test_payload_work import ATTACKS, PROSE, diverse

ROOT = Path(__file__).resolve().parents[1]


def source_lines(seed: int, size: int) -> str:
    """About ``size`` characters of this checkout's own code, a line each, shuffled: diverse ordinary text
    in which ``select``, ``from``, ``type``, ``eval`` and ``script`` occur (atoms of many signatures)."""
    lines = [line.strip() for file in sorted(ROOT.glob("smartlayer/**/*.py"))
             for line in file.read_text(encoding="utf-8").splitlines() if len(line.strip()) > 20]
    rng = random.Random(seed)
    out, total = [], 0
    while total < size:
        out.append(rng.choice(lines))
        total += len(out[-1]) + 1
    return "\n".join(out)[:size]


class _Counting:
    """An RE2 program or set of the engine, counting its passes."""

    def __init__(self, inner, passes: list[int]) -> None:
        self.inner, self.passes = inner, passes

    def Match(self, *args):  # noqa: N802 - RE2's name
        self.passes.append(1)
        return self.inner.Match(*args)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def _counted(compiled) -> list[int]:
    compiled.matches("x", filtered=True)          # the prefilter and its sets, built
    passes: list[int] = []
    compiled._low = {index: _Counting(low, passes) for index, low in compiled._low.items()}
    compiled._groups = [(_Counting(group, passes), indices) for group, indices in compiled._groups]
    if hasattr(compiled, "_bundles"):            # (the engine before them: each pattern alone)
        compiled._bundles = [(_Counting(group, passes), indices) for group, indices in compiled._bundles]
    return passes


@pytest.fixture
def body_engine(monkeypatch):
    """The body engine of level 1 (its programs wrapped to count passes; restored after the test)."""
    compiled, _ = engine_for(1, "body")
    compiled.matches("x", filtered=True)
    for name in ("_low", "_groups", "_bundles"):
        if hasattr(compiled, name):
            monkeypatch.setattr(compiled, name, getattr(compiled, name))
    return compiled


def test_60_kib_of_diverse_code_costs_half_the_passes(body_engine):
    """60 KiB of this project's code lines: 74 patterns pass the atoms' test; searched one by one (with
    nine sets of the patterns without atoms) that was 42 passes of RE2 over the text, now at most 30."""
    passes = _counted(body_engine)
    text = normalise(source_lines(4, 60_000))
    found = body_engine.matches(text, filtered=True)
    assert len(passes) <= 30
    passes.clear()
    assert found == body_engine.matches(text)           # the whole-table set: the same answer


def test_a_light_pattern_is_not_searched_alone_on_a_long_text(body_engine):
    """On a long text a pattern the prefilter names and that is in a set of light ones is searched with its
    set; on a text of a few KiB (where alone it stops at its first match) alone."""
    assert body_engine._bundles and all(len(indices) > 1 for _, indices in body_engine._bundles)
    bundled = {index for _, indices in body_engine._bundles for index in indices}
    searched: list[int] = []

    class _Alone:
        def __init__(self, index, inner):
            self.index, self.inner = index, inner

        def Match(self, *args):  # noqa: N802 - RE2's name
            searched.append(self.index)
            return self.inner.Match(*args)

    body_engine._low = {index: _Alone(index, low) for index, low in body_engine._low.items()}
    text = normalise(diverse(PROSE + ATTACKS, 7, 20_000))
    body_engine.matches(text, filtered=True)
    assert not bundled & set(searched)
    for size in (engine._ALONE_BYTES // 2, engine._BUNDLE_BYTES // 2):   # shorter texts: each alone, as before
        searched.clear()
        short = normalise(diverse(ATTACKS, 8, size))
        body_engine.matches(short, filtered=True)
        assert bundled & set(searched), size


@pytest.mark.parametrize("level", [1, 2, 3])
@pytest.mark.parametrize("kind", ["path", "query", "body", "header"])
def test_the_bundled_prefilter_finds_what_the_set_finds(level, kind):
    """Long texts of code, prose, attacks and a mix, whole and less the patterns already known."""
    compiled, _ = engine_for(level, kind)
    texts = [normalise(source_lines(11, 20_000)), normalise(diverse(PROSE, 12, 8000)),
             normalise(diverse(ATTACKS, 13, 8000)), normalise(diverse(ATTACKS + PROSE, 14, 30_000)),
             diverse(ATTACKS + ["naïve café — ｆｕｌｌ 東京 ☃", "\ud800' or 1=1 --"], 15, 5000)]
    for text in texts:
        found = compiled.matches(text)
        assert compiled.matches(text, filtered=True) == found, text[:80]
        known = frozenset(found[::2])
        assert compiled.matches_besides(text, known) == [index for index in found if index not in known]
