"""The model's features: one fixed, named vector per request, online and offline.

:func:`extract` is the **one** function that turns a client's window
(:class:`~smartlayer.state.windows.window.Snapshot`, the current request included) into the
vector the model scores.  The middleware calls it on the request path for
clients past the grace period; training calls it through
:func:`frame_to_vectors`, which replays historical rows through the very same
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
import random
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable
from itertools import compress
from typing import TYPE_CHECKING, Any

from ..conf import sl_settings
from ..detectors.behaviour.rules import arrival_flags, longest_sequential_run
from ..state.windows.window import (
    FLAG_AUTHENTICATED,
    FLAG_EMPTY_UA,
    FLAG_SENSITIVE,
    FLAG_SUSPICIOUS_UA,
    ClientWindow,
    Snapshot,
)

if TYPE_CHECKING:  # pragma: no cover - typing only; never imported on the request path
    import numpy as np
    import pandas as pd

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


# ─────────────────────────────────────────────────────────────────────────────
# Offline: historical rows → vectors, through the same ClientWindow
# ─────────────────────────────────────────────────────────────────────────────

Progress = Callable[[int, int], None]


class _Reservoir:
    """Uniform sample of at most ``size`` items from a stream of unknown length.

    Li's "Algorithm L": it draws how many candidates to *skip* rather than a
    coin per candidate, so the caller can ask :meth:`take` before paying for
    feature extraction and only extracts the vectors that are kept.
    """

    def __init__(self, size: int, rng: random.Random) -> None:
        self.size = size
        self.rng = rng
        self.seen = 0
        self._w = math.exp(math.log(self._u()) / size)
        self._next = size + self._skip()

    def _u(self) -> float:
        return self.rng.random() or 1e-300

    def _skip(self) -> int:
        return int(math.log(self._u()) / math.log1p(-self._w)) if self._w < 1.0 else 0

    def take(self) -> int | None:
        """Slot for the next candidate, or None to skip it."""
        i = self.seen
        self.seen += 1
        if i < self.size:
            return i
        if i < self._next:
            return None
        self._w *= math.exp(math.log(self._u()) / self.size)
        self._next = i + 1 + self._skip()
        return self.rng.randrange(self.size)


def frame_to_vectors(
    df: pd.DataFrame,
    *,
    sample_every: int = 1,
    max_vectors: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Replay RequestLog-like rows through per-client windows and extract vectors.

    ``df`` has :data:`FRAME_COLUMNS` (``ts`` in unix seconds; an optional
    ``label`` column is carried into the meta frame).  Rows are grouped by
    ``client_key`` and ordered by ``ts`` (ties keep their order); each row is
    fed exactly as the middleware does — ``arrive`` with
    :func:`~smartlayer.detectors.behaviour.rules.arrival_flags`, :func:`extract` if the client is
    past the grace period, then ``complete`` with the row's outcome stamped at
    its arrival time.

    Every row updates its client's window (the windows must be exact), but
    only some rows are turned into vectors, because extraction dominates the
    cost: every ``sample_every``-th request of each client (a seeded random
    phase per client), and of those at most ``max_vectors`` kept by uniform
    reservoir sampling, decided *before* extracting.

    Returns ``(X, meta)``: ``X`` float64 of shape ``(n, N_FEATURES)``; ``meta``
    with ``row`` (position in ``df``), ``client_key``, ``ts`` (and ``label``),
    in replay order.
    """
    import numpy as np
    import pandas as pd

    missing = [c for c in FRAME_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"frame_to_vectors: missing columns {missing}")
    sample_every = max(1, int(sample_every))
    if max_vectors is not None and max_vectors <= 0:
        raise ValueError("max_vectors must be positive")
    total = len(df)

    # group by client, then time: factorize + lexsort is far cheaper than
    # sorting 5M strings, and lexsort is stable (ties keep their row order)
    codes, _ = pd.factorize(df["client_key"], sort=False)
    ts_all = df["ts"].to_numpy(dtype=np.float64)
    order = np.lexsort((ts_all, codes))

    max_events = int(sl_settings.WINDOW_MAX_EVENTS)
    keep = float(sl_settings.WINDOW_SECONDS)
    rng = random.Random(seed)
    reservoir = _Reservoir(max_vectors, rng) if max_vectors else None
    rows_out: list[int] = []
    vecs: list[list[float]] = []
    flag_memo: dict[tuple[bool, str, str], int] = {}

    # each column as one NumPy array (a single conversion), then turned into
    # Python lists a block at a time: bounded memory, C-speed element access
    arrays = (
        ts_all, codes, df["method"].to_numpy(dtype=object), df["path"].to_numpy(dtype=object),
        df["status_code"].to_numpy(dtype=np.int64), df["response_time_ms"].to_numpy(dtype=np.float64),
        df["user_agent"].fillna("").to_numpy(dtype=object), df["authenticated"].to_numpy(dtype=bool),
        df["was_blocked"].to_numpy(dtype=bool),
    )
    block = 100_000
    done_rows = 0
    last_code = -1
    win = ClientWindow(max_events)
    phase = 0
    nth = 0
    for start in range(0, total, block):
        idx = order[start:start + block]
        row_l = idx.tolist()
        ts_l, code_l, method_l, path_l, status_l, resp_l, ua_l, auth_l, blocked_l = (a[idx].tolist() for a in arrays)
        for j in range(len(row_l)):
            code = code_l[j]
            if code != last_code:
                last_code = code
                win = ClientWindow(max_events)
                phase = rng.randrange(sample_every) if sample_every > 1 else 0
                nth = 0
            t = ts_l[j]
            path = path_l[j]
            key = (auth_l[j], ua_l[j], path)
            flags = flag_memo.get(key)
            if flags is None:
                if len(flag_memo) > 200_000:
                    flag_memo.clear()
                flags = flag_memo[key] = arrival_flags(authenticated=key[0], user_agent=key[1], path=path)
            snap = win.arrive((t, method_l[j], path, flags), keep)
            nth += 1
            if nth % sample_every == phase and past_grace(snap):
                if reservoir is None:
                    rows_out.append(row_l[j])
                    vecs.append(extract(snap))
                else:
                    slot = reservoir.take()
                    if slot is not None:
                        if slot == len(vecs):
                            rows_out.append(row_l[j])
                            vecs.append(extract(snap))
                        else:
                            rows_out[slot] = row_l[j]
                            vecs[slot] = extract(snap)
            win.complete((t, status_l[j], resp_l[j], blocked_l[j]))
        done_rows += len(idx)
        if progress is not None:
            progress(done_rows, total)

    X = np.asarray(vecs, dtype=np.float64).reshape(len(vecs), N_FEATURES)
    rows = np.asarray(rows_out, dtype=np.int64)
    if reservoir is not None and len(rows):
        # reservoir slots are in random order: restore replay order
        rank = np.empty(total, dtype=np.int64)
        rank[order] = np.arange(total)
        by_replay = np.argsort(rank[rows], kind="stable")
        X, rows = X[by_replay], rows[by_replay]
    meta = pd.DataFrame({
        "row": rows,
        "client_key": df["client_key"].to_numpy(dtype=object)[rows],
        "ts": ts_all[rows],
    })
    if "label" in df.columns:
        meta["label"] = df["label"].to_numpy(dtype=object)[rows]
    return X, meta


