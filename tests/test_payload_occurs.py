"""The normaliser's yes-or-no searches through an automaton answer what the stdlib's search answers."""
from __future__ import annotations

import importlib
import random

import pytest

from smartlayer.detectors.payload.engine import occurs

normalise = importlib.import_module("smartlayer.detectors.payload.normalise")
ALPHABET = "%.2eEfF5cCuU0aA89x/\\\ud800é "
KNOWN = ["a%2eb", "..%2f", "..%252f", "%252E", "%u002e", "%c0%ae", "x..%5c", "%C0%AE", "plain", "a\ud800%2e", "%c0%af",
         "%E0%80%AF", "%f0%80%80%af", "%f8%80%80%80%af", "%fc%80%80%80%80%af", "%C1%9C", "%c0x", ""]


def _texts(seed: int) -> list[str]:
    rng = random.Random(seed)
    return KNOWN + ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 16))) for _ in range(5000)]


@pytest.mark.parametrize("name, found", [("_ENCODED_DOT_RE", "_has_encoded_dot"),
                                         ("_FORM_ENCODED_DOT_RE", "_has_form_encoded_dot"),
                                         ("_OVERLONG_RE", "_has_overlong")])
def test_the_automaton_finds_what_the_stdlib_finds(name, found):
    regex, search = getattr(normalise, name), getattr(normalise, found)
    texts = _texts(7)
    answers = [search(text) for text in texts]
    assert answers == [regex.search(text) is not None for text in texts]
    assert any(answers) and not all(answers)


def test_without_the_automaton_the_stdlib_answers(monkeypatch):
    engine = importlib.import_module("smartlayer.detectors.payload.engine")
    monkeypatch.setattr(engine, "_re2", None)
    search = occurs(r"%2[eE]")
    assert search("a%2Eb") and not search("a.b")
