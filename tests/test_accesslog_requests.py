"""A log's request lines are taken apart once each: a log repeats them (a page's files and beacons,
every visitor's home page).  Counted, never timed; parsed exactly as afresh, escapes, absolute
targets and broken request lines included, and a long request line is not kept."""
from __future__ import annotations

from smartlayer.offline import accesslog
from smartlayer.offline.accesslog import parse_line

_STAMP = "[06/Dec/2026:07:00:{:02d} +0000]"
REQUESTS = [
    "GET /api/beacon HTTP/1.1", "POST /api/beacon HTTP/1.1", "GET /products/17/?ref=home HTTP/1.1",
    "GET http://shop.example/products/18/?a=1 HTTP/1.1", "GET /search?q=\\x22x\\x22 HTTP/1.1", "-",
    "get /lower HTTP/1.1", "GET /two-parts", "GET /" + "a" * 2000 + " HTTP/1.1",
]


def _lines(rounds: int = 5) -> list[str]:
    return [f'198.51.100.{i % 7} - - {_STAMP.format(i % 60)} "{REQUESTS[i % len(REQUESTS)]}" 200 12 '
            f'"https://shop.example/" "Mozilla/5.0"' for i in range(rounds * len(REQUESTS))]


def test_each_request_line_is_taken_apart_once_and_parses_as_afresh(monkeypatch):
    lines = _lines()
    accesslog._requests.clear()
    afresh = []
    for line in lines:
        accesslog._requests.clear()
        afresh.append(parse_line(line))
    accesslog._requests.clear()
    taken = []
    real = accesslog._request_parts
    monkeypatch.setattr(accesslog, "_request_parts", lambda request: taken.append(request) or real(request))
    assert [parse_line(line) for line in lines] == afresh
    assert sum(p is None for p in afresh) == 2 * 5            # "-" and the lower-case method, each round
    kept = [r for r in REQUESTS if len(r) <= accesslog._REQUEST_KEPT]
    assert sorted(set(taken)) == sorted(REQUESTS)
    assert len(taken) == len(kept) + 5                        # once each; the long one every time
    assert all(len(r) <= accesslog._REQUEST_KEPT for r in accesslog._requests)
