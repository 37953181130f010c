"""A value's shape tag by table: the same four hex digits as the format it replaces.

``profile/shapes.py`` writes the low 16 bits of a value's CRC-32 with two lookups in a
256-entry table instead of ``format(crc, "04x")`` (the integer formatter parses its spec on every
fresh value).  Every possible tag, and the shapes of ASCII and non-ASCII values, must stay the same:
the site profile compares tags learned before the change with tags seen after it.
"""
from __future__ import annotations

import zlib

from smartlayer.profile import shapes


def test_every_tag_is_the_formatted_crc():
    for low in range(1 << 16):
        crc = (0xA5A5 << 16) | low   # the high bits must not leak into the tag
        assert shapes._tag(crc) == f"{crc & 0xFFFF:04x}"


def test_shapes_keep_their_tags():
    for value in ("abc", "12345", "Hello World", "user@example.com", "ünïcode", "日本語", "x" * 24, "x" * 25):
        encoded = value.encode("utf-8", "replace")
        tag = f"{zlib.crc32(encoded) & 0xFFFF:04x}" if len(value) <= shapes.TAG_MAX_LENGTH else ""
        assert shapes._shape(value).rsplit(":", 1)[1] == tag
