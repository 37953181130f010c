"""A form part's pairs queued as one entry (a pair a line) must read exactly as the pairs queued one by one."""
from __future__ import annotations

import pytest

from smartlayer.detectors.payload import scan as payload
from smartlayer.detectors.payload import scan_parts

QUERIES = [
    "q=red+shoes&page=2",
    "q=red+shoes&id=1%27+or+%271%27%3D%271&page=2",
    "a=x%27&b=or+1%3D1--",                              # a quote ending one pair, the rest of the probe in the next
    "a=%3Cscript&b=%3Ealert(1)%3C/script%3E",
    "q=union+select&r=password+from+users",
    "a=..%2F..%2F&b=etc%2Fpasswd",
    "x=1;&y=cat+/etc/passwd",
    "q=O%27Reilly&note=rock+%26+roll",
]


def _one_by_one(self, pairs, location, key):
    for pair in pairs:
        if pair:
            self.queue(pair, location, key)


@pytest.mark.parametrize("query", QUERIES)
def test_pairs_as_one_entry_give_the_hits_of_pairs_one_by_one(query, monkeypatch):
    monkeypatch.setattr(payload, "_CLEAN", {})
    body = query.encode()
    joined = scan_parts(query_string=query, body=body, content_type="application/x-www-form-urlencoded")
    monkeypatch.setattr(payload, "_CLEAN", {})
    monkeypatch.setattr(payload._Scan, "queue_pairs", _one_by_one)
    apart = scan_parts(query_string=query, body=body, content_type="application/x-www-form-urlencoded")
    assert (joined.score, sorted(joined.hits), joined.truncated) == (apart.score, sorted(apart.hits), apart.truncated)


def test_a_query_of_several_pairs_is_one_entry_and_a_match_across_two_pairs_is_not_credited(monkeypatch):
    monkeypatch.setattr(payload, "_CLEAN", {})
    scan = payload._new_scan()
    scan.query("q=red+shoes&page=2&sort=price")
    assert len(scan.pending) == 1 and scan.pending[0][2] == "q=red shoes\npage=2\nsort=price"
    # each pair alone is clean; matched as one text, "'" then "or 1=1" on the next line could read as one probe
    result = scan_parts(query_string="a=x%27&b=or+1%3D1--")
    alone = [scan_parts(query_string="a=x%27"), scan_parts(query_string="b=or+1%3D1--")]
    assert set(result.hits) <= {h for r in alone for h in r.hits}     # every hit is one pair's own
