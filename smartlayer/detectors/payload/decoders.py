"""The decoders of one normalisation round: URL escapes (and overlong UTF-8, IIS ``%uXXXX``), HTML
character references, ``\\uXXXX``/``\\xXX`` escapes.

Each is asked first, by a search that jumps from ``%``, ``&`` or backslash to the next, whether it would
change anything: prose and code hold those characters without an escape, and on wide text (an accent, a
dash: not Latin-1) every pass of a decoder reads it a character at a time.
"""
from __future__ import annotations

import codecs
import html
import operator
import re
from bisect import bisect_left
from itertools import islice
from typing import Any
from urllib.parse import unquote

from .engine import occurs
from .entities import decodable_references, unescaped_reference
from .json_escapes import json_unescaped

#: Markers (bits of :func:`.normalise._normalise`'s set): an overlong sequence, an escape hiding a metacharacter.
_OVERLONG, _ESCAPES = 2, 4
#: Overlong UTF-8 for ASCII (two- and three-byte forms), e.g. %c0%af for "/".
#: Also what old servers (IIS) decoded although it is not UTF-8 at all: ``%c0%2e`` read as ``.``, and the
#: four- to six-byte forms (``%f0%80%80%af``, ``%f8%80%80%80%af``) of an ASCII character.
#: Spelled out rather than IGNORECASE (no other character folds to a hex digit or to c, e, f): the search then
#: jumps from ``%`` to ``%`` where the IGNORECASE one tries every character (7 M instructions on 60 KiB of
#: attack strings with 4,000 ``%``).
_OVERLONG_RE = re.compile(r"%([cC][01])%([0-9abAB][0-9a-fA-F])|%([eE]0)%([89][0-9a-fA-F])%([0-9a-fA-F]{2})"
                          r"|%(?:[fF]0|[fF]8%80|[fF][cC]%80%80)%80%80%([0-9a-fA-F]{2})")
_has_overlong = occurs(_OVERLONG_RE.pattern)
#: Cheap case-sensitive pre-checks: an IGNORECASE search costs several µs per KiB, on every form body.
_MAYBE_OVERLONG = re.compile(r"%[cCeEfF]")
#: IIS-style %uXXXX.
_PERCENT_U = re.compile(r"%u([0-9a-f]{4})", re.IGNORECASE)
#: JavaScript/JSON/C escapes; a surrogate pair first so it becomes one character.
_ESCAPE_RE = re.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})|\\u([0-9a-f]{4})|\\x([0-9a-f]{2})",
                        re.IGNORECASE)
#: The same escapes as whole tokens (no groups, for ``findall``), and the character each starts with.  Their
#: cases spelled out rather than IGNORECASE (no other character folds to u, x, d or a hex digit): the search
#: then jumps from backslash to backslash (``%`` to ``%``), a third less on 64 KiB of JSON escapes.
_ESCAPE_TOKENS = {
    _ESCAPE_RE: (re.compile(r"\\[uU][dD][89abAB][0-9a-fA-F]{2}\\[uU][dD][c-fC-F][0-9a-fA-F]{2}"
                            r"|\\[uU][0-9a-fA-F]{4}|\\[xX][0-9a-fA-F]{2}"), "\\"),
    _PERCENT_U: (re.compile(r"%[uU][0-9a-fA-F]{4}"), "%"),
}
#: The same escapes as one capturing group, to split a text at them (:func:`_decode_escapes`).
_SPLIT = {pattern: re.compile(f"({tokens.pattern})", tokens.flags) for pattern, (tokens, _) in _ESCAPE_TOKENS.items()}
#: Characters an escape has no business hiding in ordinary text.
_METACHARACTERS = frozenset("<>'\"`;()|&$\\/\x00")


