"""The model's features: one fixed, named vector per request, online and offline.

:func:`extract` is the **one** function that turns a client's window
(:class:`~smartlayer.state.windows.window.Snapshot`, the current request included) into the
vector the model scores.  The middleware calls it on the request path for
clients past the grace period; training calls it through
:func:`smartlayer.ml.training.frames.frame_to_vectors`, which replays historical rows through the very same
:class:`~smartlayer.state.windows.window.ClientWindow` in the very same order the middleware
uses (arrival → features → outcome).  Online and offline vectors are therefore
identical by construction, not by two implementations kept in step.

Feature set ``fs1`` (:data:`FEATURE_NAMES`; the names say what, the comments
below say why).  "Window" means the arrivals/outcomes the snapshot holds
(``WINDOW_SECONDS`` and ``WINDOW_MAX_EVENTS`` bound it).

Scaling, decided by measurement (``training/experiments.py``): **counts stay
raw**, durations are ``log1p``-compressed.  An isolation tree splits a node
at a threshold drawn uniformly between the node's min and max, so a stretched
upper tail gets many splits and its members are isolated fast — and the
heavy upper tail of request counts is exactly where scrapers and floods
live.  ``log1p`` on counts squeezed that tail into a sliver of the range:
on the generated attack days it lost most scrapers (0 % of scraper vectors
above the threshold vs. ~80–95 % raw) at the same false-positive rate.
It also matters because a forest cannot extrapolate: a client ten times
faster than anything in training lands in the same leaf as the fastest
training client, so that client must already look rare.  Response time and
mean gap are durations whose ratios matter (5 ms vs 50 ms, 1 s vs 10 s), so
they keep the log.

The request path budget is a few tens of microseconds, so the code is written
for CPython speed: one ``zip(*arrivals)`` transpose, bisection for the time
spans, ``tuple.count``/``Counter``/``math.dist`` for the aggregates (C loops,
no per-element Python frames), and no pandas/NumPy on this path (their per-call overhead is larger than the
whole computation for 200 events).
"""
from __future__ import annotations

import math
import operator
from bisect import bisect_left
from collections import Counter
from itertools import compress
from typing import TYPE_CHECKING

from ..conf import sl_settings
from ..request.facts import (
    FLAG_AUTHENTICATED,
    FLAG_EMPTY_UA,
    FLAG_SENSITIVE,
    FLAG_SUSPICIOUS_UA,
    longest_sequential_run,
)
from ..state.windows.window import Snapshot

if TYPE_CHECKING:  # pragma: no cover - typing only; never imported on the request path
    pass

#: Bump whenever a feature's definition, order or scaling changes: the store
#: refuses to load a model trained on another feature set.
FEATURE_SET_VERSION = "fs1"

FEATURE_NAMES: tuple[str, ...] = (
    # how fast — short spans from the arrivals, long spans from minute buckets
    "count_10s",                # arrivals in the last 10 s (the current one included)
    "count_60s",                # ... 60 s
    "count_10min",              # ... last 10 minute buckets (current minute included)
    "count_1h",                 # ... last 60 minute buckets
    "count_24h",                # arrivals in 24 h (hour buckets; the grace count)
    # what — breadth and shape of the paths asked for in the last 60 s
    "distinct_paths_60s",
    "path_entropy_60s",         # Shannon entropy (bits) of the path distribution
    "sequential_run_60s",       # longest run of consecutive numeric IDs (enumeration)
    "sensitive_hits",           # window arrivals on grey_sensitive_paths
    # how it went — finished requests in the window (blocked ones left out)
    "share_4xx",
    "share_404",
    "share_5xx",
    "share_blocked",            # outcomes smartlayer itself refused
    "log_response_ms_mean",
    # rhythm — gaps between consecutive arrivals in the window
    "log_gap_mean_s",
    "gap_cv",                   # std / mean: ~0 for a metronome script, ~1 for people
    # how — method mix over the window, and who the client says it is
    "share_post",
    "share_other_methods",      # neither GET nor POST (HEAD, PUT, DELETE, OPTIONS, ...)
    "suspicious_ua",            # current user agent is empty or a known tool
    "authenticated",
)
N_FEATURES = len(FEATURE_NAMES)

#: Columns :func:`frame_to_vectors` needs (RequestLog-like, ``ts`` in unix seconds).
FRAME_COLUMNS: tuple[str, ...] = (
    "ts", "client_key", "method", "path", "status_code", "response_time_ms",
    "user_agent", "authenticated", "was_blocked",
)

_log1p = math.log1p
_dist = math.dist
_not = operator.not_
_log2 = math.log2
_sqrt = math.sqrt


class _XLog2X(dict):
    """Memo of ``c * log2(c)`` for path counts: entropy without a log per path."""

    def __missing__(self, c: int) -> float:
        value = c * _log2(c) if c > 0 else 0.0
        if c < 1 << 16:
            self[c] = value
        return value


