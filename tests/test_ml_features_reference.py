"""The extractor's C-level shortcuts against the plain definitions, on random windows.

:func:`smartlayer.ml.features.extract` reads the class string through bytes masks,
finds the session's last pause with ``bytes.rfind``, counts even gap pairs without
sorting and skips the chain split when no page view was navigated.  Each is checked
here against the feature's definition written as a plain Python loop, exactly (these
features are counts, or a log of a difference of the same two floats).
"""
from __future__ import annotations

import math
import random

import pytest

from smartlayer.ml.features import EVEN_RATIO, FEATURE_NAMES, HURRIED_GAP, SESSION_GAP, extract
from smartlayer.request.facts import (
    FLAG_API,
    FLAG_ASSET,
    FLAG_FOREIGN_REFERER,
    FLAG_NAVIGATED,
    FLAG_PROFILED,
    FLAG_TELEMETRY,
    FLAG_UNKNOWN_PATH,
)
from smartlayer.state.windows.window import ClientWindow
from tests.helpers import request_kind

T0 = 1_700_000_000.0
_BITS = (FLAG_NAVIGATED, FLAG_FOREIGN_REFERER, FLAG_ASSET, FLAG_TELEMETRY, FLAG_API, FLAG_UNKNOWN_PATH)


def _reference(snap) -> dict[str, float]:
    arr = list(snap.arrivals)
    kinds = [request_kind(a[1], a[3]) for a in arr]
    pages = [(a, k) for a, k in zip(arr, kinds, strict=True) if k in "NRP"]
    pts = [a[0] for a, _ in pages]
    profiled = bool(arr[-1][3] & FLAG_PROFILED)
    out: dict[str, float] = {}
    gaps = [b - a for a, b in zip(pts, pts[1:], strict=False)]
    start = arr[0][0]
    for i, g in enumerate(gaps):       # the last pause wins
        if g > SESSION_GAP:
            start = pts[i + 1]
    out["log_session_s"] = math.log1p(max(0.0, snap.now - start))
    even = direct = 0
    if profiled and len(pts) >= 2:
        for i, g in enumerate(gaps):
            if g < HURRIED_GAP:
                direct += pages[i + 1][1] == "P"
        if len(pts) >= 3:
            zero = any(g == 0 for g in gaps[:-1])
            for a, b in zip(gaps, gaps[1:], strict=False):
                r = b / (max(a, 1e-3) if zero else a)
                even += 1.0 / EVEN_RATIO <= r <= EVEN_RATIO
    out["hurried_direct_pages"] = float(direct)
    out["even_page_gaps"] = float(even)
    depth = run = 0
    for _, k in pages:
        run = run + 1 if k == "N" else 0
        depth = max(depth, run)
    out["chain_depth"] = float(depth if pages else 0)
    out["page_breadth"] = len({a[2] for a, _ in pages}) / len(pages) if pages else -1.0
    out["page_views"] = float(len(pages))
    return out


def _window(rng: random.Random):
    win = ClientWindow(rng.choice([20, 200]))
    profiled = FLAG_PROFILED if rng.random() < 0.8 else 0
    t, snap = T0, None
    mode = rng.choice(["even", "ties", "pauses", "mixed"])
    for _ in range(rng.randrange(1, 260)):
        if mode == "even":
            t += 4.0 + rng.random() * 0.4
        elif mode == "ties":
            t += rng.choice([0.0, 0.0, 1.0, 3.0, 0.0004])
        elif mode == "pauses":
            t += rng.choice([2.0, 5.0, 301.0, 900.0])
        else:
            t += rng.expovariate(0.2)
        f = profiled
        for bit in _BITS:
            if rng.random() < 0.15:
                f |= bit
        method = rng.choice(["GET", "GET", "GET", "HEAD", "POST"])
        snap = win.arrive((t, method, f"/p/{rng.randrange(30)}", f), 3600)
        win.complete((t, rng.choice([200, 404, 500]), 5.0, rng.random() < 0.1))
    return snap


@pytest.mark.parametrize("seed", range(6))
def test_shortcuts_equal_the_plain_definitions(seed):
    rng = random.Random(seed)
    for _ in range(60):
        snap = _window(rng)
        vec = extract(snap)
        for name, value in _reference(snap).items():
            assert vec[FEATURE_NAMES.index(name)] == value, (name, seed)


def test_even_ratio_bounds_are_inclusive():
    """A pair of gaps whose ratio is exactly EVEN_RATIO counts as even, as the sorted bisection had it:
    23 / 20 is the double nearest 1.15, and every time below is exact in binary."""
    win = ClientWindow(200)
    snap = None
    for t in (1000.0, 1020.0, 1043.0, 1063.0, 1086.0):   # gaps 20, 23, 20, 23: ratios 1.15 and 1/1.15
        snap = win.arrive((t, "GET", f"/p/{t}", FLAG_PROFILED), 3600)
    assert 23.0 / 20.0 == EVEN_RATIO
    vec = extract(snap)
    assert vec[FEATURE_NAMES.index("even_page_gaps")] == _reference(snap)["even_page_gaps"] >= 2
