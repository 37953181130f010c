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


def _random_escapes(rng, count: int, percent: bool) -> str:
    """``count`` escapes of every spelling the patterns take, random code points (lone surrogates and
    metacharacters among them), between plain words."""
    out = []
    for _ in range(count):
        kind = rng.randrange(6 if not percent else 1)
        if percent:
            out.append(f"{rng.choice(['%u', '%U'])}{rng.randrange(0x10000):04x}")
        elif kind == 0:
            out.append(f"\\u{rng.randrange(0x10000):04x}")
        elif kind == 1:
            out.append(f"\\U{rng.randrange(0x10000):04X}")
        elif kind == 2:
            out.append(f"\\{rng.choice('xX')}{rng.randrange(0x100):02x}")
        elif kind == 3:     # a surrogate pair
            out.append(f"\\u{rng.randrange(0xD800, 0xDC00):04x}\\u{rng.randrange(0xDC00, 0xE000):04X}")
        elif kind == 4:     # a lone surrogate
            out.append(f"\\u{rng.randrange(0xD800, 0xE000):04x}")
        else:               # a metacharacter
            out.append(f"\\u{ord(rng.choice('<>;|&$')):04x}")
        out.append(rng.choice(["", " ", "a", "é"]))
    return "".join(out)


def test_many_new_tokens_decoded_together_as_one_by_one(monkeypatch):
    """Thousands of distinct tokens (random characters posted as JSON) are decoded in one C call instead
    of a ``sub`` each: the same text and marker as one by one, for every spelling — lower and upper case,
    ``\\x``, surrogate pairs, lone surrogates, ``%u`` — and the tokens remembered as before."""
    import random

    rng = random.Random(5)
    for round_ in range(40):
        percent = round_ % 4 == 3
        text = _random_escapes(rng, rng.choice([70, 300, 3000]), percent)
        pattern = D._PERCENT_U if percent else D._ESCAPE_RE
        for flag in (True, False):
            monkeypatch.setattr(D, "_DECODED_TOKENS", _CountingMemory())
            monkeypatch.setattr(D, "_BATCH_TOKENS", 10**9)          # one by one
            one_by_one = D._decode_escapes(text, pattern, flag_metachars=flag)
            monkeypatch.undo()
            memory = _CountingMemory()
            monkeypatch.setattr(D, "_DECODED_TOKENS", memory)
            calls = []
            real = D._decoded_token
            monkeypatch.setattr(D, "_decoded_token", lambda *a, _calls=calls, _real=real: _calls.append(1) or _real(*a))
            together = D._decode_escapes(text, pattern, flag_metachars=flag)
            assert together == one_by_one, (round_, flag)
            distinct = set(D._ESCAPE_TOKENS[pattern][0].findall(text))
            if len(distinct) > D._BATCH_TOKENS:                      # together: no token one by one
                assert calls == [] and memory.decoded == (len(distinct) if len(distinct) <= 4096 else 0)
            monkeypatch.undo()


def test_a_text_of_surrogate_pairs_alone_is_decoded_together(monkeypatch):
    """Emoji alone (every token a surrogate pair): decoded together too, as one by one."""
    monkeypatch.setattr(D, "_DECODED_TOKENS", {})
    text = json.dumps("".join(chr(0x1F300 + i) for i in range(300)))
    calls = []
    real = D._decoded_token
    monkeypatch.setattr(D, "_decoded_token", lambda *a: calls.append(1) or real(*a))
    decoded, marker = D._decode_escapes(text, D._ESCAPE_RE, flag_metachars=True)
    assert calls == [] and decoded == json.dumps("x").replace("x", "".join(chr(0x1F300 + i) for i in range(300)))
    assert marker == 0


def test_the_token_patterns_find_what_their_ignorecase_spelling_finds():
    """The tokens' cases are spelled out (a search that jumps from backslash to backslash): the same tokens
    as the IGNORECASE patterns they replace, on texts of near-misses and Unicode look-alikes."""
    import random
    import re

    ignorecase = {D._ESCAPE_RE: r"\\ud[89ab][0-9a-f]{2}\\ud[c-f][0-9a-f]{2}|\\u[0-9a-f]{4}|\\x[0-9a-f]{2}",
                  D._PERCENT_U: r"%u[0-9a-f]{4}"}
    pieces = ["\\u", "\\U", "\\x", "\\X", "%u", "%U", "d8", "D8", "dB", "dc", "DC", "dF", "00", "3c", "aF", "Ff",
              "g", "z", "\\", "u", "x", "0", "9", "é", "ſ", "\u212a", "\u0131", "\uff41", "Ａ"]
    rng = random.Random(3)
    for pattern, spelled in ignorecase.items():
        old, new = re.compile(spelled, re.IGNORECASE), D._ESCAPE_TOKENS[pattern][0]
        for _ in range(20000):
            text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 16)))
            assert old.findall(text) == new.findall(text), text


class _CountingTokens:
    """A token pattern that counts the tokens its searches hand out (``finditer`` and ``findall``)."""

    def __init__(self, pattern):
        self.pattern, self.handed = pattern, 0

    def finditer(self, text):
        for match in self.pattern.finditer(text):
            self.handed += 1
            yield match

    def findall(self, text):
        found = self.pattern.findall(text)
        self.handed += len(found)
        return found


def test_many_distinct_escapes_are_told_from_few_by_the_texts_start(monkeypatch):
    """Random characters as JSON: 2,000 distinct escapes.  Telling them from a few repeated ones reads the
    text's first 64 tokens, not all 2,000 (the split that decodes them is another pass, not counted here);
    a text of a few escapes repeated still reads them all, and both decode as one by one."""
    tokens, start = D._ESCAPE_TOKENS[D._ESCAPE_RE]
    counting = _CountingTokens(tokens)
    monkeypatch.setitem(D._ESCAPE_TOKENS, D._ESCAPE_RE, (counting, start))
    many = json.dumps("".join(chr(0x4e00 + i) for i in range(2000)))
    decoded, _ = D._decode_escapes(many, D._ESCAPE_RE, flag_metachars=False)
    assert decoded == json.loads(many).join('""') and counting.handed == D._PROBE_TOKENS
    counting.handed = 0
    few = '"' + "\\u003cb\\u003e\\u00e9" * 300 + '"'          # three escapes, 900 times
    decoded, marker = D._decode_escapes(few, D._ESCAPE_RE, flag_metachars=True)
    assert decoded == json.loads(few).join('""') == '"' + "<b>é" * 300 + '"'
    assert counting.handed == D._PROBE_TOKENS + 900 and marker