_xlog2x = _XLog2X()
_xlog2x_get = _xlog2x.__getitem__


def extract(snap: Snapshot) -> list[float]:
    """The feature vector of the request that produced ``snap`` (see :data:`FEATURE_NAMES`).

    Pure: reads only the snapshot (and ``WINDOW_SECONDS`` for a window too
    short to have a gap).  Never raises on an empty window; always returns
    :data:`N_FEATURES` finite floats.
    """
    arr = snap.arrivals
    n = len(arr)
    if not n:
        return [0.0] * N_FEATURES
    now = snap.now
    # one C-level transpose instead of a Python loop per feature
    ts, methods, paths_all, flags_all = zip(*arr, strict=False)

    # ── rates ──────────────────────────────────────────────────────────────
    # arrivals are time-ordered: bisect instead of walking back
    i10 = bisect_left(ts, now - 10.0)
    i60 = bisect_left(ts, now - 60.0, 0, i10)
    n60 = n - i60
    cur = int(now // 60)
    lo10, lo60 = cur - 9, cur - 59
    c10 = c60 = 0
    for minute, k in snap.minutes.items():
        if minute >= lo60:
            c60 += k
            if minute >= lo10:
                c10 += k

    # ── paths in the last minute ────────────────────────────────────────────
    paths = Counter(paths_all[i60:])
    distinct = len(paths)
    if distinct > 1:
        entropy = _log2(n60) - sum(map(_xlog2x_get, paths.values())) / n60
        if entropy < 0.0:  # rounding below zero for near-uniform tiny counts
            entropy = 0.0
    else:
        entropy = 0.0
    run = longest_sequential_run(paths)

    # ── methods, sensitive hits over the window ─────────────────────────────
    posts = methods.count("POST")
    others = n - posts - methods.count("GET")
    sensitive = 0
    for f in set(flags_all):
        if f & FLAG_SENSITIVE:
            sensitive += flags_all.count(f)

    # ── rhythm ──────────────────────────────────────────────────────────────
    if n >= 2:
        # max(): arrivals from hosts with skewed clocks may be slightly out of order
        gap_mean = max(0.0, (ts[-1] - ts[0]) / (n - 1))
        if gap_mean > 0.0:
            # sum of squared gaps = squared distance between ts[1:] and ts[:-1]
            sq = _dist(ts[1:], ts[:-1])
            var = sq * sq / (n - 1) - gap_mean * gap_mean
            gap_cv = _sqrt(var) / gap_mean if var > 0.0 else 0.0
        else:
            gap_cv = 0.0
    else:
        # one arrival in the window: the previous one is at least a window ago
        gap_mean = float(sl_settings.WINDOW_SECONDS)
        gap_cv = 0.0

    # ── outcomes (finished requests; the current one is not finished yet) ──
    outs = snap.outcomes
    no = len(outs)
    c4xx = c404 = c5xx = blocked = finished = 0
    resp_mean = 0.0
    if no:
        _, statuses, response_ms, was_blocked = zip(*outs, strict=False)
        blocked = was_blocked.count(True)
        if blocked:
            keep = tuple(map(_not, was_blocked))
            statuses = tuple(compress(statuses, keep))
            response_ms = tuple(compress(response_ms, keep))
        finished = len(statuses)
        if finished:
            if max(statuses) >= 400:
                ordered = sorted(statuses)
                at400 = bisect_left(ordered, 400)
                at500 = bisect_left(ordered, 500)
                c4xx = at500 - at400
                c404 = bisect_left(ordered, 405, at400) - bisect_left(ordered, 404, at400)
                c5xx = finished - at500
            resp_mean = sum(response_ms) / finished
    inv = 1.0 / finished if finished else 0.0

    flags = flags_all[-1]
    return [
        float(n - i10),
        float(n60),
        float(c10),
        float(c60),
        float(snap.count_last_day()),
        float(distinct),
        entropy,
        float(run),
        float(sensitive),
        c4xx * inv,
        c404 * inv,
        c5xx * inv,
        blocked / no if no else 0.0,
        _log1p(resp_mean) if resp_mean > 0.0 else 0.0,
        _log1p(gap_mean),
        gap_cv,
        posts / n,
        others / n,
        1.0 if flags & (FLAG_SUSPICIOUS_UA | FLAG_EMPTY_UA) else 0.0,
        1.0 if flags & FLAG_AUTHENTICATED else 0.0,
    ]


def past_grace(snap: Snapshot) -> bool:
    """True when the middleware scores this request: :func:`smartlayer.detectors.behaviour.rules.evaluate`
    puts a client in grace while ``count_last_day() <= grey_grace_requests``."""
    grace = int(sl_settings.grey_grace_requests)
    # every arrival still in the window is also in the 24 h count
    return len(snap.arrivals) > grace or snap.count_last_day() > grace
