"""Guard: a long wide text's whitespace collapsed and lowered line by line (:func:`_collapsed_lower`) is what
the whole text's ``split``, ``join`` and ``lower()`` make of it, for either way of joining its lines.

Inputs meant to catch a difference: capital sigmas next to line breaks and spaces (``lower()`` reads
them in context), case-ignorable characters around them, ``İ`` (lowered to two characters), Unicode
whitespace that ``split()`` cuts at (``\\x1c``, ``\\x85``, ``\\u2028``, ``\\u3000``), empty and blank lines,
CR LF, and lines of one character (the short-line fallback).
"""
from __future__ import annotations

import random
from unittest.mock import patch

from tests.test_normalise_fast_paths import N

PIECES = ["ΟΔΟΣ", "Σ", "σ", "ς", "Σ.", "'Σ'", "a\u0301Σ", "Σ\u0301", "ΑΣ\u00ad", "İ", "ǅ", "\U0001F600", "é", "ß",
          "plain words here", "SELECT * FROM t", " ", "  ", "\t", "\r", "\x1c", "\x1f", "\x85", "\xa0", "\u2028",
          "\u2029", "\u3000", "\u200b", "\n", "\n\n", "\r\n", "x", "Ω", "ﬀ"]


def _whole(text: str, between: str) -> str:
    if between == "\n":
        return "\n".join([" ".join(line.split()) for line in text.split("\n")]).lower()
    return " ".join(text.split()).lower()


def _texts(count: int, seed: int = 5) -> list[str]:
    rnd = random.Random(seed)
    out = []
    for _ in range(count):
        line = lambda: "".join(rnd.choice(PIECES) for _ in range(rnd.choice((1, 3, 12, 40))))   # noqa: E731
        filler = "an ordinary line of prose and code, long enough to count " * rnd.choice((1, 2))
        out.append("\n".join(rnd.choice((line(), filler, filler + line(), line() + filler)) for _ in range(300)))
    return out


def test_line_by_line_equals_the_whole_text():
    texts = _texts(60) + ["\U0001F600" * 5000 + "\n" * 3, "\U0001F600\n" * 5000, ("Σ\n" + "a" * 40 + "\n") * 200, "Σ" * 5000, "ΑΣ ΑΣ\nΣΑ" * 900]
    for text in texts:
        assert len(text) >= N._LINEWISE_CHARS or text.isascii() is False
        for between in ("\n", " "):
            assert N._collapsed_lower(text, between) == _whole(text, between), repr(text[:60])


def test_the_normaliser_reads_a_long_wide_text_as_the_whole_text_way_does():
    text = "\n".join(_texts(3)) + "\n%3Cscript%3E &lt;b&gt; \\u003c ΑΣ&#10;Σ"
    calls = [dict(), dict(keep_lines=True), dict(form=True), dict(json_text=True)]
    expected = {}
    with patch.object(N, "_collapsed_lower", _whole):
        for number, call in enumerate(calls):
            expected[number] = N._normalise(text, **call)
    for number, call in enumerate(calls):
        assert N._normalise(text, **call) == expected[number], call
