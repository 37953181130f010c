"""The normaliser's fast paths give exactly what its general path gives, and skip the work they claim to.

Wide text (prose or code with an accent, a dash, an arrow: not Latin-1) makes every pass over it read a
character at a time, so the normaliser asks cheap questions first: may any chunk hold a format character
or a look-alike slash (one automaton pass), is there a ``%XX`` escape for the URL decoder, a ``\\uXXXX``
or ``\\xXX`` for the escape decoder.  Each answer only skips a pass that would change nothing; these tests
compare every fast path with the general one, written out here as it was, on attack strings, on wide prose
with and without each special character, and on fuzzed strings (invalid UTF-8, NUL, overlong sequences,
lone surrogates, mixed entities and escapes).
"""
from __future__ import annotations

import codecs
import random
import re
import sys
import unicodedata
from urllib.parse import unquote

import smartlayer.detectors.payload  # noqa: F401  (the package's ``normalise`` is the function)

N = sys.modules["smartlayer.detectors.payload.normalise"]
D = sys.modules["smartlayer.detectors.payload.decoders"]

ATOMS = [
    "%", "%2", "%25", "%2e", "%2E", "%u002e", "%uff0e", "%c0%ae", "%c0%af", "%e0%80%af", "%f0%80%80%af", "%C3", "%A9",
    "%c3%a9", "%e2%80%8b", "%ed%a0%80", "%F0%9F%98", "%00", "%0a", "%0d%0a", "%3c", "%26", "%27", "%5c", "%u", "%uD800",
    "%ud83d%ude00", "%zz", "%%", "\\", "\\u003c", "\\u00", "\\x3c", "\\ud83d\\ude00", "\\ud800", "\\U003C", "\\X41", "&",
    "&lt", "&lt;", "&#39", "&#39;", "&#x3c;", "&#0;", "&#xd800;", "&amp;", "&#x26;lt;", "&copy", "&#", "<", "'", "/",
    "/**/", "..", "..%2f", "0x2e", "0X5C", " ", "  ", "\t", "\n", "\r\n", "\x0b", "\x1c", "\x85", "\xa0", "\u2028", "\u3000",
    "+", "a", "Z", "é", "É", "ß", "İ", "Σ", "½", "⅟", "㎧", "￦", "\u2044", "\u2215", "\u29f5", "\u20a9", "\u200b",
    "\u00ad", "\ufeff", "\U000e0041", "\U0001d173", "\ufdfa", "＜", "ﬁ", "\u0301", "\ud800", "\udfff", "\x00",
    "\U0001F600", "—", "→", "×", "union", "select", "<script>", "%0aSet-Cookie: a", "%s", "50 %", "\\n",
]
PROSE = ("Le café — déjà vu → 3 × 4; naïve “quotes” and C:\\path\\to %s, 50 % off; "
         "return f'{x:02x}' if a & b else \"\\\\\"  # λ → μ\n")


def _fuzz(count: int, seed: int = 13) -> list[str]:
    rnd = random.Random(seed)
    texts = []
    for _ in range(count):
        text = "".join(rnd.choice(ATOMS) for _ in range(rnd.choice((1, 3, 8, 20, 60))))
        if rnd.random() < 0.1:
            text *= rnd.randint(2, 40)
        if rnd.random() < 0.2:
            text = PROSE * rnd.randint(1, 8) + text
        texts.append(text)
        if rnd.random() < 0.1:
            raw = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 40)))
            texts += [raw.decode("utf-8", "replace"), raw.decode("latin-1"), raw.decode("utf-8", "surrogateescape")]
    return texts


TEXTS = _fuzz(1500) + [PROSE * 200, (PROSE * 200).replace("50 %", "50 %41"), PROSE * 50 + "\u200b" + PROSE * 50,
                       PROSE * 50 + "½" + PROSE * 50, PROSE * 40 + "e" + "\u0301" * 3 + PROSE, "%s\ud800 é", "é\\ud800"]


