"""Escape tokens (``\\u00e9``, ``%u0041``) decoded once each and remembered, not once per text.

Counted in work (tokens decoded through a pattern's ``sub``), never in time.  The decoded text and the
``escape_obfuscation`` marker are those of decoding every token afresh.
"""
from __future__ import annotations

import importlib
import json

D = importlib.import_module("smartlayer.detectors.payload.decoders")


class _CountingMemory(dict):
    def __init__(self, *args):
        super().__init__(*args)
        self.decoded = 0

    def __setitem__(self, key, value):
        self.decoded += 1
        super().__setitem__(key, value)


def _wide_json(count: int = 300) -> str:
    """A JSON document of prose in many scripts: ``json.dumps`` writes each non-ASCII character as ``\\uXXXX``."""
    return json.dumps([f"mot {chr(0x400 + i)}{chr(0x4e00 + i)} fin" for i in range(count)])


def test_a_json_text_met_again_decodes_no_token_again(monkeypatch):
    """300 Cyrillic and 300 CJK escapes: the second text with them decodes none (a ``sub`` and a Python call
    each before, every time)."""
    memory = _CountingMemory()
    monkeypatch.setattr(D, "_DECODED_TOKENS", memory)
    text = _wide_json()
    first = D._decode_escapes(text, D._ESCAPE_RE, flag_metachars=False)
    assert memory.decoded == 600
    again = D._decode_escapes(text.replace("mot", "word"), D._ESCAPE_RE, flag_metachars=False)
    assert memory.decoded == 600
    assert again[0] == first[0].replace("mot", "word")


def test_a_metacharacter_read_from_memory_still_marks_the_text(monkeypatch):
    """Guard: ``\\u003c`` (``<``) hidden in text that is not JSON sets the marker whether its token is decoded
    afresh or read from the memory; JSON text does not; the decoded text is the same either way."""
    monkeypatch.setattr(D, "_DECODED_TOKENS", {})
    text = "a" * 10 + "".join(f"\\u{0x400 + i:04x}" for i in range(80)) + " \\u003cscript\\u003e %u0027"
    fresh = D._decode_escapes(text, D._ESCAPE_RE, flag_metachars=True)
    remembered = D._decode_escapes(text, D._ESCAPE_RE, flag_metachars=True)
    assert fresh == remembered and fresh[1] == D._ESCAPES and "<script>" in fresh[0]
    assert D._decode_escapes(text, D._ESCAPE_RE, flag_metachars=False)[1] == 0
    percent = "x" * 10 + "".join(f"%u{0x400 + i:04x}" for i in range(80)) + " %u0027"
    assert D._decode_escapes(percent, D._PERCENT_U, flag_metachars=True) == \
        D._decode_escapes(percent, D._PERCENT_U, flag_metachars=True)
    assert D._decode_escapes(percent, D._PERCENT_U, flag_metachars=True)[1] == D._ESCAPES
    # surrogate pairs and lone surrogates: one character, and the replacement character
    pairs = "".join("\\ud83d\\ude00 \\ud800 x" for _ in range(40))
    assert D._decode_escapes(pairs, D._ESCAPE_RE, flag_metachars=True) == ("\U0001f600 \ufffd x" * 40, 0)
    assert D._decode_escapes(pairs, D._ESCAPE_RE, flag_metachars=True) == ("\U0001f600 \ufffd x" * 40, 0)


def test_the_memory_is_bounded(monkeypatch):
    monkeypatch.setattr(D, "_DECODED_TOKENS", {})
    for start in range(0, 0x3000, 256):
        D._decode_escapes("".join(f"\\u{0x4e00 + start + i:04x}" for i in range(256)), D._ESCAPE_RE, flag_metachars=False)
        assert len(D._DECODED_TOKENS) <= 4096
