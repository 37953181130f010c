"""Parameter names and value shapes: what the log keeps instead of values.

A *shape* says what kind of value a parameter carried without keeping it:
``kind:length:classes:tag`` — ``int:4:d:1a2b``.

* kind — ``int``, ``dec``, ``uuid``, ``email``, ``date``, ``hex``, ``empty``,
  ``obj`` (a JSON object or list) or ``text``;
* length in characters (decoded);
* character classes present: ``l`` lower, ``u`` upper, ``d`` digit, ``s``
  space, ``p`` ordinary punctuation (``-_.,:/@+``), ``x`` anything else
  (quotes, ``<>;=()&|$`` …, control and non-ASCII characters);
* tag — 4 hex digits of a CRC of a short value (≤ 24 characters), so that a
  parameter taking a handful of values (``sort=price``) can be learned as an
  enumeration; no tag for longer values.  A tag is not the value: 65 536
  buckets, many values per bucket.

Pure Python, linear in the input, and bounded: at most :data:`MAX_PARAMS`
parameters per request, names cut to :data:`MAX_NAME` characters, values
looked at up to :data:`MAX_VALUE` characters.

A value's shape is here; reading a request's parameters (query string, form
fields, JSON keys) is in :mod:`.params`, and leaving that reading until the
parameters are read is in :mod:`.pending`.
"""
from __future__ import annotations

import zlib

MAX_PARAMS = 32
MAX_NAME = 64
MAX_VALUE = 2048
TAG_MAX_LENGTH = 24

#: kinds, from the narrowest to the widest; a learned kind accepts itself and those listed for it
KIND_ACCEPTS: dict[str, frozenset[str]] = {
    "empty": frozenset({"empty"}),
    "int": frozenset({"int", "empty"}),
    "dec": frozenset({"int", "dec", "empty"}),
    "hex": frozenset({"hex", "int", "empty"}),
    "uuid": frozenset({"uuid", "empty"}),
    "email": frozenset({"email", "empty"}),
    "date": frozenset({"date", "empty"}),
    "obj": frozenset({"obj", "empty"}),
}
CLASS_LETTERS = "ludspx"
_PUNCT = frozenset("-_.,:/@+")
_HEX = frozenset("0123456789abcdefABCDEF")
#: The bytes an ASCII e-mail address is made of (:func:`_is_email`): letters, digits and ``-._+``.
_EMAIL_BYTES = bytes(c for c in range(128) if chr(c).isalnum() or chr(c) in "-._+")


_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz")
_UPPER = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DIGITS = frozenset("0123456789")
_KNOWN = _LOWER | _UPPER | _DIGITS | _PUNCT | {" "}


#: An ASCII value's classes are read from its bytes mapped to class letters (:data:`_CLASS_OF_BYTE`, one
#: ``bytes.translate`` in C), then one ``in`` per class with the letter's code (an ``int`` needle is a
#: ``memchr``; a ``bytes`` needle costs ten times as much in argument handling), the six answers indexing
#: :data:`_CLASSES_BY_BITS`.  Counted in instructions: a 31-character query value 8.6k as a ``frozenset``
#: of its mapped bytes (a set insertion per character), 4.6k this way; the 880-character comment of a
#: typical form 26k with ``bytes`` needles, 13k this way.
_CLASS_OF_BYTE = bytes(ord("l" if c in _LOWER else "u" if c in _UPPER else "d" if c in _DIGITS else "s" if c == " "
                           else "p" if c in _PUNCT else "x") for c in map(chr, range(256)))
#: Two hex digits of each byte value: a value's 16-bit tag is two of them, looked up
#: (``format(crc, "04x")`` parses its spec and runs the general integer formatter, ~1.5 k instructions a value)
_HEX2 = tuple(f"{i:02x}" for i in range(256))
#: Bit ``i`` set for the ``i``-th letter of :data:`CLASS_LETTERS` → those letters, in order: 64 entries.
_CLASSES_BY_BITS = tuple("".join(letter for i, letter in enumerate(CLASS_LETTERS) if bits >> i & 1) for bits in range(64))
_L, _U, _D, _S, _P, _X = map(ord, CLASS_LETTERS)
#: Up to this length a value's classes were once read as a set of its mapped bytes, past it by a search
#: per class; one reading now, and the tests still check values either side of the old line.
_SEARCH_FROM = 96


