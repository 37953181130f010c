"""The part of a request body the payload validator scans, read without taking it from the view.

Django reads a body once: ``request.body``, ``request.POST``, ``request.FILES``
and ``request.read()`` all drain one stream.  The validator runs before the
view, so it must neither drain that stream nor wait for bodies it will not
scan:

* **Only a body worth scanning is read.**  Methods that carry none (GET, HEAD,
  OPTIONS, TRACE, CONNECT) are never read, whatever ``Content-Length`` says:
  two clients declaring 1000 bytes and sending none used to hold both workers
  of a site until the server's timeout, where Django alone answers at once.
  Known binary media types are skipped too.  Everything else is read — forms,
  JSON, XML, text, the text fields of multipart forms, and bodies of unknown or
  missing type, which views often ``json.loads`` regardless: an attacker who
  could skip the scan by inventing a content type would.
* **At most ``VALIDATOR_MAX_BYTES`` (+1, to know there is more) are read, and
  put back.**  On WSGI the request's stream is replaced by :class:`Replay`,
  which hands those bytes out again before reading on; on ASGI the body is a
  spooled file Django already received, simply rewound.  The view reads
  ``request.body``, ``request.POST``, ``request.FILES`` or the raw stream as if
  nothing had happened, and can still set ``request.upload_handlers``.
* **Multipart text fields are parsed here, from that prefix** (one linear pass,
  file parts skipped) rather than through ``request.POST``, which consumed the
  stream: a CSRF-exempt view reading ``request.body`` of a multipart POST got
  ``RawPostDataException``.  Fields beyond the prefix are not scanned (the
  result says ``truncated``).
"""
from __future__ import annotations

import base64
import binascii
import codecs
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils.http import parse_header_parameters

__all__ = ["BINARY_PREFIXES", "BINARY_TYPES", "SNIFF_BYTES", "UNDECLARED", "Body", "Replay", "left_as_binary",
           "scannable_body", "textual_octets"]

#: Methods whose body has no meaning: never read, whatever Content-Length says.
NO_BODY_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "CONNECT"})
BINARY_TYPES = frozenset({
    "application/octet-stream", "application/zip", "application/gzip", "application/x-gzip",
    "application/x-tar", "application/pdf", "application/x-protobuf", "application/protobuf",
    "application/grpc", "application/msgpack", "application/x-msgpack", "application/cbor",
    "application/wasm", "application/vnd.ms-excel",
})
BINARY_PREFIXES = ("image/", "audio/", "video/", "font/")
#: The one binary type that names no format: a client that declares nothing better.  Its body is read as text when
#: it opens as a document a parser takes whatever the header says (:func:`textual_octets`).
UNDECLARED = "application/octet-stream"
#: How many bytes :func:`textual_octets` needs to decide.
SNIFF_BYTES = 16
#: Django's own rule for a multipart boundary.
_BOUNDARY = re.compile(r"[ -~]{0,200}[!-~]")


@dataclass(slots=True)
class Body:
    """What :func:`scannable_body` found: raw bytes, or multipart text fields, and why not."""

    raw: bytes | None = None                              # a non-multipart body, or its prefix
    fields: dict[str, list[str]] | None = None            # multipart text fields, name → values
    filenames: dict[str, list[str]] | None = None         # multipart file parts' names as sent, field → names
    truncated: bool = False                               # multipart parts beyond the prefix
    skipped: list[str] = field(default_factory=list)      # "part:reason"