def drop_exempt(df: pd.DataFrame) -> pd.DataFrame:
    """Rows on exempt paths never entered a window online, so they must not offline."""
    from ..request.context import exempt_prefixes  # the middleware's own list: exempt paths never reach a window

    prefixes = exempt_prefixes()
    if not prefixes or df.empty:
        return df
    mask = df["path"].astype(str).str.startswith(prefixes)
    return df[~mask.to_numpy(dtype=bool)]


def requestlog_frame(since: Any, until: Any, *, chunk_size: int = 20_000,
                     counts: dict[str, int] | None = None) -> pd.DataFrame:
    """RequestLog rows in ``[since, until)`` as a :data:`FRAME_COLUMNS` frame.

    What is left out, and why (each row counted under the first that applies):

    * ``refused`` — requests smartlayer refused (``was_blocked``) or would
      have refused in monitor mode (``monitor_only``): the model learns what
      was *served*;
    * ``during_ban`` — requests of a client while one of its bans was in
      force (:class:`~.banned.BanIntervals`: by client key, and by address
      for IP bans) — a banned client's behaviour then is not "normal", its
      behaviour before the ban and after the lift is;
    * ``exempt_path`` — exempt paths (``EXEMPT_PATHS``): the middleware never
      windows them.

    ``counts``, when given, is filled with ``read``, those three and ``kept``.

    Three queries: the bans of the window, the count of refused rows, and the
    served rows, streamed with ``values_list(...).iterator(chunk_size)`` and
    turned into a DataFrame chunk by chunk, so peak memory is the result plus
    one chunk.  Ordered by (client_key, timestamp), which is the
    ``sl_reqlog_client_time`` index.
    """
    import pandas as pd
    from django.db.models import Q

    from ..models import RequestLog
    from .training.banned import BanIntervals

    bans = BanIntervals.between(since, until)
    window = RequestLog.objects.filter(timestamp__gte=since, timestamp__lt=until)
    refused = window.filter(Q(was_blocked=True) | Q(monitor_only=True)).count()
    qs = window.filter(was_blocked=False, monitor_only=False).order_by("client_key", "timestamp", "pk")
    fields = ("timestamp", "client_key", "method", "path", "status_code", "response_time_ms",
              "user_agent", "user_id", "was_blocked", "ip_address")

    frames: list[pd.DataFrame] = []
    buf: list[tuple] = []
    tally = {"read": refused, "refused": refused, "during_ban": 0, "exempt_path": 0, "kept": 0}

    def flush() -> None:
        if not buf:
            return
        chunk = pd.DataFrame.from_records(buf, columns=fields)
        buf.clear()
        chunk["ts"] = chunk.pop("timestamp").map(lambda d: d.timestamp()).astype("float64")
        user = chunk.pop("user_id")
        chunk["authenticated"] = user.notna() & (user.astype(str) != "")
        kept = drop_exempt(chunk)
        tally["exempt_path"] += len(chunk) - len(kept)
        frames.append(kept)

    # most rows belong to clients never banned: two dict lookups, no call
    banned_keys, banned_ips, covers = bans.by_key, bans.by_ip, bans.covers
    served = banned = 0
    for row in qs.values_list(*fields).iterator(chunk_size=chunk_size):
        served += 1
        if (row[1] in banned_keys or row[9] in banned_ips) and covers(row[1], row[9], row[0]):
            banned += 1
            continue
        buf.append(row)
        if len(buf) >= chunk_size:
            flush()
    flush()
    tally["read"] += served
    tally["during_ban"] = banned
    out = pd.concat(frames, ignore_index=True)[list(FRAME_COLUMNS)] if frames else empty_frame()
    tally["kept"] = len(out)
    if counts is not None:
        counts.update(tally)
    return out