# ── the general path, as it was before the fast paths ───────────────────────────────────────────────────

def _general_unquote(text: str) -> str:
    escaped = text.replace("\\", "\\\\")
    try:
        raw = codecs.escape_decode(escaped.replace("%", "\\x").encode("utf-8", "surrogatepass"))[0]
    except (ValueError, UnicodeError):
        try:
            fixed = D._BAD_PERCENT.sub(r"\\x25", escaped).replace("%", "\\x")
            raw = codecs.escape_decode(fixed.encode("utf-8", "surrogatepass"))[0]
        except (ValueError, UnicodeError):
            return unquote(text, errors="replace")
    return raw.decode("utf-8", "replace")


def _general_fold(text: str, growth: int = N._MAX_FOLD_GROWTH) -> tuple[str, int]:
    if growth <= 0:
        return text, N._CLIPPED
    parts, size = [], 0
    for start in range(0, len(text), N._FOLD_CHUNK):
        end = start + N._FOLD_CHUNK
        part = text[start:end]
        if not part.isascii():
            part = N._FORMAT_CHARS.sub("", unicodedata.normalize("NFKC", part)).translate(N._SLASHES)
        parts.append(part)
        size += len(part)
        if size > N._MAX_FOLDED_CHARS:
            return "".join(parts)[:N._MAX_FOLDED_CHARS], N._CLIPPED
        if size - min(end, len(text)) > growth:
            return ("".join(parts) + text[end:])[:N._MAX_FOLDED_CHARS], N._CLIPPED
    return "".join(parts), 0


_GENERAL_OVERLONG = re.compile(r"%(c[01])%([0-9ab][0-9a-f])|%(e0)%([89][0-9a-f])%([0-9a-f]{2})"
                               r"|%(?:f0|f8%80|fc%80%80)%80%80%([0-9a-f]{2})", re.IGNORECASE)


def _general_fix_overlong(match: re.Match[str]) -> str:
    if match.group(1):
        code = ((int(match.group(1), 16) & 0x1F) << 6) | (int(match.group(2), 16) & 0x3F)
    elif match.group(6):
        code = int(match.group(6), 16) & 0x7F
    else:
        code = ((int(match.group(3), 16) & 0x0F) << 12) | ((int(match.group(4), 16) & 0x3F) << 6) \
            | (int(match.group(5), 16) & 0x3F)
    return f"%{code:02x}"


def _general_decode_once(text: str, *, plus: bool, json_text: bool) -> tuple[str, int]:
    markers = 0
    if plus:
        text = text.replace("+", " ")
    if "%" in text:
        if _GENERAL_OVERLONG.search(text):
            text = _GENERAL_OVERLONG.sub(_general_fix_overlong, text)
            markers |= N._OVERLONG
        text, found = D._decode_escapes(text, D._PERCENT_U, flag_metachars=True)
        markers |= found
        text = _general_unquote(text)
    text = D._unescape_entities(text)
    text, found = D._decode_escapes(text, D._ESCAPE_RE, flag_metachars=not json_text)
    return text, markers | found


# ── equality ─────────────────────────────────────────────────────────────────────────────────────────────

def test_the_url_decoder_on_bytes_and_its_skip_equal_the_general_decoder():
    for text in TEXTS:
        expected = _general_unquote(text)
        assert D._unquote(text) == expected, repr(text[:80])
        assert D._unquote_escapes(text) == expected, repr(text[:80])


def test_the_fold_equals_the_general_fold_with_or_without_special_characters():
    for text in TEXTS:
        for growth in (N._MAX_FOLD_GROWTH, 40, 0):
            assert N._fold_unicode(text, growth) == _general_fold(text, growth), repr(text[:80])


