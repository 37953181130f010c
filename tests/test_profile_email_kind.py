"""An ASCII value's e-mail check in C reads as the check a character at a time."""
from __future__ import annotations

import random

from smartlayer.profile import shapes


def _by_characters(v: str) -> bool:
    if len(v) > 254 or v.count("@") != 1 or " " in v:
        return False
    local, _, domain = v.partition("@")
    return bool(local) and "." in domain.strip(".") and all(c.isalnum() or c in "-._+" for c in local + domain)


def test_ascii_and_other_values_are_read_as_a_character_at_a_time():
    rng = random.Random(3)
    pool = "ab.Z9-_+@@..!%' é\u0661"
    for _ in range(20_000):
        value = "".join(rng.choice(pool) for _ in range(rng.randint(0, 14)))
        assert shapes._is_email(value) == _by_characters(value), value
    assert shapes._is_email("jane.doe+shop@example.co.uk") and not shapes._is_email("jane@doe@example.com")
