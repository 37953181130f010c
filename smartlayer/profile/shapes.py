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
"""
from __future__ import annotations

import codecs
import json
import zlib
from collections.abc import Collection, Iterable, Mapping
from typing import Any
from urllib.parse import unquote_plus

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


#: Shapes of short values already seen (``page=2``, ``sort=price``: most values repeat across requests),
#: cleared when full, so a client sending ever new values costs what it did without the cache.
_SHAPES: dict[str, str] = {}
_SHAPES_MAX = 4096
_SHAPES_VALUE_CHARS = 64


def value_shape(value: str) -> str:
    """``kind:length:classes:tag`` of one decoded value (see the module docstring)."""
    if len(value) > _SHAPES_VALUE_CHARS:
        return _shape(value)
    shape = _SHAPES.get(value)
    if shape is None:
        shape = _shape(value)
        if len(_SHAPES) >= _SHAPES_MAX:
            _SHAPES.clear()
        _SHAPES[value] = shape
    return shape


def _shape(value: str) -> str:
    """The shape of a value not in :data:`_SHAPES`.  An ASCII value (nearly all) is encoded once, for its
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


def _decode(text: str) -> str:
    """``unquote_plus(text, errors="replace")``; the C escape decoder does valid escapes (a 1 KiB
    comment with a few dozen escapes cost more in the pure-Python unquote than the rest of its shape)."""
    if "%" not in text:                          # most names and many values: nothing to decode
        return text.replace("+", " ") if "+" in text else text
    text = text.replace("+", " ")
    try:
        raw = codecs.escape_decode(text.replace("\\", "\\\\").replace("%", "\\x").encode("utf-8", "surrogatepass"))[0]
        return raw.decode("utf-8", "replace")    # type: ignore[union-attr]
    except (ValueError, UnicodeError):
        pass
    try:
        return unquote_plus(text, errors="replace")
    except Exception:  # noqa: BLE001 - never raise on what a client sent
        return text


#: Form parts up to this long may be read from a decoding made for the payload scan: no value of theirs
#: is longer than :func:`_pairs` looks at (``MAX_VALUE * 3`` raw characters).
_SHARED_CHARS = MAX_VALUE * 3


def _escaped_equals_in_name(text: str) -> bool:
    """Whether a name of ``text`` holds an escaped ``=`` (``%3D``), which splits elsewhere decoded.

    Found from each ``%3D`` and the last ``=`` and ``&`` before it, not by
    splitting the text: ``next=%2Fa%3Fb%3D2`` (an escaped ``=`` in a value,
    what forms carrying a URL hold) costs two searches and two short ones back.
    """
    for escape in ("%3D", "%3d"):
        at = text.find(escape)
        while at >= 0:
            if text.rfind("=", 0, at) <= text.rfind("&", 0, at):
                return True
            at = text.find(escape, at + 3)
    return False


#: Names and shapes of whole form parts (a query string, a form body) up to :data:`_PARTS_CHARS` long, by
#: (where, text), for parts the payload scan found in its memory of clean parts (``known`` below): a
#: search, a login form or a poll's answer comes back request after request, and reading its pairs again
#: (a shape per value; a 1 KiB comment's classes) cost more than the rest of its scan.  A part never
#: seen before costs nothing more.  The rows are what :func:`_read_pairs` gives (a pure function of the
#: text); bounded, cleared when full.
_PARTS: dict[tuple[str, str], tuple[tuple[str, str, str], ...]] = {}
_PARTS_MAX = 1024
_PARTS_CHARS = 2048


def _pairs(text: str, where: str, out: list[list[str]], decoded: tuple[str, list[str]] | None = None,
           known: bool = False) -> None:
    """:func:`_read_pairs`, remembered when ``known`` (see :data:`_PARTS`): the same rows, each a new
    list, and no more than ``out`` has room for."""
    if not known or len(text) > _PARTS_CHARS:
        _read_pairs(text, where, out, decoded)
        return
    # the scan's own text when it is this one: hashed already, by the scan's lookup
    key = (where, decoded[0] if decoded is not None and decoded[0] == text else text)
    rows = _PARTS.get(key)
    room = MAX_PARAMS - len(out)
    if rows is None:
        read: list[list[str]] = []
        _read_pairs(text, where, read, decoded)
        if len(_PARTS) >= _PARTS_MAX:
            _PARTS.clear()
        _PARTS[key] = tuple(map(tuple, read))     # tuples of strings: left alone by the cyclic collector
        if room > 0:
            out.extend(read if len(read) <= room else read[:room])
    elif room > 0:
        out.extend(map(list, rows if len(rows) <= room else rows[:room]))