def records_frame(records: Iterable[Any], *, key: str = "identity") -> pd.DataFrame:
    """A :data:`FRAME_COLUMNS` frame (plus ``label``) from request records.

    ``records`` are objects with ``ts, ip, method, path, status, user_agent,
    response_ms, user_id, label`` — :class:`smartlayer.sim.TrafficRecord`
    or :class:`smartlayer.offline.accesslog.ParsedLine`.  The client key is the one
    the middleware would use (``key="identity"``: ``u:<user_id>`` when signed
    in, else :func:`~smartlayer.request.client.ip_key`) or the IP key alone
    (``key="ip"``, for access logs, where a user field is not a Django user).
    Exempt paths are dropped.
    """
    import pandas as pd

    from ..request.client import ip_key

    if key not in ("identity", "ip"):
        raise ValueError("key must be 'identity' or 'ip'")
    cols: dict[str, list] = {c: [] for c in (*FRAME_COLUMNS, "label")}
    ts, ck, me, pa, st, rt, ua, au, bl, lb = (cols[c] for c in (*FRAME_COLUMNS, "label"))
    for r in records:
        uid = getattr(r, "user_id", None)
        ts.append(float(r.ts))
        ck.append(f"u:{uid}" if uid and key == "identity" else ip_key(r.ip))
        me.append(r.method or "GET")
        pa.append(r.path or "/")
        st.append(int(r.status))
        rt.append(float(r.response_ms or 0.0))
        ua.append(r.user_agent or "")
        au.append(bool(uid))
        bl.append(False)
        lb.append(getattr(r, "label", None))
    if not ts:
        out = empty_frame()
        out["label"] = pd.Series([], dtype=object)
        return out
    df = pd.DataFrame(cols)
    df = df.astype({"ts": "float64", "status_code": "int64", "response_time_ms": "float64",
                    "authenticated": bool, "was_blocked": bool})
    return drop_exempt(df).reset_index(drop=True)


def empty_frame() -> pd.DataFrame:
    """A frame with :data:`FRAME_COLUMNS` and no rows."""
    import pandas as pd

    return pd.DataFrame({c: pd.Series([], dtype=object) for c in FRAME_COLUMNS}).astype(
        {"ts": "float64", "status_code": "int64", "response_time_ms": "float64",
         "authenticated": bool, "was_blocked": bool})
