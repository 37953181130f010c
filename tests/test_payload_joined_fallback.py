"""A body of many fields one of which decodes to a line break: matched as one group all the same — counted, not timed.

Such a group cannot be normalised as one text (the field's own break would
become a line of its own), so its fields are normalised one by one; they were
then queued one by one too, and a JSON list of attacks was matched 3 KiB deep
and each field again before the request could stop.  Matched as one group, it
stops on its first KiB as any long group does.
"""
from __future__ import annotations

import json

import pytest

from smartlayer.detectors.payload import scan as payload
from smartlayer.detectors.payload.early import PREFIX_CHARS
from tests.helpers import spy_engine_matches


def _fields(count: int) -> list[str]:
    """A field that decodes to a line break, then ``count`` different attack strings of ~60 characters."""
    return ["first line%0Asecond line"] + [
        f"customer {i:03d} said it's fine' or {i}={i} -- and also <b onmouseover=alert({i})>" for i in range(count)]


def _scan(fields: list[str]):
    scan = payload._new_scan()
    scan.run(query_string="", body=json.dumps(fields).encode(), content_type="application/json", headers=None,
             cookies=None, form_fields=None)
    return scan


@pytest.fixture(autouse=True)
def fresh_memory(monkeypatch):
    monkeypatch.setattr(payload, "_CLEAN", {})


def test_a_group_with_a_field_that_decodes_to_a_line_break_stops_on_its_first_kib(monkeypatch):
    _scan(_fields(3))                                 # the engines built (and warmed) before counting
    passes: list[int] = []
    spy_engine_matches(monkeypatch, lambda text, filtered: passes.append(len(text)))
    scan = _scan(_fields(120))
    result = scan.result()
    assert result.score >= scan.cfg.block_score
    assert "scan:stopped_at_block" in result.skipped
    assert scan.joined_parts == 0                     # not normalised as one text: the fields one by one
    assert max(passes) <= PREFIX_CHARS                # field by field, the first pass was 3 KiB of them


def test_its_verdict_and_hits_are_those_of_its_fields_read_one_by_one(monkeypatch):
    grouped = _scan(_fields(120)).result()
    monkeypatch.setattr(payload, "_CLEAN", {})
    monkeypatch.setattr(payload._Scan, "joined_fields", lambda self, raws, location, form: False)
    one_by_one = _scan(_fields(120)).result()
    assert grouped.score >= 3 and one_by_one.score >= 3
    assert set(grouped.hits) <= set(one_by_one.hits)  # the hits of its first lines: fewer listed, none new
