"""Guard: the whole normaliser gives, for every input and every way it is called, what its general path gives.

The decoders' and the fold's fast paths are each compared with their general form in
``test_normalise_fast_paths``; this compares the normaliser end to end (markers included) with
the same general pieces put together as :func:`_normalise` puts its own — so that a shortcut
taken between the pieces (a decoding round that finds nothing to decode, a check shared by two
rounds) cannot change a byte of the text a signature reads.  Inputs: the fuzzed atoms of that
module (double encoding, ``%u``, overlong UTF-8, entities, ``\\x``/``\\u`` escapes, NUL, lone
surrogates, fullwidth and format characters, CR LF, ``+``, ``0x``) and wide texts (an emoji: four
bytes a character) holding ``%`` signs with and without an escape after them.
"""
from __future__ import annotations

import random
from unittest.mock import patch

from tests.test_normalise_fast_paths import ATOMS, PROSE, TEXTS, D, N, _general_decode_once, _general_fold, _Spy

WIDE = "Le café \U0001F600 — 50 % off, %s and C:\\path; a&b \u2028 tab\there\n"
EXTRA = [
    "%253Cscript%253E", "%25253c", "%u003cscript%u003e", "%c0%ae%c0%ae%c0%af", "&lt;script&gt;", "&#x3c;&#60;",
    "\\x3cscript\\u003e", "a\x00b%00c", "%s\ud800 é %", "\ud800%41", "＜ｓｃｒｉｐｔ＞", "un\u200bion sel\u00adect",
    "a%0d%0aSet-Cookie: x=1", "a%0aLocation: /", "q=a+b%2Bc", "0x2e0x2e0x2f", "%26lt%3B", "&#37;3c", "&amp;#x3c;",
    WIDE * 300, WIDE * 300 + "%3Cscript%3E", WIDE * 300 + "\\u003c", WIDE * 300 + "&lt;", WIDE * 300 + "\ud800",
    (WIDE * 300).replace("%s", "%u0041"), (WIDE * 300).replace("50 %", "50 %c0%ae"), "%F0%9F%98%80" * 2000 + "%25",
    ("é%2541" * 400), "\U0001F600%" * 3000, "\U0001F600%2" * 3000 + "%252e",
]


def _wide_fuzz(count: int, seed: int = 29) -> list[str]:
    rnd = random.Random(seed)
    return ["\U0001F600" + "".join(rnd.choice(ATOMS) for _ in range(rnd.choice((3, 20, 80)))) for _ in range(count)]


INPUTS = TEXTS + EXTRA + _wide_fuzz(400)
CALLS = [dict(form=False), dict(form=True), dict(json_text=True), dict(lines=True), dict(form=True, lines=True),
         dict(keep_lines=True), dict(growth=40), dict(growth=0, form=True)]


def _general_normalise(text: str, **call) -> tuple[str, int]:
    """:func:`_normalise` with every piece in its general form: the module's own sequence of pieces (not a
    copy of it, which would drift), each decoding round, fold and encoded-dot test swapped for the
    general one of ``test_normalise_fast_paths`` while it runs."""
    with patch.multiple(N, _fold_unicode=_general_fold, _decode_once=_general_decode_once,
                        _maybe_encoded_dot=lambda text: True,
                        _has_encoded_dot=lambda text: N._ENCODED_DOT_RE.search(text) is not None,
                        _has_form_encoded_dot=lambda text: N._FORM_ENCODED_DOT_RE.search(text) is not None):
        return N._normalise(text, **call)


def test_the_normaliser_equals_its_general_path_on_every_input_and_call():
    for text in INPUTS + [PROSE * 60]:
        for call in CALLS:
            assert N._normalise(text, **call) == _general_normalise(text, **call), (repr(text[:80]), call)


def test_a_wide_round_with_percent_signs_and_no_escape_asks_one_question(monkeypatch):
    """Not a guard: a decoded form field's second round (wide text: ``%s``, ``50 %``, no ``%XX``) asked the
    overlong, the ``%u`` and the ``%XX`` searches in turn, each reading the text a character at a time."""
    spies = {name: _Spy(getattr(D, name)) for name in ("_MAYBE_OVERLONG", "_PERCENT_U_HINT", "_PERCENT_ESCAPE")}
    for name, spy in spies.items():
        monkeypatch.setattr(D, name, spy)
    text = WIDE * 300
    assert D._decode_once(text, plus=False, json_text=False) == (text, 0)
    assert {name: spy.calls for name, spy in spies.items()} == dict.fromkeys(spies, 0)
    assert D._decode_once(text + "%3C", plus=False, json_text=False)[0].endswith("<")     # an escape: decoded
