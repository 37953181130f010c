"""The replication bus's own cost: CPU of its thread, per second and per window event, over a real Redis.

    python tests/benchmarks/bus.py [--redis-url redis://127.0.0.1:6379/15] [--seconds 5] [--rate 2000]
                                   [--interval 0.02] [--src DIR]

Two buses in one process stand for two workers: each is handed ``--rate`` window-event-sized items a
second (a worker serving ``--rate``/2 requests a second sends two: arrival and outcome), publishes
them every ``--interval`` and receives the other's.  The handlers only count, so what is measured is
the bus itself — waking, publishing, reading, decoding — not the merge into the windows.  Each bus
thread's CPU is read from its own clock (``pthread_getcpuclockid``), so this process's feeding
thread is not in it; the feeding thread sleeps between items and holds the GIL very little, so the
figure is the bus without contention (under load ``load.py``'s ``threads`` column shows it with).

``--src DIR`` imports ``smartlayer`` from DIR (an export of another commit) to compare before and after.
Redis: only channels under the key prefix ``slbusbench`` are used; nothing is stored.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rate", type=int, default=2000, help="items a second into each bus")
    parser.add_argument("--interval", type=float, default=0.02, help="REPLICATION_INTERVAL")
    parser.add_argument("--src", help="import smartlayer from this directory instead of the checkout")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    if args.src:
        sys.path.insert(0, args.src)
    from django.conf import settings

    settings.configure(
        INSTALLED_APPS=["smartlayer"], USE_TZ=True, SECRET_KEY="bus-benchmark",
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        CACHES={"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": args.redis_url,
                            "KEY_PREFIX": "slbusbench"}},
    )
    import django

    django.setup()
    from smartlayer.state import bus as busmod

    got = [0, 0]
    buses = [busmod.Bus(interval=args.interval), busmod.Bus(interval=args.interval)]
    for i, bus in enumerate(buses):
        bus.subscribe("w", lambda items, i=i: got.__setitem__(i, got[i] + len(items)))
    if not all(bus.connected.wait(5) for bus in buses):
        print("the buses did not subscribe: is Redis at", args.redis_url, "?", file=sys.stderr)
        return 2
    clocks = [time.pthread_getcpuclockid(bus._thread.ident) for bus in buses]
    item = ("ip:203.0.113.7", 0, 1_800_000_000.0, "GET", "/page/1", 0)
    start_cpu = [time.clock_gettime(c) for c in clocks]
    pace = 1.0 / args.rate
    sent = 0
    started = time.monotonic()
    end = started + args.seconds
    while (now := time.monotonic()) < end:
        due = int((now - started) * args.rate)
        while sent < due:
            buses[0].send("w", item)
            buses[1].send("w", item)
            sent += 1
        time.sleep(pace * 8)
    cpu = [time.clock_gettime(c) - s for c, s in zip(clocks, start_cpu, strict=True)]
    deadline = time.monotonic() + 2
    while min(got) < sent and time.monotonic() < deadline:
        time.sleep(0.01)
    for bus in buses:
        bus.stop()
    print(f"smartlayer from {Path(busmod.__file__).parents[2]}; interval {args.interval * 1000:.0f} ms, "
          f"{args.rate} items/s into each bus for {args.seconds:.0f} s: {sent} sent each, received {got}")
    for n, c in enumerate(cpu):
        print(f"bus {n + 1}: {c / args.seconds * 1000:6.1f} ms of CPU a second, {c / max(sent, 1) * 1e6:5.1f} µs an item")
    return 0 if min(got) == sent else 1


if __name__ == "__main__":
    sys.exit(main())
