"""Offline: historical rows → frames → vectors, through the same ClientWindow as the request path.

Rows of the request log (:func:`requestlog_frame`) or of an access log or
generated traffic (:func:`records_frame`) become a frame of
:data:`~smartlayer.ml.features.FRAME_COLUMNS`; :func:`frame_to_vectors`
replays each client's rows through a :class:`~smartlayer.state.windows.window.ClientWindow`
exactly as the middleware does (arrive → :func:`~smartlayer.ml.features.extract`
→ complete), so online and offline vectors are identical by construction.

pandas and NumPy live here, never on the request path.
"""
from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ...conf import sl_settings
from ...request.facts import arrival_flags
from ...state.windows.window import ClientWindow
from ..features import FRAME_COLUMNS, N_FEATURES, OPTIONAL_COLUMNS, extract, scored, site_flags

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy as np
    import pandas as pd



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


WINDOW_ONLY = "window_only"
"""Optional frame column: the row arrives in its client's window and is neither completed nor
extracted — a cookie's first request, judged as its address, as the middleware records it."""


def frame_to_vectors(
    df: pd.DataFrame,
    *,
    sample_every: int = 1,
    max_vectors: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    profile: Any = None,
    own_assets: bool = False,
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

    ``profile``: the site profile (:class:`~smartlayer.profile.core.Profile`) the model will
    serve with — the request classes and referers of :func:`~smartlayer.ml.features.site_flags`,
    read from the optional ``referer_host`` column, exactly as the detector sets them live.
    ``own_assets``: :func:`~smartlayer.ml.features.extract`'s, as the version's manifest will say.

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
        (df[WINDOW_ONLY].fillna(False).to_numpy(dtype=bool) if WINDOW_ONLY in df.columns
         else np.zeros(total, dtype=bool)),
        (df["referer_host"].fillna("").to_numpy(dtype=object) if profile is not None and "referer_host" in df.columns
         else np.full(total, "", dtype=object)),
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
        ts_l, code_l, method_l, path_l, status_l, resp_l, ua_l, auth_l, blocked_l, only_l, ref_l = (
            a[idx].tolist() for a in arrays)
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
            if profile is not None:
                flags |= site_flags(profile, path, ref_l[j])
            if only_l[j]:
                win.arrive((t, method_l[j], path, flags), keep, False)
                continue
            nth += 1
            if nth % sample_every != phase:
                # not a candidate: the window must still be exact, but no snapshot (a copy of the
                # whole window) is built for a request that will not be extracted
                win.arrive((t, method_l[j], path, flags), keep, False)
                win.complete((t, status_l[j], resp_l[j], blocked_l[j]))
                continue
            snap = win.arrive((t, method_l[j], path, flags), keep)
            if scored(snap):
                if reservoir is None:
                    rows_out.append(row_l[j])
                    vecs.append(extract(snap, own_assets))
                else:
                    slot = reservoir.take()
                    if slot is not None:
                        if slot == len(vecs):
                            rows_out.append(row_l[j])
                            vecs.append(extract(snap, own_assets))
                        else:
                            rows_out[slot] = row_l[j]
                            vecs[slot] = extract(snap, own_assets)
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


def drop_exempt(df: pd.DataFrame, ips: Iterable[Any] | None = None) -> pd.DataFrame:
    """Exempt requests (:func:`smartlayer.request.exempt.is_exempt`: an exempt path,
    or an address in ``ALLOW_IPS``) never entered a window online, so they must not offline.

    ``ips``: the rows' client addresses (one per row), when the source has them.
    """
    import numpy as np

    from ...request.exempt import exempt_prefixes, is_allowlisted_ip

    if df.empty:
        return df
    prefixes = exempt_prefixes()
    mask = (df["path"].astype(str).str.startswith(prefixes).to_numpy(dtype=bool, copy=True) if prefixes
            else np.zeros(len(df), dtype=bool))
    if ips is not None:
        ips = list(ips)
        allowed = {ip: is_allowlisted_ip(ip) for ip in set(ips)}  # one check per address, not per row
        if any(allowed.values()):
            mask |= np.fromiter((allowed[ip] for ip in ips), dtype=bool, count=len(ips))
    return df[~mask] if mask.any() else df


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

    from ...models import RequestLog
    from .banned import BanIntervals

    bans = BanIntervals.between(since, until)
    window = RequestLog.objects.filter(timestamp__gte=since, timestamp__lt=until)
    refused = window.filter(Q(was_blocked=True) | Q(monitor_only=True)).count()
    qs = window.filter(was_blocked=False, monitor_only=False).order_by("client_key", "timestamp", "pk")
    fields = ("timestamp", "client_key", "method", "path", "status_code", "response_time_ms",
              "user_agent", "user_id", "was_blocked", "ip_address", "referer_host")

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
        kept = drop_exempt(chunk, chunk.pop("ip_address").tolist())
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
    out = pd.concat(frames, ignore_index=True)[[*FRAME_COLUMNS, *OPTIONAL_COLUMNS]] if frames else empty_frame()
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
    in, a client behind a shared address by its site cookie once the address
    has seen it, as :class:`~smartlayer.request.client.RecordKeys` — a cookie's
    first request is the address's, and a ``WINDOW_ONLY`` row records it in the
    cookie client's window too — else
    :func:`~smartlayer.request.client.ip_key`) or the IP key alone
    (``key="ip"``, for access logs, where a user field is not a Django user).
    Exempt paths are dropped.
    """
    import pandas as pd

    from ...conf import sl_settings
    from ...request.client import RecordKeys

    if key not in ("identity", "ip"):
        raise ValueError("key must be 'identity' or 'ip'")
    from ...request.context import referer_host

    cols: dict[str, list] = {c: [] for c in (*FRAME_COLUMNS, "label", "referer_host")}
    ts, ck, me, pa, st, rt, ua, au, bl, lb, rh = (cols[c] for c in (*FRAME_COLUMNS, "label", "referer_host"))
    ips: list[str | None] = []
    keys = RecordKeys(cookies=key == "identity" and sl_settings.SHARED_ADDRESS_COOKIES)
    also: list[bool] = []   # a cookie's first request, recorded in its own window only (WINDOW_ONLY)
    for r in records:
        uid = getattr(r, "user_id", None)
        judged, recorded = keys.keys(r.ip, getattr(r, "cookie", "") or "", uid if key == "identity" else None)
        row = (float(r.ts), r.method or "GET", r.path or "/", int(r.status), float(r.response_ms or 0.0),
               r.user_agent or "", bool(uid), getattr(r, "label", None),
               referer_host(getattr(r, "referer", "") or ""))
        for client, window_only in ((judged, False), (recorded, True)):
            if client is None:
                continue
            ips.append(r.ip)
            ck.append(client)
            also.append(window_only)
            for column, value in zip((ts, me, pa, st, rt, ua, au, lb, rh), row, strict=True):
                column.append(value)
            bl.append(False)
    if not ts:
        out = empty_frame()
        out["label"] = pd.Series([], dtype=object)
        return out
    df = pd.DataFrame(cols)
    df = df.astype({"ts": "float64", "status_code": "int64", "response_time_ms": "float64",
                    "authenticated": bool, "was_blocked": bool})
    if any(also):
        df[WINDOW_ONLY] = also
    return drop_exempt(df, ips).reset_index(drop=True)


def empty_frame() -> pd.DataFrame:
    """A frame with :data:`FRAME_COLUMNS` and no rows."""
    import pandas as pd

    return pd.DataFrame({c: pd.Series([], dtype=object) for c in (*FRAME_COLUMNS, *OPTIONAL_COLUMNS)}).astype(
        {"ts": "float64", "status_code": "int64", "response_time_ms": "float64",
         "authenticated": bool, "was_blocked": bool})
