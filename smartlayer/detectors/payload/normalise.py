"""Normalisation: undo what attackers hide payloads behind, once per text.

URL-encoding (often twice), HTML entities, fullwidth or zero-width
characters, ``\\uXXXX`` escapes and overlong UTF-8 are decoded; doing so more
than once, or finding an escape that hides a metacharacter, is evidence in
itself (the markers).  Bounded: at most three decoding rounds, and NFKC stops
at a fixed size.
"""
from __future__ import annotations

import re
import unicodedata
from html.entities import html5
from typing import Any

from .decoders import (  # noqa: F401  (_OVERLONG_RE, _has_overlong, _unquote: read from here too)
    _ESCAPES,
    _OVERLONG,
    _OVERLONG_RE,
    _decode_once,
    _has_overlong,
    _unquote,
)
from .engine import occurs

# ── normalisation ──────────────────────────────────────────────────────────

_MAX_DECODE_ROUNDS = 3
_DOUBLE_ENCODING = 1
#: Not evidence: NFKC expanded the text past :data:`_MAX_FOLDED_CHARS` and the rest was dropped.
_CLIPPED = 8
#: NFKC can turn one character into eighteen (U+FDFA); 64 KiB of those would
#: take tens of milliseconds to fold and scan, so folding stops here.
_MAX_FOLDED_CHARS = 64 * 1024
#: What folding may add to a text: real text grows a little under NFKC (ligatures, ½, ㎏), a crafted one
#: eighteenfold; past this the expansion is not normal text, and folding the rest would cost tens of ms.
_MAX_FOLD_GROWTH = 4 * 1024
_FOLD_CHUNK = 256
#: A decoded (not literal) line break in a value: followed by a header line, header injection.
_CRLF_HEADER, _CRLF = 16, 32
#: A percent-encoded dot (no client needs one: dots are unreserved), or a climb ``..`` then an encoded
#: slash: traversal payloads hide behind both.
_ENCODED_DOT = 64
#: A decoded CR LF pair: the end of a header line, what response splitting needs (a textarea sends its line
#: breaks in the body, not in a query value, a header or the path).
_CRLF_PAIR = 128
_ENCODED_DOT_RE = re.compile(r"%(?:25){0,3}2[eE]|%[uU]002[eE]|%[cC]0%[aA][eE]|%[uU][fF][fF]0[eE]"
                             r"|\.\.%(?:25){0,3}(?:2[fF]|5[cC])")   # spelled out: IGNORECASE is 5× slower
#: The same in form-encoded text (a query string, an urlencoded body), where a browser writes every ``/``
#: and ``\\`` a person typed as ``%2F`` and ``%5C`` but never escapes a dot: there ``..%2F`` is the
#: ``../`` of "see ../README.md" in a comment, and only an escaped slash escaped again after a climb
#: (``..%252f``) is a trick.  The path, a header, a cookie or JSON text has no such encoder between the
#: person and the server, so ``..%2f`` marks there.
_FORM_ENCODED_DOT_RE = re.compile(r"%(?:25){0,3}2[eE]|%[uU]002[eE]|%[cC]0%[aA][eE]|%[uU][fF][fF]0[eE]"
                                  r"|\.\.%(?:25){1,3}(?:2[fF]|5[cC])")
#: Whether they occur, through an automaton (see :func:`.engine.occurs`).
_has_encoded_dot = occurs(_ENCODED_DOT_RE.pattern)
_has_form_encoded_dot = occurs(_FORM_ENCODED_DOT_RE.pattern)
#: A byte 0xA0 sent alone, not inside a UTF-8 sequence: no character, but whitespace to MySQL
#: (``1%A0UNION%A0SELECT``: sqlmap's blank tamper); read as the space it stands for, where UTF-8 makes it U+FFFD
#: and the words around it one.  In a sequence (``%C2%A0``, NFKC's space already) it is left alone.
_LONE_A0 = re.compile(r"(?<!%[0-9a-fA-F]{2})%[aA]0")
#: A value that is nothing but an angle bracket (and quotes) written as a character reference or an escape
#: (``&#x0003c``, ``&LT``, ``\\x3c``): the probe for which spelling of ``<`` a filter lets through.  A person
#: types ``<`` (the browser percent-encodes it); only a filter-evasion list writes it as a reference.
_ENCODED_BRACKET = 256
_BRACKET_ONLY = re.compile(r"[\s\"'`/]{0,3}[<>][\s<>\"'`/]{0,3}")
_PLAIN_BRACKET = re.compile(r"[<>]|%3[ce]", re.IGNORECASE)
_MARKER_NAMES = ((_DOUBLE_ENCODING, "double_encoding"), (_OVERLONG, "overlong_utf8"),
                 (_ESCAPES, "escape_obfuscation"), (_CRLF_HEADER, "crlf_header_injection"),
                 (_CRLF, "crlf_encoded_newline"), (_ENCODED_DOT, "encoded_dot"),
                 (_CRLF_PAIR, "crlf_encoded_pair"), (_ENCODED_BRACKET, "xss_encoded_bracket"))