class Replay:
    """A request stream that first hands out bytes already read from it, then reads on.

    ``read(n)`` returns ``n`` bytes when the body has them, as the stream it
    replaces does: Django's ``request.body`` reads the whole body in one call.
    Not seekable, like WSGI's stream, so Django does not try to rewind it.
    """

    def __init__(self, head: bytes, rest: Any) -> None:
        self._head = head
        self._pos = 0
        self._rest = rest

    def _take(self, size: int) -> bytes:
        end = len(self._head) if size < 0 else min(len(self._head), self._pos + size)
        chunk = self._head[self._pos:end]
        self._pos = end
        return chunk

    def read(self, size: int | None = -1, /) -> bytes:
        size = -1 if size is None else size
        chunk = self._take(size)
        if size < 0:
            return chunk + self._rest.read()
        if len(chunk) < size:
            return chunk + self._rest.read(size - len(chunk))
        return chunk

    def readline(self, size: int | None = -1, /) -> bytes:
        size = -1 if size is None else size
        newline = self._head.find(b"\n", self._pos)
        if newline >= 0:
            line = newline + 1 - self._pos
            return self._take(line if size < 0 else min(line, size))
        chunk = self._take(size)
        if size < 0:
            return chunk + self._rest.readline()
        if len(chunk) < size:
            return chunk + self._rest.readline(size - len(chunk))
        return chunk

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        close = getattr(self._rest, "close", None)
        if close is not None:
            close()


def content_length(meta: Mapping[str, Any]) -> int | None:
    """CONTENT_LENGTH as an int: 0 when absent, None when invalid."""
    raw = meta.get("CONTENT_LENGTH")
    if raw in (None, ""):
        return 0
    try:
        length = int(raw)
    except (TypeError, ValueError):
        return None
    return length if length >= 0 else None