def test_one_decoding_round_equals_the_general_round():
    for text in TEXTS:
        for plus, json_text in ((False, False), (True, False), (False, True)):
            assert D._decode_once(text, plus=plus, json_text=json_text) == \
                _general_decode_once(text, plus=plus, json_text=json_text), repr(text[:80])


def test_the_encoded_dot_prefilter_never_hides_one():
    for text in TEXTS + ["é..%2f", "é%252e", "é%U002E", "é%C0%AE", "é%uFF0E", "é..%25255C"]:
        if N._has_encoded_dot(text) or N._has_form_encoded_dot(text):
            assert N._maybe_encoded_dot(text), repr(text[:80])


def test_the_folds_one_question_looks_for_exactly_what_its_two_searches_do():
    """Asked of each folded chunk: a character it misses would keep a format character or a look-alike slash
    (``½`` folds to ``1⁄2``) where the general path removed it or made it ``/``."""
    special = re.compile(N._FOLD_SPECIAL)
    slashes = set(N._SLASHES)
    differ = [hex(code) for code in range(0x110000) if not 0xD800 <= code <= 0xDFFF
              and bool(special.match(chr(code))) != bool(code in slashes or N._FORMAT_CHARS.match(chr(code)))]
    assert differ == []
    assert N._fold_unicode("é ½ ㎧ ￦ a\u200bb") == ("é 1/2 m/s \\ ab", 0)


def test_overlong_sequences_in_any_case_are_decoded_as_the_general_pattern_does():
    texts = ["%C0%AE%c0%ae%C0%af%c1%1c", "%E0%80%AF%e0%80%ae", "%F0%80%80%AF", "%f8%80%80%80%AF", "%FC%80%80%80%80%af",
             "é%c0%ae" * 300, "%c0%c0%af%c0%2f"]
    for text in texts + TEXTS:
        assert D._OVERLONG_RE.sub(D._fix_overlong, text) == _GENERAL_OVERLONG.sub(_general_fix_overlong, text)
        assert D._has_overlong(text) == bool(_GENERAL_OVERLONG.search(text))


# ── the work skipped ─────────────────────────────────────────────────────────────────────────────────────

class _Spy:
    """Counts calls of a pattern's method (a compiled pattern's methods cannot be patched)."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern, self.calls = pattern, 0

    def __getattr__(self, name: str):
        method = getattr(self.pattern, name)

        def counted(*args, **kwargs):
            self.calls += 1
            return method(*args, **kwargs)
        return counted


def test_wide_text_without_format_characters_is_not_searched_chunk_by_chunk(monkeypatch):
    spy = _Spy(N._FORMAT_CHARS)
    monkeypatch.setattr(N, "_FORMAT_CHARS", spy)
    text, _ = N._normalise(PROSE * 100)
    assert spy.calls == 0
    assert "café — déjà vu → 3 × 4" in text
    N._normalise(PROSE * 10 + "un\u200bion")         # one zero-width space: the chunks are searched
    assert spy.calls > 0


def test_percent_signs_without_an_escape_skip_the_url_decoder(monkeypatch):
    calls = []
    general = D._unquote
    monkeypatch.setattr(D, "_unquote", lambda text: calls.append(text) or general(text))
    prose = PROSE * 100                                # "%s", "50 %": a % but no %XX
    assert N._normalise(prose)[0] == " ".join(prose.split()).lower()
    assert calls == []
    assert N._normalise(prose + "%3Cscript")[0].endswith("<script")
    assert len(calls) == 1                             # the first round decodes; the second finds nothing


def test_backslashes_without_an_escape_skip_the_escape_decoder(monkeypatch):
    calls = []
    general = D._decode_escapes
    monkeypatch.setattr(D, "_decode_escapes", lambda *a, **k: calls.append(a[1]) or general(*a, **k))
    N._normalise(PROSE * 100)                          # C:\path, "\\n": backslashes, no \uXXXX or \xXX
    assert calls == []
    assert "<" in N._normalise(PROSE + "\\u003c")[0]
    assert calls
