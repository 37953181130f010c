"""The extractor's method, class and status counts against their plain definitions, on random windows.

:func:`smartlayer.ml.features.extract` reads a window with other methods than GET as one string
of method characters, turns the page views that did not read into ``C`` with bitwise operations
on the class bytes, counts only the flag values that set a counted bit, and counts each distinct
error status once instead of sorting.  Each is checked here, exactly, against a plain loop.
"""
from __future__ import annotations

import random

import pytest

from smartlayer.ml.features import FEATURE_NAMES, extract
from smartlayer.request.facts import (
    FLAG_API,
    FLAG_ASSET,
    FLAG_FOREIGN_REFERER,
    FLAG_NAVIGATED,
    FLAG_PROFILED,
    FLAG_SENSITIVE,
    FLAG_TELEMETRY,
    FLAG_UNKNOWN_PATH,
)
from smartlayer.state.windows.window import ClientWindow
from tests.helpers import request_kind

T0 = 1_700_000_000.0
_BITS = (FLAG_NAVIGATED, FLAG_FOREIGN_REFERER, FLAG_ASSET, FLAG_TELEMETRY, FLAG_API, FLAG_UNKNOWN_PATH,
         FLAG_SENSITIVE)
_METHODS = ["GET", "GET", "GET", "HEAD", "POST", "PUT", "get", "OPTIONS"]


def _reference(snap) -> dict[str, float]:
    arr = list(snap.arrivals)
    n = len(arr)
    kinds = [request_kind(a[1], a[3]) for a in arr]
    own = [a for a, k in zip(arr, kinds, strict=True) if k not in "AT"]
    finished = [o[1] for o in snap.outcomes if not o[3]]
    inv = 1.0 / len(finished) if finished else 0.0
    inv_own = 1.0 / len(own) if own else 0.0
    return {
        "page_views": float(sum(k in "NRP" for k in kinds)),
        "direct_pages": float(sum(k == "P" for k in kinds)),
        "sensitive_hits": float(sum(1 for a in arr if a[3] & FLAG_SENSITIVE)),
        "unknown_paths": float(sum(1 for a in arr if a[3] & FLAG_UNKNOWN_PATH)),
        "assets": float(sum(1 for a in arr if a[3] & FLAG_ASSET and not a[3] & FLAG_UNKNOWN_PATH)),
        "api_calls": float(sum(1 for a in arr if a[3] & FLAG_API and not a[3] & (FLAG_UNKNOWN_PATH | FLAG_ASSET))),
        "share_head": sum(a[1] == "HEAD" for a in arr) / n,
        "share_post": sum(a[1] == "POST" for a in own) * inv_own,
        "share_other_methods": sum(a[1] not in ("GET", "HEAD", "POST") for a in own) * inv_own,
        "share_4xx": sum(400 <= s < 500 for s in finished) * inv,
        "share_404": sum(s == 404 for s in finished) * inv,
        "share_5xx": sum(s >= 500 for s in finished) * inv,
    }


def _window(rng: random.Random):
    win = ClientWindow(rng.choice([20, 200]))
    profiled = FLAG_PROFILED if rng.random() < 0.8 else 0
    methods = rng.choice([["GET"], ["GET", "HEAD"], _METHODS, ["POST", "PUT"]])
    statuses = rng.choice([[200], [200, 404], [200, 301, 400, 403, 404, 404, 429, 500, 503], [404],
                          [200, *range(400, 420), 404, 404, *range(500, 510)]])
    t, snap = T0, None
    for _ in range(rng.randrange(1, 260)):
        t += rng.expovariate(0.3)
        f = profiled
        for bit in _BITS:
            if rng.random() < 0.12:
                f |= bit
        snap = win.arrive((t, rng.choice(methods), f"/p/{rng.randrange(30)}", f), 3600)
        win.complete((t, rng.choice(statuses), 5.0, rng.random() < 0.1))
    return snap


@pytest.mark.parametrize("seed", range(6))
def test_counts_equal_the_plain_definitions(seed):
    rng = random.Random(seed)
    for _ in range(60):
        snap = _window(rng)
        for own_assets in (False, True):
            vec = extract(snap, own_assets)
            for name, value in _reference(snap).items():
                assert vec[FEATURE_NAMES.index(name)] == value, (name, seed)
