"""``overhead.py --gc``: every garbage collection of a measured pass, timed and put down to a stack.

A young collection in CPython is paid by whichever allocation crosses the threshold — a request of
either stack, or the log writer's thread — and costs what is young then (and what it holds): the
median per request never shows it, the p99 does.  This counts, per stack that was handling a request
when the collection began (``writer`` outside both: the log writer's thread) and per generation, the
collections, their CPU time on the collecting thread and their wall time (the difference is time the
collecting thread waited: the GIL taken by the other thread, or the machine).  It only reads: the
thresholds are the interpreter's defaults, as a host would run smartlayer.
"""
from __future__ import annotations

import gc
import threading
import time
from collections import defaultdict


class GCProbe:
    def __init__(self) -> None:
        self.stack = "writer"          # set by overhead.run around each request
        self.on = False
        self.main = threading.get_ident()
        self.rows: dict[tuple[str, int], list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
        self._start = (0, 0)

    def __call__(self, phase: str, info: dict) -> None:
        if not self.on:
            return
        if phase == "start":
            self._start = (time.perf_counter_ns(), time.thread_time_ns())
            return
        wall0, cpu0 = self._start
        stack = self.stack if threading.get_ident() == self.main else "writer"
        row = self.rows[(stack, info["generation"])]
        row[0] += 1
        row[1] += (time.thread_time_ns() - cpu0) / 1000
        row[2] += (time.perf_counter_ns() - wall0) / 1000

    def install(self) -> None:
        gc.callbacks.append(self)

    def take(self) -> dict[tuple[str, int], list[float]]:
        rows, self.rows = dict(self.rows), defaultdict(lambda: [0, 0.0, 0.0])
        return rows


def report(rows: dict[tuple[str, int], list[float]], requests: dict[str, int]) -> None:
    """One line per (stack, generation): collections, CPU and wall µs each, CPU µs per request of the pass."""
    total = sum(requests.values()) or 1
    print(f"  garbage collections (thresholds {gc.get_threshold()}): stack, generation, count, "
          "CPU µs each, wall µs each, CPU µs per request of the pass")
    for (stack, gen), (n, cpu, wall) in sorted(rows.items()):
        print(f"    {stack:<11} gen{gen} {n:>5} {cpu / n:>9.0f} {wall / n:>9.0f} {cpu / total:>8.2f}")
    cpu_all = sum(r[1] for r in rows.values())
    print(f"    all: {cpu_all / 1000:.1f} ms CPU, {cpu_all / total:.2f} µs a request over {total} requests")


PROBE = GCProbe()