#: A line break then a header line: what a response-splitting payload writes.
_HEADER_LINE = re.compile(r"[\r\n][\t ]{0,4}[a-z][a-z0-9-]{1,40}[\t ]{0,4}:|[\r\n][^\r\n]{0,8}(?:set-cookie|location"
                          r"|content-(?:type|length)|refresh|x-xss-protection|access-control-allow-origin)[\t ]{0,4}:",
                          re.IGNORECASE)
#: Dots and slashes written as C hex literals (``0x2e0x2e0x2f``): a path-traversal spelling.
_HEX_SEPARATOR = re.compile(r"0x(2[ef]|5c)", re.IGNORECASE)
#: The escapes of a URL's own structure (space, ``/ : ? = & # + , @``).  In a form (a query string, an urlencoded
#: body) a URL that carries them is escaped again as a whole: a ``next=`` or ``redirect_uri=`` whose own query has
#: ``%20``, a link pasted into a comment.  A second round that decodes nothing else is that, not double encoding;
#: a dot, a quote, a bracket or a third round escaped again is.
_URL_ESCAPE = re.compile(r"%(20|2[fFbBcC]|3[aAfFdD]|2[36]|40)")
#: SQL comments read as the spaces they stand for (``union/**/select``), and
#: MySQL's executable comments (``/*!50000union*/``) as their content.
#: A comment's text cannot contain ``*/`` (runs of non-stars, each closed by stars, the last stars followed
#: by ``/``: one way to read each character) and is bounded, so ``/*/*/*…`` costs linear time.
_SQL_COMMENT = re.compile(r"/\*(?!!)[^*]{0,100}\*{1,10}(?:[^*/][^*]{0,100}\*{1,10}){0,5}/")
_SQL_COMMENT_MARK = re.compile(r"/\*!?\d{0,6}|\*/")

#: ASCII text without these, without an HTML entity and without a double
#: space is already normal but for case: the fast path of every header.
_NEEDS_WORK = re.compile(r"[%\\\t-\r\x1c-\x1f]")


def needs_work(text: str) -> bool:
    """Whether ``text`` holds one of :data:`_NEEDS_WORK`'s characters.

    One substring test per character (a ``memchr`` each) rather than the
    pattern's search: as fast on a short value, thirteen times faster on the
    KiB of a form body, which is read two or three times before matching.
    """
    return ("%" in text or "\\" in text or "\n" in text or "\r" in text or "\t" in text or "\x0b" in text
            or "\x0c" in text or "\x1c" in text or "\x1d" in text or "\x1e" in text or "\x1f" in text)


def has_hex_prefix(text: str) -> bool:
    """Whether ``text`` holds ``0x`` or ``0X`` (a C hex literal the normaliser reads): most text has no ``0`` at all."""
    return "0" in text and ("0x" in text or "0X" in text)
#: What ``html.unescape`` can decode: numeric references, ``&name;`` and the
#: legacy names it accepts without a semicolon (``&lt``, ``&copy``).  A Referer
#: with ``?a=1&page=2`` has none and skips the decoders.
_ENTITY = re.compile(
    "&(?:#|[a-z][a-z0-9]{1,31};|" + "|".join(sorted({k.lower() for k in html5 if not k.endswith(";")})) + ")",
    re.IGNORECASE,
)
#: Look-alikes of the path separators that NFKC leaves alone (division slash, fraction slash, set minus…).
_SLASHES_FROM = {"\u2215": "/", "\u2044": "/", "\u29f8": "/", "\u2216": "\\", "\u29f5": "\\", "\u29f9": "\\",
                 "\u20a9": "\\"}
_SLASHES = str.maketrans(_SLASHES_FROM)
_SLASH_LOOKALIKES = re.compile("[\u2215\u2044\u29f8\u2216\u29f5\u29f9\u20a9]")
#: Unicode format characters (category Cf): zero-width spaces and joiners,
#: bidi controls, soft hyphen, BOM, tags.  Invisible, so used to split keywords.
_FORMAT_CHARS = re.compile(
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
)
#: What :func:`_fold_unicode`'s two searches look for in a folded chunk: a format character, a look-alike slash.
_FOLD_SPECIAL = "[" + _FORMAT_CHARS.pattern[1:-1] + "".join(_SLASHES_FROM) + "]"
_has_fold_special = occurs(_FOLD_SPECIAL)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", errors="replace")
    return "" if value is None else str(value)


