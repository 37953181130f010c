"""A form part's pairs have their spaces collapsed in a few passes over the part, not a Python call per pair.

A query string of thousands of ``&#39; or `` pairs (the ``&`` of an entity is a separator there) called
:func:`.parts.collapsed` once a pair: milliseconds of Python calls.  Counted in calls, never in time; the
pairs must be what collapsing each one gives.
"""
from __future__ import annotations

import importlib
import random

import pytest

from smartlayer.detectors.payload import scan_parts
from tests.helpers import record_calls
from tests.test_payload_plan import _empty, _full

parts = importlib.import_module("smartlayer.detectors.payload.parts")


@pytest.fixture
def collapse_calls(monkeypatch):
    return record_calls(monkeypatch, parts, "collapsed")


@pytest.mark.parametrize("query", ["&#39; or " * 3000, "a=1 &b= 2&c=x y " * 500])
def test_a_long_query_of_spaced_pairs_is_collapsed_without_a_call_per_pair(monkeypatch, collapse_calls, query):
    _empty(monkeypatch)
    scan_parts(query_string=query.replace(" ", "+"))
    _empty(monkeypatch)
    scan_parts(body=query.replace(" ", "%20").encode(), content_type="application/x-www-form-urlencoded")
    assert len(collapse_calls) <= 10


@pytest.mark.parametrize("count", [3, parts.MAX_RESCANNED + 1, 300])
def test_pairs_collapsed_is_each_pair_lowered_and_collapsed(count):
    """Guard: the same pairs as lowering and collapsing each one, on random pairs of spaces, ``=`` and letters."""
    rnd = random.Random(count)
    for _ in range(2_000):
        pairs = ["".join(rnd.choice("aB =  ") for _ in range(rnd.randint(0, 6))) for _ in range(count)]
        assert parts.pairs_collapsed(pairs) == [parts.collapsed(pair.lower()) for pair in pairs], pairs


@pytest.mark.parametrize("query", ["q=a &b= c&d=x  y& e", "&#39; or " * 200, "q=1 ' or 1=1 -- &x= y"])
def test_the_scan_reads_the_pairs_as_before(monkeypatch, query):
    """Guard: the same verdict, hits, excerpt and ``skipped`` as with a call per pair."""
    _empty(monkeypatch)
    now = _full(scan_parts(query_string=query.replace(" ", "+")))
    _empty(monkeypatch)
    monkeypatch.setattr(parts, "pairs_collapsed", lambda pairs: [parts.collapsed(p.lower()) for p in pairs])
    before = _full(scan_parts(query_string=query.replace(" ", "+")))
    assert now == before
