"""A long form field (a comment box) that blocks on its first lines is not normalised further.

Its line breaks are written ``%0A``: the prefix is cut just after one (payload/early.py).
Counted in work (characters through the decoders), never in time.  The verdict is the full
reading's; a field whose start does not block is read whole.
"""
from __future__ import annotations

import importlib
from urllib.parse import quote

import pytest

from smartlayer.detectors.payload import scan_parts
from tests.test_payload_early_body import BLOCK, _labels, decoded  # noqa: F401 - decoded: a fixture
from tests.test_payload_work import ATTACKS, PROSE, diverse

matching = importlib.import_module("smartlayer.detectors.payload.matching")


def _form(text: str, safe: str = "") -> bytes:
    return ("c=" + quote(text, safe=safe)).encode()


def _body(seed: int, attack_first: bool) -> str:
    """30 KiB of text lines (about 40 KiB encoded: within the request's budget); the first KiB attack
    strings (or the last line one)."""
    prose = diverse(PROSE, seed, 30 * 1024)
    if attack_first:
        return diverse(ATTACKS, seed, 1000) + "\n" + prose
    return prose + "\n' or 1=1 --"


def test_a_form_field_blocking_on_its_first_kib_is_not_normalised_whole(decoded):  # noqa: F811
    result = scan_parts(body=_form(_body(1, True)), content_type="application/x-www-form-urlencoded")
    assert result.score >= BLOCK and "scan:stopped_at_block" in result.skipped
    assert sum(decoded) <= 6 * 1024            # was the whole field (~40 KiB encoded) a round


def test_a_form_field_with_a_clean_start_is_read_whole(decoded):  # noqa: F811
    result = scan_parts(body=_form(_body(2, False)), content_type="application/x-www-form-urlencoded")
    assert result.score >= BLOCK                 # the attack on the last line is found
    assert max(decoded) >= 30 * 1024


@pytest.mark.parametrize("seed", range(3, 7))
def test_the_form_fields_verdict_is_the_full_readings(monkeypatch, seed):
    """Early and full readings block alike, and what the early one lists a full reading finds; with the
    line breaks written %0A, %0a or sent raw."""
    texts = [_body(seed, True), _body(seed, False), diverse(ATTACKS, seed, 30 * 1024),
             diverse(PROSE, seed, 30 * 1024)]
    bodies = [_form(text) for text in texts] + [_form(texts[0]).replace(b"%0A", b"%0a"), _form(texts[2], safe="\n")]
    kind = "application/x-www-form-urlencoded"
    early = [scan_parts(body=body, content_type=kind) for body in bodies]
    early_body = importlib.import_module("smartlayer.detectors.payload.early")
    monkeypatch.setattr(early_body, "FROM_CHARS", 10 ** 9)
    monkeypatch.setattr(matching, "_PREFIX_CHARS", 10 ** 9)
    full = [scan_parts(body=body, content_type=kind) for body in bodies]
    for one, whole in zip(early, full, strict=True):
        assert (one.score >= BLOCK) == (whole.score >= BLOCK)
        assert _labels(one) <= _labels(whole)