def _fix_overlong(match: re.Match[str]) -> str:
    """Re-encode an overlong sequence as the ASCII character it smuggles (each sequence worked out once:
    a list of traversal strings repeats a few of them thousands of times)."""
    token = match.group()
    fixed = _OVERLONG_FIXED.get(token)
    if fixed is None:
        if len(_OVERLONG_FIXED) >= 4096:        # bounded: every spelling of every byte is ~40,000 tokens
            _OVERLONG_FIXED.clear()
        fixed = _OVERLONG_FIXED[token] = _overlong_char(match)
    return fixed


_OVERLONG_FIXED: dict[str, str] = {}


def _overlong_char(match: re.Match[str]) -> str:
    if match.group(1):
        code = ((int(match.group(1), 16) & 0x1F) << 6) | (int(match.group(2), 16) & 0x3F)
    elif match.group(6):
        code = int(match.group(6), 16) & 0x7F
    else:
        code = ((int(match.group(3), 16) & 0x0F) << 12) | ((int(match.group(4), 16) & 0x3F) << 6) \
            | (int(match.group(5), 16) & 0x3F)
    return f"%{code:02x}"


def _decode_escapes(text: str, pattern: re.Pattern[str], flag_metachars: bool) -> tuple[str, int]:
    """Replace ``\\uXXXX``/``\\xXX`` (or ``%uXXXX``) escapes by their characters.

    An escape standing for a metacharacter in text that is not JSON is the
    trick itself (``\\u003cscript``), so it sets the ``escape_obfuscation``
    marker; JSON encoders escape ``<`` legitimately, so JSON text does not.
    """
    found = False

    def replace(match: re.Match[str]) -> str:
        nonlocal found
        groups = match.groups()
        if len(groups) == 1:                       # %uXXXX
            code = int(groups[0], 16)
        elif groups[0]:                            # surrogate pair
            high, low = int(groups[0], 16), int(groups[1], 16)
            return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
        else:
            code = int(groups[2] or groups[3], 16)
        if 0xD800 <= code <= 0xDFFF:               # lone surrogate: not text
            return "\ufffd"
        char = chr(code)
        if char in _METACHARACTERS:
            found = True
        return char

    tokens = _ESCAPE_TOKENS[pattern]
    if text.count(tokens[1]) >= _MANY_REFERENCES:
        distinct = _few_distinct(tokens[0], text)
        if distinct is not None:                 # a few escapes repeated: decoded once each, as references are
            decoded_of = {token: pattern.sub(replace, token) for token in distinct}
            for token in sorted(distinct, key=lambda t: (decoded_of[t] in ("\\", "%"), -len(t))):
                text = text.replace(token, decoded_of[token])
            return text, (_ESCAPES if found and flag_metachars else 0)
    # split at the escapes (the matches sub() would replace, in the same order): each distinct one decoded
    # once, not a Python call per escape — a JSON text of non-Latin prose holds hundreds (~9k instructions each)
    pieces = _SPLIT[pattern].split(text)
    tokens_found = pieces[1::2]
    distinct = set(tokens_found)
    table = _decoded_tokens(distinct, pattern)
    for token in distinct.difference(table) if table else distinct:
        table[token] = _decoded_token(token, pattern, replace)
    pieces[1::2] = [table[token] for token in tokens_found]
    if not found:               # tokens not decoded by replace(): the same test, on their characters (one each)
        found = not _METACHARACTERS.isdisjoint(table.values())
    return "".join(pieces), (_ESCAPES if found and flag_metachars else 0)


