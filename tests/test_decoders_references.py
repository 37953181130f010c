"""A long text's HTML references: decoded as ``html.unescape`` decodes them, and a text none of whose
references decodes is not rebuilt by it (:func:`.decoders._unescape_entities`)."""
from __future__ import annotations

import html
import random
import types

from tests.test_normalise_fast_paths import D

REFERENCES = ["&lt;", "&LT", "&lt", "&amp", "&ampx;", "&amp;lt;", "&notit;", "&not", "&#60;", "&#60", "&#x3c;", "&#X3C",
              "&#", "&#;", "&#xZ;", "&systemEntity;", "&x=1", "&UA;", "& ", "&&", "&#55296;", "&#1114112;", "&;",
              "&CounterClockwiseContourIntegral;", "&" + "a" * 40 + ";", "&a;", "&copy2", "&#0;", "&\n;"]
FILLER = ["an ordinary line of prose, ", "if (a && b) { x = y; } ", "Le café \U0001F600 — ", "\n", "é"]


def _texts(count: int, seed: int = 3) -> list[str]:
    rnd = random.Random(seed)
    out = []
    for _ in range(count):
        pieces = rnd.choice((5, 40, 200))
        out.append("".join(rnd.choice(FILLER) * rnd.choice((1, 20)) + rnd.choice(REFERENCES) for _ in range(pieces)))
    return out


def test_every_text_reads_as_html_unescape_reads_it():
    """Guard: the same text, whatever its length and references."""
    texts = _texts(300) + ["x" * 3000 + "&systemEntity; &x=1", "x" * 3000 + "&lt;", "&a; " * 100 + "&amp;" * 2]
    for text in texts:
        assert D._unescape_entities(text) == html.unescape(text), repr(text[:80])


def test_a_long_text_whose_references_read_as_themselves_is_not_rebuilt(monkeypatch):
    """Not a guard: ``html.unescape`` ran on the whole of such a text, and built it anew."""
    calls = []

    def unescape(text: str) -> str:
        calls.append(len(text))
        return html.unescape(text)

    monkeypatch.setattr(D, "html", types.SimpleNamespace(unescape=unescape))
    text = ("if (a && b) { x = y; } Le café \U0001F600 — &systemEntity; &x=1 " * 200)
    assert D._unescape_entities(text) is text
    # never the text; since the references that decode are searched for first (tests/test_payload_entities.py),
    # not even each distinct one alone: no call at all
    assert max(calls, default=0) < 64


def test_a_match_in_bytes_is_placed_in_characters_as_each_end_decoded_alone():
    """Guard: :func:`.engine_re2.characters` gives what decoding the bytes up to each end gives, at every pair of
    offsets of wide texts (a start inside a character too)."""
    from smartlayer.detectors.payload.engine_re2 import characters

    rnd = random.Random(11)
    for _ in range(200):
        text = "".join(rnd.choice(FILLER + REFERENCES + ["\ud800", "Σ", "\x00"]) for _ in range(rnd.choice((1, 4, 30))))
        encoded = text.encode("utf-8", "replace")
        for _ in range(20):
            start = rnd.randrange(len(encoded) + 1)
            end = rnd.randrange(start, len(encoded) + 1)
            expected = (len(encoded[:start].decode("utf-8", "replace")), len(encoded[:end].decode("utf-8", "replace")))
            if len(encoded) == len(text):
                expected = (start, end)
            assert characters(encoded, text, start, end) == expected, (text, start, end)
