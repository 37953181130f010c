"""A multipart body's parts: each part's Content-Disposition parsed once per distinct header, not per request.

A form posts the same fields request after request (``form-data; name="comment"``); Django's header parser
cost ~4 µs a part, a quarter of the Python of a 60-field scan.  Counted in parser calls, never in time; the
fields read, file parts and unparseable headers are as before.
"""
from __future__ import annotations

import pytest

from smartlayer.detectors.payload import body
from tests.helpers import record_calls

BOUNDARY = b"XyZ"


def _multipart(parts: list[tuple[bytes, bytes]]) -> bytes:
    out = b""
    for disposition, value in parts:
        out += b"--" + BOUNDARY + b"\r\nContent-Disposition: " + disposition + b"\r\n\r\n" + value + b"\r\n"
    return out + b"--" + BOUNDARY + b"--\r\n"


@pytest.fixture
def parser_calls(monkeypatch):
    monkeypatch.setattr(body, "_MEDIA_MEMO", {})
    return record_calls(monkeypatch, body, "parse_header_parameters")


def test_a_forms_parts_are_parsed_once_not_on_every_request(parser_calls):
    data = _multipart([(b'form-data; name="f%d"' % i, b"value %d" % i) for i in range(60)])
    first = body.multipart_fields(data, BOUNDARY)
    assert len(parser_calls) == 60
    again = body.multipart_fields(data, BOUNDARY)
    assert again == first and len(parser_calls) == 60
    assert first[0]["f7"] == ["value 7"] and first[1:] == (False, True)


def test_file_parts_nameless_and_unparseable_parts_read_as_before(parser_calls):
    """Guard: a file part is skipped and counted, a part without a name or with a header Django refuses is
    ignored, a quoted name keeps its spaces — the first time and from the memo."""
    data = _multipart([(b'form-data; name="up"; filename="a.txt"', b"file body"), (b"form-data", b"no name"),
                       (b'form-data; name="a b"', b"spaced"), (b'form-data; name="ok"', b"fine")])
    for _ in range(2):
        fields, has_files, ended = body.multipart_fields(data, BOUNDARY)
        assert fields == {"a b": ["spaced"], "ok": ["fine"]} and has_files and ended