#: Distinct escape tokens of one text, not yet remembered, from which they are decoded all at once
#: (:func:`_decoded_tokens`) rather than one ``sub`` and one Python call each.
_BATCH_TOKENS = 64
#: A character of a lone surrogate, which an escape's decoding makes U+FFFD (see ``replace`` above).
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _decoded_tokens(distinct: set[str], pattern: re.Pattern[str]) -> dict[str, str]:
    """What each of ``distinct`` (whole escape tokens of ``pattern``) decodes to — those not remembered
    (:data:`_DECODED_TOKENS`), decoded together when there are more than :data:`_BATCH_TOKENS`; {} else.

    Why: random characters sent as JSON (``json.dumps`` writes each as ``\\uXXXX``) are thousands of
    distinct tokens in 60 KiB, and each cost a ``sub`` and a Python call (~2 µs: 13 ms a request).  Joined,
    they are one ``unicode_escape`` decoding in C, one character a token: the surrogate pairs apart (two
    escapes, one character, joined as UTF-16), a lone surrogate then U+FFFD — what ``replace`` makes of
    each.  Remembered as the one-by-one path remembers them, while the memory has room for them all.
    """
    memory = _DECODED_TOKENS
    missing = distinct.difference(memory) if memory else distinct
    if len(missing) <= _BATCH_TOKENS:
        return {}
    # the surrogate pairs last (\\uD83D\\uDE00: twelve characters, two escapes, one character): sorted by
    # length and cut where they start, in C rather than a Python test a token
    missing = sorted(missing, key=len)
    cut = bisect_left(list(map(len, missing)), 12)
    singles, pairs = missing[:cut], missing[cut:]
    try:
        table = dict(zip(singles, _unescaped(singles, pattern), strict=True)) if singles else {}
        if pairs:
            table.update(zip(pairs, _unescaped(pairs, pattern, pairs=True), strict=True))
    except (UnicodeError, ValueError):         # not what the patterns match: one by one, as before
        return {}
    if len(missing) <= 4096:
        if len(memory) + len(missing) > 4096:
            memory.clear()
        for token in missing:                  # one by one, as _decoded_token remembers (a dict subclass sees each)
            memory[token] = table[token]
    return table


def _unescaped(tokens: list[str], pattern: re.Pattern[str], pairs: bool = False) -> str:
    """The tokens' characters, one a token, a lone surrogate as U+FFFD (``pairs``: the tokens are surrogate
    pairs, whose hex digits are their UTF-16).  Raises ValueError when that is not one a token."""
    joined = "".join(tokens)
    if pairs:                                  # \\uD83D\\uDE00 …
        chars = bytes.fromhex(joined.replace("\\u", "").replace("\\U", "")).decode("utf-16-be")
    else:
        if pattern is _PERCENT_U:
            joined = joined.replace("%u", "\\u").replace("%U", "\\u")
        else:                                  # the patterns ignore case; unicode_escape does not
            joined = joined.replace("\\U", "\\u").replace("\\X", "\\x")
        chars = joined.encode("ascii").decode("unicode_escape")
        if chars and "\ud800" <= max(chars) and _LONE_SURROGATE.search(chars):
            chars = _LONE_SURROGATE.sub("\ufffd", chars)
    if len(chars) != len(tokens):
        raise ValueError("escapes that are not one character each")
    return chars


#: Escape tokens (``\\u00e9``, ``%u0041``: each spelling of a character is its own token) and what
#: :func:`_decode_escapes` decodes them to: a pure function of the token, kept so that a JSON text of
#: non-Latin prose (300 distinct escapes in 60 KiB, a ``sub`` and a Python call each: ~0.3 ms) costs a
#: lookup per distinct token the next time.  Bounded, cleared when full.
_DECODED_TOKENS: dict[str, str] = {}


def _decoded_token(token: str, pattern: re.Pattern[str], replace: Any) -> str:
    """``pattern.sub(replace, token)`` for one whole escape token, through :data:`_DECODED_TOKENS`.  A token
    read from the memory does not call ``replace`` (which notes a metacharacter): the caller tests the
    characters itself."""
    decoded = _DECODED_TOKENS.get(token)
    if decoded is None:
        if len(_DECODED_TOKENS) >= 4096:
            _DECODED_TOKENS.clear()
        decoded = _DECODED_TOKENS[token] = pattern.sub(replace, token)
    return decoded