def _seekable(stream: Any) -> bool:
    try:
        return bool(stream.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def textual_octets(head: bytes) -> bool:
    """Whether a body sent as ``application/octet-stream`` opens as XML or JSON (``<?xml``, ``<!DOCTYPE``, ``{``, ``[``,
    after blanks or a byte-order mark, or XML in UTF-16/32): a service that parses what it is sent reads it so, and an
    XXE or an injection declared as bytes went unread.  Files (PNG, PDF, ZIP, gzip …) open with their own magic."""
    if _xml_encoding(head) is not None:
        return True
    text = head[3:] if head.startswith(codecs.BOM_UTF8) else head
    return text.lstrip(b" \t\r\n")[:1] in (b"<", b"{", b"[")


def left_as_binary(media: str, head: bytes | None) -> bool:
    """Whether a body of type ``media`` goes unread as binary: a binary type, unless it names no format
    (:data:`UNDECLARED`) and ``head``, its first :data:`SNIFF_BYTES` (None: not read), opens as text a parser
    takes (:func:`textual_octets`).  The one rule for a Django request's body and a body handed to the scan."""
    if media not in BINARY_TYPES and not media.startswith(BINARY_PREFIXES):
        return False
    return not (media == UNDECLARED and head is not None and textual_octets(head))


def _peek(request: Any, size: int) -> bytes | None:
    """Up to ``size`` bytes from the start of the body, left readable for the view; None if unreadable."""
    if hasattr(request, "_body"):                    # an earlier middleware read it: free
        return request._body[:size]
    stream = getattr(request, "_stream", None)
    if stream is None or getattr(request, "_read_started", False):
        return None                                  # someone else is reading the stream
    if _seekable(stream):                            # ASGI: a spooled file already received
        start = stream.tell()
        data = stream.read(size)
        stream.seek(start)
        return data
    chunks, left = [], size
    try:
        while left > 0:                              # a socket may hand out less than asked
            chunk = stream.read(left)
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        data = b"".join(chunks)
        request._stream = Replay(data, stream)       # whatever was read goes back
    return data


def _part_headers(block: bytes) -> dict[str, str]:
    headers = {}
    for line in block.split(b"\r\n"):
        name, sep, value = line.partition(b":")
        if sep:
            headers[name.strip().lower().decode("latin-1")] = value.strip().decode("utf-8", "replace")
    return headers


def multipart_fields(data: bytes, boundary: bytes, encoding: str = "utf-8") -> tuple[dict[str, list[str]], bool, bool]:
    """Text fields of a multipart body (or its prefix): (name → values, had file parts, ended)."""
    fields, files, ended = multipart_parts(data, boundary, encoding)
    return fields, bool(files), ended


def multipart_parts(data: bytes, boundary: bytes,
                    encoding: str = "utf-8") -> tuple[dict[str, list[str]], dict[str, list[str]], bool]:
    """Text fields of a multipart body (or its prefix): (name → values, file parts' name → file names, ended).

    One pass of ``bytes.find`` over ``data``: linear, however the parts are
    shaped.  As in Django, a part with a non-empty ``filename`` is a file
    (its content skipped; its file name, which the client chose, kept to be
    scanned), a part without a ``name`` is ignored, and a base64
    ``Content-Transfer-Encoding`` is decoded.  ``ended`` is False when
    ``data`` stops inside a part (a prefix of a longer body).
    """
    fields: dict[str, list[str]] = {}
    files: dict[str, list[str]] = {}
    delimiter = b"--" + boundary
    pos = data.find(delimiter)
    while pos >= 0:
        pos += len(delimiter)
        if data.startswith(b"--", pos):
            return fields, files, True               # the closing delimiter
        header_end = data.find(b"\r\n\r\n", pos)
        if header_end < 0:
            break
        start = data.find(b"\r\n", pos) + 2
        headers = _part_headers(data[start:header_end])
        end = data.find(b"\r\n" + delimiter, header_end + 4)
        _kind, params = media_type(headers.get("content-disposition", ""))   # a form's parts repeat theirs
        name = params.get("name")
        if params.get("filename"):
            files.setdefault((name or "").strip(), []).append(params["filename"])
        elif name is not None:
            value = data[header_end + 4:end if end >= 0 else len(data)]
            if headers.get("content-transfer-encoding", "").strip().lower() == "base64":
                try:
                    value = base64.b64decode(value)
                except binascii.Error:
                    pass
            fields.setdefault(name.strip(), []).append(value.decode(encoding, "replace"))
        pos = end if end < 0 else end + 2
    return fields, files, False


#: Content types and multipart parts' Content-Disposition already parsed: a site sees a handful of the
#: first (a browser's form, jQuery's "; charset=UTF-8", multipart with a boundary per request) and its
#: forms' fields in the second (``form-data; name="comment"``, request after request), and Django's parser
#: costs ~4 µs as soon as a parameter is present (60 fields: a quarter of a multipart scan's Python).
#: Bounded: an attacker sending new ones each request empties it, nothing more.
_MEDIA_MEMO: dict[str, tuple[str, dict[str, str]]] = {}
_MEDIA_MEMO_SIZE = 1024


def media_type(content_type: str) -> tuple[str, Mapping[str, str]]:
    """``(media type, parameters)`` of a Content-Type or Content-Disposition header (the parameters are
    shared: read only); ``("", {})`` when Django's parser refuses it."""
    found = _MEDIA_MEMO.get(content_type)
    if found is None:
        try:
            found = parse_header_parameters(content_type)
        except (ValueError, LookupError, TypeError):
            found = ("", {})
        if len(_MEDIA_MEMO) >= _MEDIA_MEMO_SIZE:
            _MEDIA_MEMO.clear()
        _MEDIA_MEMO[content_type] = found
    return found


def _encoding(request: Any) -> str:
    encoding = getattr(request, "encoding", None) or settings.DEFAULT_CHARSET
    try:
        "".encode(encoding)
        return encoding
    except LookupError:
        return "utf-8"


def _multipart(request: Any, body: Body, params: Mapping[str, str], max_bytes: int) -> None:
    if request.method != "POST":                    # Django parses multipart for POST only
        body.skipped.append("multipart:unparsed")
        return
    if hasattr(request, "_post") and hasattr(request, "_files"):     # already parsed by someone: free
        body.fields = dict(request.POST.lists())
        if request.FILES:                           # (their names as Django cleaned them)
            body.filenames = {name: [upload.name for upload in uploads] for name, uploads in request.FILES.lists()}
            body.skipped.append("multipart:file_parts")
        return
    boundary = params.get("boundary", "")
    if not _BOUNDARY.fullmatch(boundary):
        body.skipped.append("multipart:unreadable")
        return
    data = _peek(request, max_bytes + 1)
    if data is None:
        body.skipped.append("multipart:unreadable")
        return
    body.fields, files, ended = multipart_parts(data[:max_bytes], boundary.encode("ascii"), _encoding(request))
    body.truncated = not ended and len(data) > max_bytes
    if files:
        body.filenames = files
        body.skipped.append("multipart:file_parts")


def scannable_body(request: Any, max_bytes: int) -> Body:
    """The body of a Django request as far as the validator scans it; the view still gets all of it.

    May raise ``OSError`` (client gone) after restoring the stream; the caller
    counts that as an unreadable body.  (Django's settings are imported with the module: an import
    statement in here ran the import machinery's from-list handling, a Python call, on every request.)
    """
    body = Body()
    meta = request.META
    if request.method in NO_BODY_METHODS:
        return body
    length = content_length(meta)
    if length is None:
        body.skipped.append("body:invalid_length")
        return body
    media, params = media_type(str(meta.get("CONTENT_TYPE", "") or ""))
    if left_as_binary(media, _peek(request, SNIFF_BYTES) if media == UNDECLARED and length else None):
        body.skipped.append("body:binary")
        return body
    buffered = hasattr(request, "_body") or _seekable(getattr(request, "_stream", None))
    if length == 0 and not buffered:
        # nothing declared: WSGI hands out nothing (a chunked body's length is unknown)
        if "chunked" in str(meta.get("HTTP_TRANSFER_ENCODING", "")).lower():
            body.skipped.append("body:chunked")
        return body
    if media.startswith("multipart/"):
        _multipart(request, body, params, max_bytes)
        return body
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is not None and length > limit:
        body.skipped.append("body:too_large")         # Django refuses it when the view reads it
        return body
    body.raw = _peek(request, max_bytes + 1)
    if body.raw is None:
        body.skipped.append("body:unreadable")
    return body


#: Byte-order marks, longest first (UTF-32 LE's starts with UTF-16 LE's): what a body's parser
#: honours whatever its Content-Type says.
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8"),
         (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def _xml_encoding(body: bytes) -> str | None:
    """The encoding an XML parser reads ``body`` in from its first bytes (XML 1.0, appendix F), or None.

    Why: an XML body sent as UTF-16 or UTF-32 (a known way past filters that
    read bytes as UTF-8) is a NUL after every character to a UTF-8 reading, so
    ``<!DOCTYPE … SYSTEM`` would never be seen, while the application's parser
    reads it fine.  Two byte comparisons per body; :func:`decode_body` reads
    such a body both ways when the readings differ.
    """
    head = body[:4]
    if head[:1] in (b"\xef", b"\xfe", b"\xff", b"\x00"):
        for bom, codec in _BOMS:
            if head.startswith(bom):
                return f"{codec}:{len(bom)}"
    # no mark: "<" followed (or preceded) by NULs is UTF-16 or UTF-32 text that starts a document
    if head == b"<\x00\x00\x00":
        return "utf-32-le:0"
    if head == b"\x00\x00\x00<":
        return "utf-32-be:0"
    if head[:1] == b"<" and head[1:2] == b"\x00" and head[3:4] == b"\x00":
        return "utf-16-le:0"
    if head[:1] == b"\x00" and head[1:2] == b"<" and head[2:3] == b"\x00":
        return "utf-16-be:0"
    return None


def decode_body(body: bytes, charset: str) -> str:
    if body[:1] in (b"\xef", b"\xfe", b"\xff", b"\x00") or body[1:2] == b"\x00":
        found = _xml_encoding(body)
        if found is not None:
            codec, _, skip = found.partition(":")
            rest = body[int(skip):]
            wide = rest.decode(codec, errors="replace")
            # and as UTF-8, NULs left out: what an application that reads the bytes as text sees.  One
            # reading alone would be a way past the scan (a mark in front of ASCII hides it from the
            # wide reading); for ASCII-range text in UTF-16/32 the two are the same text, read once
            narrow = rest.decode("utf-8", errors="replace").replace("\x00", "")
            return wide if narrow == wide else f"{wide}\n{narrow}"
    if charset and charset not in ("utf-8", "utf8"):
        try:
            return body.decode(charset, errors="replace")
        except (LookupError, ValueError, TypeError):
            pass
    return body.decode("utf-8", errors="replace")
