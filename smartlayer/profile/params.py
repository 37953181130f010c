"""A request's parameters: each name and its value's shape (:mod:`.shapes`), from the query string, a
form body, multipart fields or a JSON object's top-level keys.

Why a module of its own: the shape of one value is a pure function of that
value, used by the profile and the log alike; reading a request's pairs is
about where values come from — escapes decoded once, a form part the payload
scan decoded already read from its decoding, a part seen before read from
memory — and is bounded the same way (:data:`.shapes.MAX_PARAMS` pairs,
names cut to :data:`.shapes.MAX_NAME`, values read up to three times
:data:`.shapes.MAX_VALUE` raw characters).
"""
from __future__ import annotations

import codecs
import json
from collections.abc import Collection, Iterable, Mapping
from typing import Any
from urllib.parse import unquote_plus

from .shapes import MAX_NAME, MAX_PARAMS, MAX_VALUE, SEEN_SHAPES, SEEN_VALUE_CHARS, value_shape


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
            shapes = SEEN_SHAPES
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
                shape = shapes.get(value) if len(value) <= SEEN_VALUE_CHARS else None
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



def names(params: Iterable[list[str]]) -> list[str]:
    return [p[1] for p in params]