def _read_pairs(text: str, where: str, out: list[list[str]], decoded: tuple[str, list[str]] | None = None) -> None:
    """Names and shapes of the ``name=value&…`` pairs of ``text``.

    ``decoded``: ``(text, its decoded pairs)`` from the payload scan, which
    decodes a whole form part in one call and splits it at ``&`` once, when
    that gives each pair's own decoding (see
    :meth:`smartlayer.detectors.payload.parts.PartReader.form_part`); used
    when they are the pairs of this very text, so a request's query string
    and form body are decoded and split once, not once for the scan and
    again here.  A
    name holding an escaped ``=`` (``%3D``) would split elsewhere decoded:
    that pair is decoded on its own.
    """
    if decoded is not None and decoded[0] == text and len(text) <= _SHARED_CHARS:
        pairs = decoded[1]
        raws = text.split("&") if _escaped_equals_in_name(text) else None
        if raws is None or len(raws) == len(pairs):
            shapes = _SHAPES
            for i, pair in enumerate(pairs):
                if len(out) >= MAX_PARAMS:
                    return
                if not pair:
                    continue
                if raws is not None and "%3" in raws[i].partition("=")[0]:
                    name, _, value = raws[i].partition("=")
                    out.append([where, _decode(name)[:MAX_NAME], value_shape(_decode(value))])
                    continue
                name, _, value = pair.partition("=")
                # value_shape() inlined for a value seen before (most of them): a call less a parameter
                shape = shapes.get(value) if len(value) <= _SHAPES_VALUE_CHARS else None
                out.append([where, name[:MAX_NAME], shape or value_shape(value)])
            return
    for pair in text.split("&"):
        if len(out) >= MAX_PARAMS:
            return
        if not pair:
            continue
        name, _, value = pair.partition("=")
        out.append([where, _decode(name)[:MAX_NAME], value_shape(_decode(value[:MAX_VALUE * 3]))])


def query_params(query_string: str | bytes, out: list[list[str]] | None = None,
                 decoded: tuple[str, list[str]] | None = None, known: bool = False) -> list[list[str]]:
    """``[["q", name, shape], …]`` of a raw (percent-encoded) query string (``decoded``, ``known``: see
    :func:`_pairs`)."""
    out = [] if out is None else out
    if isinstance(query_string, bytes):
        query_string = query_string.decode("latin-1")
    if query_string:
        _pairs(query_string[:MAX_PARAMS * (MAX_VALUE + MAX_NAME)], "q", out, decoded, known)
    return out


