"""The payload validator's cost on a typical request, clean and attacking, and the engine against the stdlib.

    python tests/benchmarks/validator_cost.py [--repeat 3000] [--fresh]

A typical request: five query parameters, a 1 KiB urlencoded form body and
the headers a browser sends (User-Agent, Referer, Accept*, cookies), scanned
by ``scan_request`` as AIRequestValidator does.  The attack request is the
same with one parameter carrying a sqlmap probe.  Each figure is the median
(and p99) of ``--repeat`` scans of fresh Django requests; building the
request is not timed.  The 64 KiB worst cases are ``validator_worst.py``.

Repeated values (the same User-Agent, ``page=2``) are what a site sees, and
the scan remembers texts it found clean; ``--fresh`` makes every query value,
the comment and the session cookie new in each request, so that only the
headers repeat: the cost of a request made of values never seen before.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
HEADERS = {
    "HTTP_USER_AGENT": UA,
    "HTTP_REFERER": "https://shop.example.com/search?q=running+shoes&page=2&sort=price",
    "HTTP_ACCEPT": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
    "HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9,de;q=0.8",
    "HTTP_ACCEPT_ENCODING": "gzip, deflate, br",
    "HTTP_COOKIE": "sessionid=k2j9d0s7a6q5w4e3r2t1y0u9i8o7; csrftoken=Qm9vZGxlMTIzNDU2Nzg5; theme=dark",
    "HTTP_X_REQUESTED_WITH": "XMLHttpRequest",
}
QUERY = {"q": "trail running shoes", "page": "2", "sort": "price_asc", "size": "44.5", "colour": "dark blue"}
COMMENT = ("I ordered the blue pair last week and they fit well, although the left one felt a little tight "
           "around the toes at first. After two runs it's fine. Delivery took 3 days; the box was dented but "
           "the shoes were OK. Would I buy again? Probably yes, if the price drops below 90 EUR. ")


def form_body() -> bytes:
    fields = {"name": "Jane O'Reilly", "email": "jane.doe+shop@example.co.uk", "rating": "4",
              "comment": (COMMENT * 4)[:880], "next": "/account/orders?tab=2"}
    return urlencode(fields).encode()


def requests(attack: bool, count: int, fresh: bool = False) -> list:
    from django.test import RequestFactory

    rf = RequestFactory()
    query = dict(QUERY, q="test' AND 8705=9360 AND 'rbaE'='rbaE") if attack else QUERY
    body = form_body()
    if not fresh:
        return [rf.post("/shop/review?" + urlencode(query), data=body,
                        content_type="application/x-www-form-urlencoded", **HEADERS) for _ in range(count)]
    out = []
    for i in range(count):
        n = f"{os.getpid()}{i:06d}"
        values = {k: f"{v} {n}" if k != "q" or not attack else f"{v} -- {n}" for k, v in query.items()}
        headers = dict(HEADERS, HTTP_COOKIE=HEADERS["HTTP_COOKIE"].replace("k2j9d0s7", n[-8:]))
        out.append(rf.post("/shop/review?" + urlencode(values), data=body.replace(b"I+ordered", b"I+%s+ordered" % n.encode()),
                           content_type="application/x-www-form-urlencoded", **headers))
    return out


def timed(fn, items) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU µs per call: on a shared machine the CPU time is the cost, the wall time adds waiting."""
    wall, cpu = [], []
    for item in items:
        start, start_cpu = time.perf_counter(), time.thread_time()
        fn(item)
        cpu.append((time.thread_time() - start_cpu) * 1e6)
        wall.append((time.perf_counter() - start) * 1e6)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3000)
    parser.add_argument("--fresh", action="store_true", help="new query values, comment and session in each request")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from smartlayer.detectors.payload import engine, scan_request

    print(f"engine: {engine.ENGINE}; {len(form_body())} bytes of form body, {len(QUERY)} query parameters"
          + ("; new values in every request" if args.fresh else ""))
    start = time.perf_counter()
    for _ in range(1_000_000):
        pass
    loop_ms = (time.perf_counter() - start) * 1e3
    # the machine's speed at the time: ~15-25 ms on an idle desktop core, several times that on a loaded one
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; an empty loop of 10^6 steps: {loop_ms:.0f} ms")
    print("| request | median µs | p99 µs | median CPU µs | score |")
    print("|---|---:|---:|---:|---:|")
    for attack in (False, True):
        scan_request(requests(attack, 1)[0])                  # warm up: settings, compiled engines
        batch = requests(attack, args.repeat, args.fresh)
        wall, cpu = timed(scan_request, batch)
        times = sorted(wall)
        score = scan_request(requests(attack, 1)[0]).score
        print(f"| typical, {'attack' if attack else 'clean'} | {statistics.median(times):.1f} "
              f"| {times[int(len(times) * 0.99)]:.1f} | {statistics.median(cpu):.1f} | {score} |")


if __name__ == "__main__":
    main()
