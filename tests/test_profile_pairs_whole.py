"""A query string or form body decoded as a whole must give the names and shapes its pairs give one by one."""
from __future__ import annotations

import random

from smartlayer.profile import shapes


def _pair_by_pair(text: str, where: str = "q") -> list[list[str]]:
    out: list[list[str]] = []
    for pair in text.split("&"):
        if len(out) >= shapes.MAX_PARAMS:
            break
        if pair:
            name, _, value = pair.partition("=")
            out.append([where, shapes._decode(name)[:shapes.MAX_NAME],
                        shapes.value_shape(shapes._decode(value[:shapes.MAX_VALUE * 3]))])
    return out


_PIECES = ["a", "Z", "7", "=", "&", "+", "%", "%2", "%20", "%26", "%3d", "%3D", "%41", "%e2%82", "%e2%82%ac", "%c3",
           "%ff", "%zz", "%0a", "%0A", "\n", "\\", "\\x41", "é", "€", " ", "'", "..", "%25", "%2B", "&&", "=="]


def test_random_texts_read_the_same_whole_or_pair_by_pair():
    rng = random.Random(13)
    for _ in range(5000):
        text = "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 30)))
        out: list[list[str]] = []
        shapes._pairs(text, "q", out)
        assert out == _pair_by_pair(text), text


def test_a_typical_form_body_is_decoded_in_one_call_and_line_breaks_or_bad_escapes_are_not():
    body = "name=Jane+O%27Reilly&email=jane.doe%2Bshop%40example.co.uk&rating=4&next=%2Forders%3Ftab%3D2"
    texts = [piece for pair in body.split("&") for piece in pair.split("=")]
    assert shapes._decode_all(texts) == ["name", "Jane O'Reilly", "email", "jane.doe+shop@example.co.uk",
                                         "rating", "4", "next", "/orders?tab=2"]
    assert shapes._decode_all(["a", "b%0Ac"]) is None                # a decoded line break: one by one
    assert shapes._decode_all(["a", "b\nc%41"]) is None
    assert shapes._decode_all(["a", "%zz"]) is None                  # a bad escape: unquote_plus, one by one
    for text in ("a=b%0Ac&d=%zz&e=%41", "a=" + "%41" * shapes.MAX_VALUE * 2, "&".join(f"p{i}=%41" for i in range(40))):
        out: list[list[str]] = []
        shapes._pairs(text, "f", out)
        assert out == _pair_by_pair(text, "f")