def _unquote(text: str) -> str:
    """``urllib.parse.unquote(text, errors="replace")``, four times faster on valid escapes.

    ``%XX`` become ``\\xXX`` for the C escape decoder (backslashes doubled
    first, so the text's own stay); a ``%`` not followed by two hex digits
    makes it refuse: such a ``%`` is then written as the escape of itself
    (``\\x25``) and the decoder run again, rather than falling back to the
    pure-Python unquote (a 64 KiB value cut in the middle of an escape cost
    four times more).
    """
    # on the text's bytes, not the text: the same replacements (UTF-8 holds no ASCII byte inside a longer
    # character), in memchr-speed passes, where two str.replace and an encoding of the longer escaped text
    # read wide text (an accent, a dash) a character at a time: 2 M instructions on 60 KiB of it
    escaped = text.encode("utf-8", "surrogatepass")
    if b"\\" in escaped:
        escaped = escaped.replace(b"\\", b"\\\\")
    try:
        raw = codecs.escape_decode(escaped.replace(b"%", b"\\x"))[0]
    except (ValueError, UnicodeError):
        try:
            raw = codecs.escape_decode(_BAD_PERCENT_BYTES.sub(rb"\\x25", escaped).replace(b"%", b"\\x"))[0]
        except (ValueError, UnicodeError):
            return unquote(text, errors="replace")
    return raw.decode("utf-8", "replace")  # type: ignore[union-attr]


#: Tokens read from a text's start before all of them: enough to tell many distinct ones (see :func:`_few_distinct`).
_PROBE_TOKENS = 64


def _few_distinct(tokens: re.Pattern[str], text: str, group: int = 0) -> set[str] | None:
    """The distinct matches of ``tokens`` in ``text`` (``group``: what ``findall`` gives) if at most
    :data:`_FEW_DISTINCT`, else None.  The first :data:`_PROBE_TOKENS` first: random characters posted as
    JSON (6,700 distinct escapes in 64 KiB) were read to the end by ``findall`` only to learn that they
    are many (~0.6 ms); more in a part of the text than allowed are more in the whole, the same answer."""
    probe = set(map(_GROUP[group], islice(tokens.finditer(text), _PROBE_TOKENS)))
    distinct = set(tokens.findall(text)) if len(probe) <= _FEW_DISTINCT else probe
    return distinct if len(distinct) <= _FEW_DISTINCT else None


_GROUP = (operator.methodcaller("group"), operator.methodcaller("group", 1))

#: A ``%`` that is not an escape (not followed by two hex digits).
_BAD_PERCENT = re.compile(r"%(?![0-9a-fA-F]{2})")
_BAD_PERCENT_BYTES = re.compile(_BAD_PERCENT.pattern.encode())
#: What ``html.unescape`` reads as one reference (its own pattern).
_REFERENCE = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)")
#: Above this many references, a text with few distinct ones is decoded one distinct reference at a time.
_MANY_REFERENCES = 64
_FEW_DISTINCT = 16


def _unescape_entities(text: str) -> str:
    """``html.unescape(text)``, without a Python call per reference when a few references repeat.

    ``&#39; or `` written 7,000 times cost 7,000 callbacks (tens of ms); the
    distinct references are decoded once each and replaced longest first, so
    that ``&#39`` never eats the start of ``&#390;``.  Many distinct ones go
    through ``html.unescape`` as before.

    A text whose every reference reads as itself (``&systemEntity;``,
    ``&x=1``: no such name) is returned as it is: ``html.unescape`` built it
    anew, a Python call per reference, 1.1 M instructions on 60 KiB of wide
    prose and code whose entities an earlier round had decoded; finding its
    references and trying each distinct one costs a third of that.  Short texts too, past a single ``&``:
    a call tries each prefix of a name that is not one (up to 31 lookups); sixty 1 KiB JSON strings of
    random characters made 1,800 such calls.
    """
    count = text.count("&")
    if count == 1:                              # the usual value: one call either way
        return html.unescape(text)
    few = count < _MANY_REFERENCES
    decodable = decodable_references()
    if decodable.search(text) is None:          # no reference that decodes: the text as it is
        return text
    if few:
        return decodable.sub(unescaped_reference, text)
    distinct = _few_distinct(_REFERENCE, text, 1)
    if distinct is None:
        return decodable.sub(unescaped_reference, text)
    # a reference decoded to "&" could start a new one: those are replaced last
    ordered = sorted(distinct, key=lambda ref: (html.unescape("&" + ref) == "&", -len(ref)))
    for ref in ordered:
        text = text.replace("&" + ref, html.unescape("&" + ref))
    return text


