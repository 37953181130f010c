"""Bodies in UTF-16 and UTF-32: read as the application's parser reads them, not as UTF-8.

An XML parser takes a body's encoding from its byte-order mark, or from a ``<``
surrounded by NULs (XML 1.0, appendix F), whatever the Content-Type says.  Read
as UTF-8 such a body is a NUL after every character, and an external entity in
it went unseen: a known way past filters.  Each attack has the benign document
most like it, in the same encoding.
"""
from __future__ import annotations

import codecs

import pytest

from smartlayer.detectors.payload import scan_parts
from smartlayer.detectors.payload.parts import decode_body

BLOCK = 3
XXE = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'
PLAIN = '<?xml version="1.0"?><order><item sku="A-1">Blue shoes, size 44</item></order>'

ENCODINGS = [
    ("utf-16-le", codecs.BOM_UTF16_LE),
    ("utf-16-be", codecs.BOM_UTF16_BE),
    ("utf-16-le", b""),
    ("utf-16-be", b""),
    ("utf-32-le", codecs.BOM_UTF32_LE),
    ("utf-32-be", b""),
    ("utf-8", codecs.BOM_UTF8),
]


@pytest.mark.parametrize(("codec", "bom"), ENCODINGS, ids=lambda v: v if isinstance(v, str) else ("bom" if v else "none"))
@pytest.mark.parametrize("content_type", ["application/xml", "text/xml; charset=utf-8", "text/plain"])
def test_an_external_entity_in_a_wide_encoding_is_seen(codec, bom, content_type):
    result = scan_parts(body=bom + XXE.encode(codec), content_type=content_type)
    assert result.score >= BLOCK, (codec, bom, result.hits)


@pytest.mark.parametrize(("codec", "bom"), ENCODINGS, ids=lambda v: v if isinstance(v, str) else ("bom" if v else "none"))
def test_an_ordinary_document_in_a_wide_encoding_passes(codec, bom):
    result = scan_parts(body=bom + PLAIN.encode(codec), content_type="application/xml")
    assert result.score == 0, result.hits


def test_json_in_utf16_with_its_mark_is_read_as_json():
    attack = '{"name": "x\' UNION SELECT password FROM users--"}'
    result = scan_parts(body=codecs.BOM_UTF16_LE + attack.encode("utf-16-le"), content_type="application/json")
    assert result.score >= BLOCK, result.hits


@pytest.mark.parametrize("body", [b"caf\xc3\xa9 au lait", b"a\x00b", b"\x00\x01\x02", b"", b"<", b"<\x00"])
def test_other_bodies_decode_as_before(body):
    assert decode_body(body, "") == body.decode("utf-8", errors="replace")


def test_a_declared_charset_still_decodes_a_body_without_a_mark():
    assert decode_body("señor".encode("latin-1"), "latin-1") == "señor"


@pytest.mark.parametrize("mark", [codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, b"<\x00"])
def test_a_mark_in_front_of_a_narrow_attack_hides_nothing(mark):
    # the wide reading of ASCII after a mark is noise; the application reading the bytes as text sees the tag
    result = scan_parts(body=mark + b"<script>alert(1)</script>", content_type="text/plain")
    assert result.score >= BLOCK, result.hits