def char_classes(value: str) -> str:
    """The classes present in ``value``, in :data:`CLASS_LETTERS` order.

    Never a Python loop over every character: this runs on every parameter
    of every request.  An ASCII value is mapped to class letters in C
    (:data:`_CLASS_OF_BYTE`); any other is reduced to its distinct
    characters (a 1 KiB comment has a few dozen).
    """
    if value.isascii():
        mapped = value.encode("ascii").translate(_CLASS_OF_BYTE)
        return _CLASSES_BY_BITS[(_L in mapped) + 2 * (_U in mapped) + 4 * (_D in mapped) + 8 * (_S in mapped)
                                + 16 * (_P in mapped) + 32 * (_X in mapped)]
    chars = set(value)
    rest = chars - _KNOWN
    lo = not chars.isdisjoint(_LOWER)
    ot = False
    for ch in rest:
        if not ch.isascii() and ch.isalpha():   # accented letters are letters, not specials
            lo = True
        else:
            ot = True
    return (("l" if lo else "") + ("" if chars.isdisjoint(_UPPER) else "u")
            + ("" if chars.isdisjoint(_DIGITS) else "d") + ("s" if " " in chars else "")
            + ("" if chars.isdisjoint(_PUNCT) else "p") + ("x" if ot else ""))


def _is_int(v: str) -> bool:
    body = v[1:] if v[:1] == "-" else v
    return 0 < len(body) <= 18 and body.isascii() and body.isdigit()


def _is_dec(v: str) -> bool:
    body = v[1:] if v[:1] == "-" else v
    for sep in (".", ","):
        whole, found, frac = body.partition(sep)
        if found:
            return (whole == "" or _is_int(whole)) and _is_int(frac) and "-" not in frac
    return False


def _is_uuid(v: str) -> bool:
    if len(v) != 36:
        return False
    parts = v.split("-")
    return [len(p) for p in parts] == [8, 4, 4, 4, 12] and all(_HEX.issuperset(p) for p in parts)


def _is_email(v: str) -> bool:
    if len(v) > 254 or v.count("@") != 1 or " " in v:
        return False
    local, _, domain = v.partition("@")
    if not local or "." not in domain.strip("."):
        return False
    both = local + domain
    if both.isascii():      # in C: a generator step a character was 12k of the 28k instructions of an address's shape
        return not both.encode("ascii").translate(None, _EMAIL_BYTES)
    return all(c.isalnum() or c in "-._+" for c in both)


def _is_date(v: str) -> bool:
    head = v[:10]
    return (len(v) in (10, 19, 20, 25) and head[4:5] == "-" and head[7:8] == "-"
            and head[:4].isdigit() and head[5:7].isdigit() and head[8:10].isdigit())


#: What a value of each narrow kind can start with: int, dec and date start with a digit (``isdigit``:
#: any script's, as :func:`_is_date` reads them), ``-``, ``.`` or ``,``; uuid and hex with a hex digit.
_NUMBER_START = frozenset("-.,")
_HEX_LETTERS = frozenset("abcdefABCDEF")
#: First characters of a value no narrow kind but ``email`` can start with: ASCII letters past ``f``.
_WORD_START = frozenset("ghijklmnopqrstuvwxyzGHIJKLMNOPQRSTUVWXYZ")
#: The lengths :func:`_is_date` accepts.
_DATE_LENGTHS = frozenset((10, 19, 20, 25))