def _fold_unicode(text: str, growth: int = _MAX_FOLD_GROWTH) -> tuple[str, int]:
    """NFKC (fullwidth ``＜`` → ``<``) without invisible format characters.

    Long text is folded in chunks; once the folded part has grown by more
    than ``growth`` characters (what is left of the request's allowance) the
    rest is left as it is, and once the text reaches
    :data:`_MAX_FOLDED_CHARS` it is cut (both set the ``_CLIPPED`` bit: only
    crafted text gets there, and the scan reports itself truncated).
    """
    if growth <= 0:
        return text, _CLIPPED
    parts: list[str] = []
    size = 0
    for start in range(0, len(text), _FOLD_CHUNK):
        end = start + _FOLD_CHUNK
        part = text[start:end]
        # an ASCII chunk is its own NFKC, and holds no format character or look-alike slash: isascii() reads a
        # flag, where the two searches cost 60 ns a character (4 ms on 60 KiB of code with a few accents)
        if not part.isascii():
            part = unicodedata.normalize("NFKC", part)
            # the two searches below cost ~60 ns a character in the stdlib: the automaton's pass over the
            # folded chunk (a few ns a byte) says whether it holds anything they look for; most text holds none
            if _has_fold_special(part):
                part = _FORMAT_CHARS.sub("", part)
                if _SLASH_LOOKALIKES.search(part):      # str.translate with a table is slow on non-ASCII text
                    part = part.translate(_SLASHES)
        parts.append(part)
        size += len(part)
        if size > _MAX_FOLDED_CHARS:
            return "".join(parts)[:_MAX_FOLDED_CHARS], _CLIPPED
        if size - min(end, len(text)) > growth:
            return ("".join(parts) + text[end:])[:_MAX_FOLDED_CHARS], _CLIPPED
    return "".join(parts), 0


def _is_plain(text: str, form: bool) -> bool:
    """True when normalising ``text`` could only change its case."""
    return (
        text.isascii()
        and not (form and "+" in text) and not needs_work(text)
        and "  " not in text
        and ("&" not in text or _ENTITY.search(text) is None)
        and not has_hex_prefix(text)
    )


def _normalise(text: str, *, form: bool = False, json_text: bool = False, lines: bool = False,
               growth: int = _MAX_FOLD_GROWTH, keep_lines: bool = False) -> tuple[str, int]:
    """The normalised text and a bit set of the encoding tricks seen.

    ``form``: ``+`` means a space (query strings, urlencoded bodies), in the
    first round only — after one decoding a ``+`` is a literal plus.
    ``json_text``: ``\\uXXXX`` escapes are JSON's own, not a trick.
    ``lines``: the text is a value that cannot hold a line break of its own
    (a query value, a header, the path): a decoded one is a marker, and a
    shell separator for the signatures.
    ``keep_lines``: the text is many fields, one a line (``lines`` must be
    False): whitespace is collapsed within each line, the line breaks stay.
    """
    if _is_plain(text, form):
        return text.lower(), 0
    raw = text
    raw_breaks = lines and ("\n" in text or "\r" in text)
    markers = _ENCODED_DOT if "%" in text and _maybe_encoded_dot(text) and (
        _has_form_encoded_dot(text) if form else _has_encoded_dot(text)) else 0
    if not text.isascii():
        size = len(text)
        text, folded = _fold_unicode(text, growth)
        growth -= len(text) - size
        markers |= folded
    changes = 0
    nested_url = False
    for round_ in range(_MAX_DECODE_ROUNDS):
        decoded, found = _decode_once(text, plus=form and round_ == 0, json_text=json_text)
        if "\ufffd" in decoded and ("%a0" in text or "%A0" in text):     # (sent as such, or ``%25A0`` a round ago)
            decoded, found = _decode_once(_LONE_A0.sub("%20", text), plus=form and round_ == 0, json_text=json_text)
        markers |= found
        if decoded == text:
            break
        changes += 1
        if form and changes == 2:
            nested_url = _URL_ESCAPE.sub(_hex_char, text) == decoded
        if decoded.isascii():
            text = decoded
        else:
            text, clipped = _fold_unicode(decoded, growth)
            growth -= max(0, len(text) - len(decoded))
            markers |= clipped
    if changes > 1 and not (changes == 2 and nested_url):
        markers |= _DOUBLE_ENCODING
    if lines and changes and not raw_breaks and ("\n" in text or "\r" in text):
        markers |= _CRLF_HEADER if _HEADER_LINE.search(text) else _CRLF | _CRLF_PAIR if "\r\n" in text else _CRLF
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", " ; ")
    if "0x" in text or "0X" in text:
        text = _HEX_SEPARATOR.sub(_hex_char, text)
    if keep_lines:
        return _collapsed_lower(text, "\n"), markers
    text = _collapsed_lower(text, " ")
    if lines and changes and len(text) <= 64 and _BRACKET_ONLY.fullmatch(text.rpartition("=")[2]) \
            and not _PLAIN_BRACKET.search(raw):       # the bracket was not sent as itself or its percent-escape
        markers |= _ENCODED_BRACKET
    return text, markers


