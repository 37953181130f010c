"""A value's shape as the fast reading gives it must be the shape as first written: kind, length, classes, tag."""
from __future__ import annotations

import random
import zlib

from smartlayer.profile import shapes


def _reference(value: str) -> str:
    """``_shape`` as first written: every check called, the classes read by :func:`shapes.char_classes`."""
    v = value[:shapes.MAX_VALUE]
    tag = f"{zlib.crc32(v.encode('utf-8', 'replace')) & 0xFFFF:04x}" if len(v) <= shapes.TAG_MAX_LENGTH else ""
    kind = "empty" if not v else "text"
    if v:
        for name, test in (("int", shapes._is_int), ("dec", shapes._is_dec), ("uuid", shapes._is_uuid),
                           ("date", shapes._is_date)):
            if test(v):
                kind = name
                break
        else:
            if "@" in v and shapes._is_email(v):
                kind = "email"
            elif len(v) >= 16 and shapes._HEX.issuperset(v):
                kind = "hex"
    return f"{kind}:{len(value)}:{shapes.char_classes(v)}:{tag}"


VALUES = ["", "2", "-7", "2 4242000123", "44.5", "44,5", "-.5", "1.", "price_asc", "dark blue", "O'Reilly",
          "jane.doe+shop@example.co.uk", "0f8fad5b-d9cb-469f-a165-70867728950e", "2024-01-31", "2024-01-31 10:00:00",
          "2024-01-31T10:00:00Z", "2024-01-31T10:00:00+01:00", "٢٠٢٤-٠١-٣١", "١٢", "deadbeefdeadbeef", "é", "naïve café",
          "x" * 24, "x" * 25, "1" * 18, "1" * 19, "\ud800", "a\x00b", "<script>", "1e3", "a" * 3000]


def test_known_values_read_as_first_written():
    for value in VALUES:
        assert shapes._shape(value) == _reference(value), value


def test_random_values_read_as_first_written():
    rng = random.Random(13)
    alphabet = "0123456789abcdefABCDEF-.,:@+_ /'<>;=\té١²"
    for _ in range(3000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.choice((1, 2, 10, 19, 20, 24, 25, 36, 40))))
        assert shapes._shape(value) == _reference(value), value
