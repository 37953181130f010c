"""Complexity checks without time limits: how the cost grows, not how long it takes.

No test asserts a duration: a loaded machine makes any limit flaky.  Tests
assert instead how the cost *grows* from an input to a k times larger one:
linear code costs about k times more, quadratic k², exponential far more,
and a bound such as ``growth(...) < k * 2.5`` leaves room for noise on both
sides.  The cost is the CPU time of this thread (``time.thread_time``), which
other processes on a busy machine do not inflate, and the least of a few runs,
which leaves out the rest of the noise.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def cpu_cost(run: Callable[[Any], object], arg: Any, repeat: int = 5) -> float:
    """The least CPU time of this thread over ``repeat`` calls of ``run(arg)``."""
    best = float("inf")
    for _ in range(repeat):
        start = time.thread_time()
        run(arg)
        best = min(best, time.thread_time() - start)
    return best


def growth(run: Callable[[Any], object], small: Any, large: Any, repeat: int = 5) -> float:
    """``cpu_cost(run, large) / cpu_cost(run, small)``."""
    return cpu_cost(run, large, repeat) / max(cpu_cost(run, small, repeat), 1e-7)
