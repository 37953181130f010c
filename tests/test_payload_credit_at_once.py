"""A probe met before credits the hits it holds at a location at once, not hit by hit.

Counted in work (lines of Python run), never in time.  The hits, labels, score and excerpt are those of
crediting one hit at a time.
"""
from __future__ import annotations

import sys


def test_a_repeated_probe_credits_its_hits_at_once():
    """A probe met before credits the hits it holds at a location in a few set operations: 63 lines of
    Python for six hits when each was credited in a loop, 15 now (the repeated attack of a typical request
    runs ~190 lines more than the clean one)."""
    from smartlayer.detectors.payload.scan import _new_scan

    found = "q=test' and 8705=9360 and 'rbae'='rbae"
    for _ in range(3):                                       # met twice: held, its hits laid out
        scan = _new_scan()
        scan.match(found, "query")
    scan = _new_scan()
    lines = 0

    def trace(frame, event, arg):
        nonlocal lines
        if event == "line" and frame.f_code.co_name == "credit":
            lines += 1
        return trace

    sys.settrace(trace)
    try:
        scan.match(found, "query")
    finally:
        sys.settrace(None)
    assert len(scan.hits) >= 5
    assert 0 < lines <= 20


def test_credit_at_once_gives_what_crediting_each_hit_gives():
    """Guard: the hits, labels, score, located count and excerpt are those of crediting one hit at a time,
    for a request that listed none of them yet, one that listed some, and one that saw the names elsewhere."""
    from smartlayer.detectors.payload import held
    from smartlayer.detectors.payload.scan import _new_scan

    text = "q=test' and 8705=9360 and 'rbae'='rbae"
    for _ in range(3):
        _new_scan().match(text, "query")
    laid = next(entry[3]["query"] for key, entry in held._HELD.items() if key[1] == text and "query" in entry[3])
    assert laid.distinct and len(laid.hits) >= 5

    def one_by_one(scan):                        # the loop credit() ran for every probe before
        for label, name, weight, hit in laid.entries:
            if label in scan.labels:
                continue
            scan.labels.add(label)
            scan.located += 1
            scan.hits.append(hit)
            scan.listed.append(label)
            if name not in scan.seen:
                scan.seen.add(name)
                scan.score += weight
            if not scan.excerpt:
                scan.excerpt = hit.excerpt

    def held_signature(name):
        from smartlayer.detectors.payload.signatures import _BY_NAME
        return _BY_NAME[name]

    def state(scan):
        return (scan.hits, scan.listed, scan.labels, scan.seen, scan.score, scan.located, scan.excerpt)

    for prepare in (lambda s: None,
                    lambda s: s._hit(held_signature(laid.entries[1][1]), "query", "x", 0),
                    lambda s: s._hit(held_signature(laid.entries[0][1]), "cookie", "y", 0)):
        at_once, each = _new_scan(), _new_scan()
        prepare(at_once)
        prepare(each)
        at_once.credit(laid)
        one_by_one(each)
        assert state(at_once) == state(each)