def _decode_once(text: str, *, plus: bool, json_text: bool) -> tuple[str, int]:
    """One round of URL, HTML-entity and escape decoding."""
    markers = 0
    if plus:
        text = text.replace("+", " ")
    if "%" in text and not text.isascii() and _PERCENT_ANY.search(text) is None:
        text = _repaired(text)          # no escape: the three searches below would each find nothing
    elif "%" in text:
        if _MAYBE_OVERLONG.search(text) and _has_overlong(text):
            text = _OVERLONG_RE.sub(_fix_overlong, text)
            markers |= _OVERLONG
        if ("%u" in text or "%U" in text) if text.isascii() else _PERCENT_U_HINT.search(text):
            text, found = _decode_escapes(text, _PERCENT_U, flag_metachars=True)
            markers |= found
        text = _unquote_escapes(text)
    if "&" in text:
        text = _unescape_entities(text)
    if "\\" in text and _ESCAPE_HINT.search(text):
        decoded = json_unescaped(text) if json_text else None      # thousands of escapes: the C scanner
        if decoded is not None:
            text = decoded
        else:
            text, found = _decode_escapes(text, _ESCAPE_RE, flag_metachars=not json_text)
            markers |= found
    return text, markers


#: Case-sensitive supersets of :data:`_ESCAPE_RE` and :data:`_PERCENT_U`: where neither finds anything the
#: decoder would change nothing.  An IGNORECASE search reads every character (1.2 M instructions on 60 KiB);
#: these start from a literal, so the search jumps from backslash to backslash (``%`` to ``%``); on text
#: that is not ASCII the same holds of two substring tests, which read every character without ``memchr``.
_ESCAPE_HINT = re.compile(r"\\[uUxX][0-9a-fA-F]{2}")
_PERCENT_U_HINT = re.compile(r"%[uU][0-9a-fA-F]{4}")


#: A ``%`` escape :func:`_unquote` decodes (a literal prefix: the search jumps from ``%`` to ``%``).
_PERCENT_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")


def _unquote_escapes(text: str) -> str:
    """:func:`_unquote`, skipped when it could change nothing.

    Without a ``%XX`` escape the text's bytes decode back to the text itself, but for a lone surrogate
    (JSON's ``"\\ud800"``), which becomes U+FFFD: a strict encoding finds one.  Source code, prose and
    a decoded text's second round hold ``%`` signs (``%s``, ``50 %``) and no escape; the five passes
    of the decoder over 60 KiB of wide (non-Latin-1) text cost ~4 M instructions, the check ~0.7 M.
    """
    if _PERCENT_ESCAPE.search(text) is None:
        return _repaired(text)
    return _unquote(text)


#: Either escape a ``%`` starts (``%XX``, ``%uXXXX``): without one, neither the overlong nor the ``%u`` nor the
#: ``%XX`` decoder changes a text.  On wide text (an emoji: four bytes a character, no ``memchr``) each search
#: reads it a character at a time, ~25 µs on 46 KiB; a decoded form field's second round made three of them.
_PERCENT_ANY = re.compile(r"%(?:[0-9a-fA-F]{2}|[uU][0-9a-fA-F]{4})")


def _repaired(text: str) -> str:
    """What :func:`_unquote` makes of a text without a ``%XX`` escape: the text itself, but for a lone
    surrogate (JSON's ``"\\ud800"``), which becomes U+FFFD; a strict encoding finds one."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _unquote(text)
    return text
