"""Per-request CPU of the smartlayer stack under ASGI, measured in one process.

    python tests/benchmarks/asgi_overhead.py [--requests 3000] [--in-flight 8] [--blocks 6]

The project and view of :mod:`overhead` (LocMem cache, SQLite log written by WatchLog's thread), served
by two Django ``ASGIHandler`` s — bare Django's usual middleware, and the same plus the four smartlayer
middlewares — on one event loop, ``--in-flight`` requests at a time from rotating anonymous clients.
Blocks of requests alternate between the stacks; each block's process CPU (every thread: the loop,
Django's per-request threads, smartlayer's worker threads and log writer) is divided by its requests,
and the medians (and means) of the blocks are printed with the added CPU and, for smartlayer, how many requests
were decided on the event loop and how many in a worker thread (``smartlayer.http.loop``'s counters);
``--in-threads`` sends every request's decisions to a thread, as before they could run on the loop.

Why CPU rather than latency: under ASGI a request's time is mostly waiting for threads; the CPU each
request costs is what a worker's throughput pays for.  Not a timed test: a benchmark to compare runs.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks import overhead  # noqa: E402


def scope(path: str, ip: str) -> dict:
    """An HTTP GET scope as an ASGI server hands it over, the browser headers of :func:`overhead.environ`."""
    env = overhead.environ(path, ip)
    headers = [(name[5:].replace("_", "-").lower().encode(), value.encode())
               for name, value in env.items() if name.startswith("HTTP_")]
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": headers,
            "client": (ip, 40000), "server": ("bench", 80)}


async def one(app, path: str, ip: str) -> int:
    sent = False
    status = 0

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope(path, ip), receive, send)
    return status


async def block(app, start: int, count: int, clients: int, in_flight: int, statuses: dict) -> None:
    numbers = iter(range(start, start + count))

    async def worker():
        for i in numbers:
            ip = f"10.{(i % clients) // 250}.{(i % clients) % 250}.7"
            code = await one(app, overhead.PATHS[i % len(overhead.PATHS)], ip)
            statuses[code] = statuses.get(code, 0) + 1

    await asyncio.gather(*(worker() for _ in range(in_flight)))


async def measure(requests: int, size: int, clients: int, in_flight: int) -> dict:
    from django.core.handlers.asgi import ASGIHandler
    from django.test.utils import override_settings

    with override_settings(MIDDLEWARE=overhead.BASE_MIDDLEWARE):
        bare = ASGIHandler()
    full = ASGIHandler()
    stacks = {"bare": bare, "smartlayer": full}
    cpu: dict[str, list[float]] = {name: [] for name in stacks}
    statuses: dict[str, dict] = {name: {} for name in stacks}
    await block(bare, 0, 200, clients, in_flight, {})          # warm-up: imports, first-request costs
    await block(full, 0, 200, clients, in_flight, {})
    for start in range(0, requests, size):
        for name, app in stacks.items():
            c0 = time.process_time()
            await block(app, 1000 + start, size, clients, in_flight, statuses[name])
            cpu[name].append((time.process_time() - c0) / size * 1e6)
    return {name: (statistics.median(values), statistics.fmean(values), statuses[name]) for name, values in cpu.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--blocks", type=int, default=6)
    parser.add_argument("--in-flight", type=int, default=8)
    parser.add_argument("--clients", type=int, default=600)
    parser.add_argument("--in-threads", action="store_true",
                        help="decide every request in a worker thread, as before the decisions on the loop")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="sl-asgi-")
    overhead.configure(os.path.join(tmp, "bench.sqlite3"))
    from django.core.management import call_command
    from django.urls import path as url

    overhead.urlpatterns.extend([url("", overhead.view), url("<path:rest>", overhead.view)])
    call_command("migrate", verbosity=0)
    try:
        from smartlayer.http import loop
    except ImportError:                      # a tree from before the decisions on the loop
        loop = None
    if args.in_threads and loop is not None:
        loop.may_decide_here = lambda request, warm: False
    size = max(1, args.requests // args.blocks)
    result = asyncio.run(measure(args.requests, size, args.clients, args.in_flight))
    (bare, bare_mean, bare_statuses), (full, full_mean, full_statuses) = result["bare"], result["smartlayer"]
    print(f"{args.requests} requests a stack, {args.in_flight} in flight on one loop, {args.clients} rotating clients")
    print(f"process CPU a request, median of {args.blocks} blocks: bare {bare:.0f} µs {bare_statuses}, "
          f"smartlayer {full:.0f} µs {full_statuses}; added {full - bare:.0f} µs, ratio {full / bare:.2f}; "
          f"means {bare_mean:.0f} / {full_mean:.0f} µs, added {full_mean - bare_mean:.0f}")
    if loop is not None:
        print(f"smartlayer's decisions: {loop.COUNTS['loop']} on the event loop, {loop.COUNTS['thread']} in a worker "
              f"thread ({loop.COUNTS['deferred']} of them handed over after deciding on the loop)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
