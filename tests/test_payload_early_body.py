"""A long body that blocks on its first lines is not normalised further (see payload/early.py).

Counted in work (characters through the decoders), never in time.  The verdict
is the full reading's; a body whose start does not block is read whole.
"""
from __future__ import annotations

import importlib

import pytest

from smartlayer.detectors.payload import scan_parts
from tests.test_payload_work import ATTACKS, PROSE, diverse

normalise = importlib.import_module("smartlayer.detectors.payload.normalise")
matching = importlib.import_module("smartlayer.detectors.payload.matching")
BLOCK = 3


@pytest.fixture
def decoded(monkeypatch):
    """Characters each decoding round of the normaliser was handed, in all."""
    sizes: list[int] = []
    original = normalise._decode_once
    monkeypatch.setattr(importlib.import_module("smartlayer.detectors.payload.scan"), "_CLEAN", {})

    def counting(text, **kwargs):
        sizes.append(len(text))
        return original(text, **kwargs)

    monkeypatch.setattr(normalise, "_decode_once", counting)
    return sizes


@pytest.fixture
def normalised(monkeypatch):
    """Characters of the texts normalised one by one (not as joined fields), in all."""
    sizes: list[int] = []
    scan = importlib.import_module("smartlayer.detectors.payload.scan")
    original = scan._normalise
    monkeypatch.setattr(scan, "_CLEAN", {})

    def counting(text, **kwargs):
        sizes.append(len(text))
        return original(text, **kwargs)

    monkeypatch.setattr(scan, "_normalise", counting)
    return sizes


def _body(seed: int, attack_first: bool) -> str:
    """60 KiB of text lines; the first KiB attack strings (or the last line one)."""
    prose = diverse(PROSE, seed, 60 * 1024)
    if attack_first:
        return diverse(ATTACKS, seed, 1000) + "\n" + prose
    return prose + "\n' or 1=1 --"


def _labels(result):
    return {(d.signature, d.location) for d in result.details}


def test_a_body_blocking_on_its_first_kib_is_not_normalised_whole(decoded):
    result = scan_parts(body=_body(1, True).encode(), content_type="text/plain")
    assert result.score >= BLOCK and "scan:stopped_at_block" in result.skipped
    assert sum(decoded) <= 4 * 1024            # was 64 KiB a round (the whole body before its first match)


def test_a_clean_start_is_read_whole(decoded):
    result = scan_parts(body=_body(2, False).encode(), content_type="text/plain")
    assert result.score >= BLOCK                 # the attack on the last line is found
    assert max(decoded) >= 60 * 1000


@pytest.mark.parametrize("seed", range(3, 9))
def test_the_verdict_is_the_full_readings(monkeypatch, seed):
    """Early and full readings block alike, and what the early one lists a full reading finds."""
    bodies = [_body(seed, True), _body(seed, False), diverse(ATTACKS, seed, 60 * 1024),
              diverse(PROSE, seed, 60 * 1024)]
    early = [scan_parts(body=body.encode(), content_type="text/plain") for body in bodies]
    early_body = importlib.import_module("smartlayer.detectors.payload.early")
    monkeypatch.setattr(early_body, "FROM_CHARS", 10 ** 9)
    monkeypatch.setattr(matching, "_PREFIX_CHARS", 10 ** 9)
    full = [scan_parts(body=body.encode(), content_type="text/plain") for body in bodies]
    for one, whole in zip(early, full, strict=True):
        assert (one.score >= BLOCK) == (whole.score >= BLOCK)
        assert _labels(one) <= _labels(whole)


def test_fields_of_attacks_stop_after_the_first_few(normalised):
    """A multipart body of 60 attacking fields: the first pass comes after 4 KiB of them, not 8 KiB."""
    text = diverse(ATTACKS, 9, 60 * 1000)
    fields = {f"f{i}": text[i * 1000:(i + 1) * 1000] for i in range(60)}
    result = scan_parts(form_fields=fields)
    assert result.score >= BLOCK and "scan:stopped_at_block" in result.skipped
    assert 0 < sum(normalised) <= 6 * 1024        # 9 fields (9 KiB) normalised before the first verdict before
