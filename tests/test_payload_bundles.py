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


@pytest.mark.parametrize("level", [1, 3])
@pytest.mark.parametrize("kind", ["path", "query", "body", "header"])
def test_signatures_marked_apart_share_a_set_of_their_own_and_are_still_found(level, kind):
    """The template openers' windows (``ssti_method_call`` and its kin) are matched on a long text in one
    set of their own, in no set of patterns without atoms nor in another bundle; where they are, found."""
    from smartlayer.detectors.payload.engine_view import EngineView

    compiled, chosen = engine_for(level, kind)
    base = compiled.base if isinstance(compiled, EngineView) else compiled
    compiled.matches("x", filtered=True)
    at = compiled.indices if isinstance(compiled, EngineView) else range(len(chosen))   # chosen[i] is base's at[i]
    marked = {index for index, signature in zip(at, chosen, strict=True) if signature.apart}
    assert len(marked) >= 2, "the table keeps some signatures apart"
    sets = [set(indices) for _, indices in (base._groups or []) + base._bundles]
    assert marked <= base._apart
    assert [found for found in sets if found & marked] == [set(base._apart)]
    names = [s.name for s in chosen]
    text = normalise(diverse(PROSE, 21, 20_000) + "\n{{ ''.__class__.mro()[1].__subclasses__() }}\n"
                     + diverse(PROSE, 22, 20_000))
    found = compiled.matches(text, filtered=True)
    assert found == compiled.matches(text)
    assert "ssti_method_call" in {names[index] for index in found}


def test_the_engine_keeps_the_patterns_it_is_told_apart_in_a_set_of_their_own():
    """``Engine(apart=...)``: a pattern without atoms and a light one with atoms, out of the sets they would
    have joined, together in one that is run when either may match; found on a long text."""
    patterns = [r"'\s?or\s?'", r"\.\./", r";\s?cat\s", r"\{\{[^{}]{0,60}\.mro\(", r"<script\b", r"\bunion\s+select\b"]
    text = "lorem ipsum dolor " * 2000 + "{{ x.mro() }} ../ <script> ' or '"
    together = engine.Engine(patterns)
    apart = engine.Engine(patterns, apart=[0, 3])
    for compiled in (together, apart):
        compiled.matches("x", filtered=True)
    assert [indices for _, indices in together._groups + together._bundles] == [(0,), (1, 2, 3, 4, 5)]
    assert [indices for _, indices in apart._groups + apart._bundles] == [(1, 2, 4, 5), (0, 3)]
    assert apart.matches(text, filtered=True) == together.matches(text, filtered=True) == together.matches(text) \
        == [0, 1, 3, 4]
    assert apart.matches(text[:30_000], filtered=True) == together.matches(text[:30_000]) == []
