"""A long ASCII value's character classes are searched per class; they must equal the set-based reading."""
from __future__ import annotations

import random

from smartlayer.profile import shapes


def _by_set(value: str) -> str:
    chars = set(value)
    other = any(c.isascii() or not c.isalpha() for c in chars - shapes._KNOWN)
    return (("l" if chars & shapes._LOWER or any(not c.isascii() and c.isalpha() for c in chars) else "")
            + ("u" if chars & shapes._UPPER else "") + ("d" if chars & shapes._DIGITS else "")
            + ("s" if " " in chars else "") + ("p" if chars & shapes._PUNCT else "") + ("x" if other else ""))


def test_long_ascii_values_get_the_same_classes_either_way():
    rng = random.Random(7)
    alphabets = ["abc xyz", "ABC-_.", "0123456789", "!\"#$%&'()*;<=>?[]\\^`{|}~\t\n", "".join(map(chr, range(128)))]
    for _ in range(3000):
        pool = "".join(rng.sample(alphabets, rng.randint(1, 3)))
        value = "".join(rng.choice(pool) for _ in range(rng.randint(shapes._SEARCH_FROM + 1, 600)))
        assert shapes.char_classes(value) == _by_set(value), value


def test_long_and_short_values_agree_on_the_same_characters():
    for text in ("I ordered the blue pair; it's fine. Would I buy again? 90 EUR.", "price_asc", "a+b@c.de/x:1,2",
                 "<script>alert(1)</script>", "café crème"):
        long = (text + " ") * (shapes._SEARCH_FROM // len(text) + 2)
        assert shapes.char_classes(long) == shapes.char_classes(text + " ")


def test_short_ascii_values_get_the_same_classes_as_the_set_based_reading():
    rng = random.Random(11)
    alphabets = ["abc xyz", "ABC-_.", "0123456789", "!\"#$%&'()*;<=>?[]\\^`{|}~\t\n", "".join(map(chr, range(128)))]
    for _ in range(3000):
        pool = "".join(rng.sample(alphabets, rng.randint(1, 3)))
        value = "".join(rng.choice(pool) for _ in range(rng.randint(0, shapes._SEARCH_FROM)))
        assert shapes.char_classes(value) == _by_set(value), value
    assert shapes.char_classes("") == "" and shapes.char_classes("price_asc") == "lp"