#: Length from which a text that is not ASCII has its whitespace collapsed and its case lowered line by line
#: (:func:`_collapsed_lower`), and the shortest and longest mean line lengths for which that pays.
_LINEWISE_CHARS = 4096
_LINEWISE_MEAN = 32
_LINEWISE_LONGEST = 1024


def _collapsed_lower(text: str, between: str) -> str:
    """``text`` with its whitespace collapsed to single spaces and lowered: its lines joined by ``between``
    (``"\\n"``: kept, an empty line left empty; ``" "``: read as spaces, as ``" ".join(text.split())``).

    Why line by line on a long text that is not ASCII: one emoji makes a whole 60 KiB text four bytes a
    character, and every word ``split()`` cuts out of it, the ``join`` and ``lower()`` (a Unicode case
    lookup a character) then read it so: 9.9 M instructions on 60 KiB of prose and code with 25 wide
    lines of 941.  Cut at its line breaks first, each ASCII line is a string of one byte a character,
    lowered by ASCII's table: 6.9 M.  The same text: a line break is whitespace (``split()`` cuts there
    anyway), and ``lower()`` looks across no space or line break (the one character it reads in context,
    a capital sigma, looks for a cased letter before and after, past case-ignorable characters only).
    Many short lines (a call a line) go the whole way, as a short or ASCII text does, and so do a few long
    ones (a JSON document on one line: cutting it only copied it, 0.3 M more on 60 KiB).
    """
    breaks = 0 if len(text) < _LINEWISE_CHARS or text.isascii() else text.count("\n")
    if not breaks * _LINEWISE_MEAN <= len(text) <= breaks * _LINEWISE_LONGEST:
        if between == "\n":
            return "\n".join([" ".join(line.split()) for line in text.split("\n")]).lower()
        return " ".join(text.split()).lower()
    lines = [" ".join(line.split()).lower() for line in text.split("\n")]
    return "\n".join(lines) if between == "\n" else " ".join([line for line in lines if line])


def _maybe_encoded_dot(text: str) -> bool:
    """Whether :data:`_ENCODED_DOT_RE` can match: substring tests, far cheaper than its search.

    On wide text (not Latin-1: an em dash, an arrow) a substring test reads every character without
    ``memchr``, seven of them 2 M instructions on 60 KiB; there a search that jumps from ``%`` to ``%``
    asks the same (every alternative of the pattern has a ``%`` followed by what it looks for).
    """
    if not text.isascii():
        return _MAYBE_DOT.search(text) is not None
    return "2e" in text or "2E" in text or ".%" in text or "%u" in text or "%U" in text or "%c0" in text \
        or "%C0" in text


_MAYBE_DOT = re.compile(r"%(?:(?:25){0,3}(?:2[eEfF]|5[cC])|[uU]|[cC]0)")


def _hex_char(match: re.Match[str]) -> str:
    return chr(int(match.group(1), 16))


def without_sql_comments(text: str) -> str:
    """``text`` with SQL comment markers read as spaces; the same text when it has none.

    The empty comment ``/**/`` (``union/**/select``, the usual way to write
    a space without one) is replaced in C first: where no other marker is
    left, the two patterns would have matched exactly those (each ``/*`` of
    the text started one, and :data:`_SQL_COMMENT` matches no more than
    ``/**/`` from there), so the answer is the same.  A JSON list of 64 KiB
    of ``union/**//**/…`` cost a Python-level replacement per comment, twice
    (the first and the second joined pass); anything else left (``/*`` or
    ``*/``) takes the patterns, on the text as it came.
    """
    if "*" not in text or ("/*" not in text and "*/" not in text):
        return text
    bare = text.replace("/**/", " ") if "/**/" in text else text
    if bare is text or "/*" in bare or "*/" in bare:
        bare = _SQL_COMMENT_MARK.sub(" ", _SQL_COMMENT.sub(" ", text))
    if "\n" not in text:
        return " ".join(bare.split())
    return "\n".join(" ".join(line.split()) for line in bare.split("\n"))   # one text a line: keep the lines


def normalise(text: str) -> str:
    """The text signatures are matched against.

    Repeated URL-decoding (at most three rounds, until stable), HTML entities,
    ``\\uXXXX``/``\\xXX`` escapes, Unicode NFKC, invisible format characters
    removed, whitespace collapsed to single spaces, lower case.  ``+`` stays a
    plus here; the query-string and form scanners read it as a space.
    """
    try:
        return _normalise(_as_text(text))[0]
    except Exception:  # the contract: never raises
        return ""