def value_kind(v: str) -> str:
    """The narrowest kind ``v`` reads as.

    Dispatched on the first character: most values are words, which no
    numeric kind can be, so they skip those checks (the same answer as
    trying every kind in order, which ``tests/test_profile.py`` checks).
    Each narrow kind is tried only when the value has what it needs (a
    separator for ``dec``, the length of a uuid or a date), and ``int`` is
    read here rather than in a call: a new value (``page=2 4242``, what
    ``--fresh`` requests carry) went through four calls that each said no.
    """
    if not v:
        return "empty"
    first = v[0]
    if first.isdigit() or first in _NUMBER_START:
        body = v[1:] if first == "-" else v
        if 0 < len(body) <= 18 and body.isdigit() and body.isascii():      # _is_int
            return "int"
        if ("." in v or "," in v) and _is_dec(v):
            return "dec"
        size = len(v)
        if size == 36 and _is_uuid(v):
            return "uuid"
        if size in _DATE_LENGTHS and _is_date(v):
            return "date"
    elif first in _HEX_LETTERS and len(v) == 36 and _is_uuid(v):
        return "uuid"
    if "@" in v and _is_email(v):
        return "email"
    if len(v) >= 16 and _HEX.issuperset(v):
        return "hex"
    return "text"


#: Shapes of short values already seen (``page=2``, ``sort=price``: most values repeat across requests;
#: :mod:`.params` reads it inline for each pair of a form part),
#: cleared when full, so a client sending ever new values costs what it did without the cache.
SEEN_SHAPES: dict[str, str] = {}
SEEN_MAX = 4096
SEEN_VALUE_CHARS = 64


def value_shape(value: str) -> str:
    """``kind:length:classes:tag`` of one decoded value (see the module docstring)."""
    if len(value) > SEEN_VALUE_CHARS:
        return _shape(value)
    shape = SEEN_SHAPES.get(value)
    if shape is None:
        shape = _shape(value)
        if len(SEEN_SHAPES) >= SEEN_MAX:
            SEEN_SHAPES.clear()
        SEEN_SHAPES[value] = shape
    return shape


def _shape(value: str) -> str:
    """The shape of a value not in :data:`SEEN_SHAPES`.  An ASCII value (nearly all) is encoded once, for its
    tag and its classes alike (:func:`char_classes`' own reading, inlined: one call less a value)."""
    v = value[:MAX_VALUE]
    if not v.isascii():
        tag = _tag(zlib.crc32(v.encode("utf-8", "replace"))) if len(v) <= TAG_MAX_LENGTH else ""
        return f"{value_kind(v)}:{len(value)}:{char_classes(v)}:{tag}"
    encoded = v.encode()
    mapped = encoded.translate(_CLASS_OF_BYTE)
    classes = _CLASSES_BY_BITS[(_L in mapped) + 2 * (_U in mapped) + 4 * (_D in mapped) + 8 * (_S in mapped)
                               + 16 * (_P in mapped) + 32 * (_X in mapped)]
    # a word (a letter no hex digit or uuid starts with) is text unless an e-mail address: value_kind()'s
    # answer without the call, for most values
    kind = "text" if v[:1] in _WORD_START and "@" not in v else value_kind(v)
    if len(v) <= TAG_MAX_LENGTH:
        crc = zlib.crc32(encoded)
        return f"{kind}:{len(value)}:{classes}:{_HEX2[crc >> 8 & 0xFF]}{_HEX2[crc & 0xFF]}"
    return f"{kind}:{len(value)}:{classes}:"


def _tag(crc: int) -> str:
    """The low 16 bits of a CRC-32 as four hex digits (``f"{crc & 0xFFFF:04x}"``, by table)."""
    return _HEX2[crc >> 8 & 0xFF] + _HEX2[crc & 0xFF]


def parse_shape(shape: str) -> tuple[str, int, str, str]:
    """``(kind, length, classes, tag)`` of a shape string; a malformed one reads as free text."""
    parts = shape.split(":")
    if len(parts) != 4:
        return "text", 0, "x", ""
    kind, length, classes, tag = parts
    try:
        n = int(length)
    except ValueError:
        n = 0
    return kind, n, classes, tag