def _json_shape(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return f"obj:{len(value)}::"
    if isinstance(value, bool):
        return value_shape("true" if value else "false")
    if value is None:
        return "empty:0::"
    return value_shape(str(value))


def body_params(body: bytes | None, content_type: str, fields: Mapping[str, Any] | None = None,
                out: list[list[str]] | None = None, decoded: tuple[str, list[str]] | None = None,
                known: bool = False) -> list[list[str]]:
    """Names and shapes of a form body (``f``) or of a JSON object's top-level keys (``j``).

    ``fields``: multipart text fields already parsed (name → values);
    ``decoded``: a form body's decoding by the payload scan (see :func:`_pairs`).
    """
    out = [] if out is None else out
    if fields:
        for name, values in fields.items():
            for v in (values if isinstance(values, (list, tuple)) else [values]):
                if len(out) >= MAX_PARAMS:
                    return out
                out.append(["f", str(name)[:MAX_NAME], value_shape(str(v))])
    if not body:
        return out
    media = content_type.partition(";")[0].strip().lower()
    if media == "application/x-www-form-urlencoded":
        _pairs(body[:MAX_PARAMS * (MAX_VALUE + MAX_NAME)].decode("utf-8", "replace"), "f", out, decoded, known)
    elif media.endswith(("/json", "+json")) and body.lstrip()[:1] == b"{":
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            return out
        if isinstance(document, dict):
            for name, value in document.items():
                if len(out) >= MAX_PARAMS:
                    break
                out.append(["j", str(name)[:MAX_NAME], _json_shape(value)])
    return out


def request_params(query_string: str | bytes, body: bytes | None = None, content_type: str = "",
                   fields: Mapping[str, Any] | None = None,
                   decoded: Mapping[str, tuple[str, list[str]]] | None = None,
                   known: Collection[str] = ()) -> list[list[str]]:
    """Every parameter of a request: query string, then form fields or JSON keys.

    ``decoded``: the pairs of the form parts the payload scan decoded whole,
    by location (``"query"``, ``"body"``): read instead of decoding and
    splitting them again, the same names and shapes (see :func:`_pairs`); ``known``: the locations
    whose whole form part the scan found in its memory (sent before), whose rows are remembered.
    """
    decoded = decoded or {}
    out = query_params(query_string, None, decoded.get("query"), "query" in known)
    return body_params(body, content_type, fields, out, decoded.get("body"), "body" in known)


#: Characters of a request's query string and body up to which the scan leaves its parameters to be
#: worked out when first read (:class:`PendingParams`); a longer request has them worked out at once, so
#: that a row waiting for the log writer never holds a large body.
PENDING_CHARS = 4096


class PendingParams:
    """A request's parameters (:func:`request_params`), worked out when first read rather than when the
    request is scanned.

    Why: on a request of values never seen before (a search, a comment) they were a third of the payload
    scan's cost, and on most requests nothing on the request thread reads them: the log row does, in the
    writer's thread (:meth:`held`), and the site profile only for an endpoint it knows
    (:meth:`~.core.Profile.anomalies`, through :func:`resolved`).  Holds what :func:`request_params`
    reads, the scan's decoded pairs included; the scan defers only requests up to :data:`PENDING_CHARS`
    (:func:`pending_params`).

    Never raises: a failure is counted and logged (``payload_scan``), and the request has no parameters.
    """

    __slots__ = ("_args", "_value")

    def __init__(self, args: tuple) -> None:
        self._args: tuple | None = args
        self._value: list[list[str]] | None = None

    def get(self) -> list[list[str]] | None:
        """The parameters, worked out on the first call (a second thread meanwhile works them out too:
        the same answer, a pure function of what is held)."""
        args = self._args
        if args is not None:
            try:
                self._value = request_params(*args)
            except Exception as exc:  # noqa: BLE001 - what a client sent must not cost its row
                from ..state.failures import report_failure

                report_failure("payload_scan", f"parameter shapes: {type(exc).__name__}: {exc}",
                               then="the request is judged and logged without its parameters")
            self._args = None          # after the value: a reader that sees no arguments sees the value
        return self._value

    def held(self) -> tuple | None:
        """What works the parameters out, as plain values — the arguments of :func:`held_params`, which
        the log writer calls — or None once they were worked out (:meth:`get` has them).  No container:
        a queued row the collector untracks (``request.context.capture_log_row``), so the scan's
        decoded pairs are left out and the writer decodes again (the same names and shapes)."""
        args = self._args
        return None if args is None else (args[0], args[1], args[2], "query" in args[5], "body" in args[5])


def held_params(query_string: str | bytes, body: bytes | None, content_type: str, query_known: bool,
                body_known: bool) -> list[list[str]]:
    """:func:`request_params` of what a request left for the log writer (:meth:`PendingParams.held`;
    a request no validator scanned leaves its query string): ``*_known``, whether the scan remembered
    that form part (see :func:`_pairs`)."""
    known = ("query",) * query_known + ("body",) * body_known
    return request_params(query_string, body, content_type, None, None, known)


def pending_params(query_string: str, body: bytes | None = None, content_type: str = "",
                   fields: Mapping[str, Any] | None = None,
                   decoded: Mapping[str, tuple[str, list[str]]] | None = None,
                   known: Collection[str] = ()) -> PendingParams | list[list[str]]:
    """:func:`request_params`' answer, or — for a request of at most :data:`PENDING_CHARS` characters of
    query string and body, without multipart fields — a :class:`PendingParams` that works it out when read."""
    if not query_string and not body and not fields:
        return []
    if fields or len(query_string) + (len(body) if body else 0) > PENDING_CHARS:
        return request_params(query_string, body, content_type, fields, decoded, known)
    return PendingParams((query_string, body, content_type, None, decoded, tuple(known)))


def resolved(params: Any) -> list[list[str]] | None:
    """``params`` as a list (or None): a :class:`PendingParams` worked out, anything else as it is."""
    return params.get() if params.__class__ is PendingParams else params


def names(params: Iterable[list[str]]) -> list[str]:
    return [p[1] for p in params]
