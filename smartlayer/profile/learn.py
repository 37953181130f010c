"""Learning a site profile from what the site served (offline; never imported on the request path).

Input: rows of the request log (:func:`rows_from_log`) or lines of an access
log / generated traffic (:func:`rows_from_records`), the refused ones already
left out by the caller.  Output: the JSON document :class:`~.core.Profile`
compiles (format :data:`~.core.FORMAT`):

1. paths → templates: typed segments (:func:`~.templates.typed_template`),
   then positions Django's URL resolver marks as converters, then the many
   digit-patterned or slug siblings of one parent collapsed
   (:data:`COLLAPSE_MIN`);
2. per template: class (page, asset, api, telemetry, form, or missing when it
   mostly answered 404) from what was recorded — response type, Accept,
   Sec-Fetch-*, X-Requested-With, extension — and which of those signals the
   log never had (``missing``); methods; distinct clients; per-client rate
   norms — per 10 s, quantiles over clients of each one's peak sliding count
   (:mod:`.rates`, what the rate rules count), per minute in fixed buckets —
   and the allowance the rate rules grant (the 99th percentile per 10 s);
3. per template and method: parameter names and their value schema (kind,
   length range, character classes, enumeration tags), each with a minimum
   support so rare values do not widen it; which assets the site shares, which pages have their own (:mod:`.furnish`).

Templates used by fewer than ``PROFILE_MIN_CLIENTS`` clients are left out —
a path only a scanner asked for must stay unknown — unless only signed-in
users used them and the site answered (the admin a few staff work in).
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..conf import sl_settings
from ..request.client import RecordKeys
from ..request.context import referer_host
from .core import FORMAT
from .furnish import furnish
from .params import request_params
from .rates import SlidingCounts, peak_quantiles
from .shapes import KIND_ACCEPTS, parse_shape
from .templates import HASH, INT, SLUG, UUID, Trie, extension, is_slug, segment_type, split, typed_template

#: distinct siblings of one parent that collapse into one placeholder
COLLAPSE_MIN = 8
#: rows between two sweeps of the clients silent for over 10 s (keeps the rate counters to the active ones)
_PRUNE_EVERY = 50_000
ASSET_EXTENSIONS = frozenset({".css", ".js", ".mjs", ".map", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp",
                              ".avif", ".ico", ".woff", ".woff2", ".ttf", ".otf", ".eot", ".mp4", ".webm", ".mp3",
                              ".pdf", ".txt", ".xml", ".json", ".webmanifest"})
_KIND_ORDER = ("int", "dec", "hex", "uuid", "email", "date", "obj")
_ENUM_MAX = 12


@dataclass(slots=True)
class Row:
    ts: float
    client: str
    method: str
    path: str
    status: int
    response_type: str = ""
    accept: str = ""
    fetch: str = ""
    xrw: bool = False
    referer_host: str = ""
    params: list[list[str]] = field(default_factory=list)


# ── inputs ─────────────────────────────────────────────────────────────────
def rows_from_records(records: Iterable[Any]) -> Iterator[Row]:
    """Rows of generated traffic or access-log lines (``TrafficRecord``/``ParsedLine``-like), in time order.

    Each row's client is the key the middleware judged the request as, which is what the request
    log holds (:class:`~smartlayer.request.client.RecordKeys`: a cookie's first request from an
    address is the address's), so a profile learned from records counts the clients and their
    rates as one learned from the log of the same traffic does."""
    keys = RecordKeys()
    for rec in records:
        client = keys.keys(rec.ip, getattr(rec, "cookie", "") or "", getattr(rec, "user_id", None))[0]
        body = getattr(rec, "body", "") or ""
        params = request_params(getattr(rec, "query", "") or "", body.encode("utf-8", "replace") if body else None,
                                getattr(rec, "content_type", "") or "")
        yield Row(float(rec.ts), client, rec.method or "GET", rec.path or "/", int(rec.status or 0),
                  getattr(rec, "response_type", "") or "", getattr(rec, "accept", "") or "",
                  getattr(rec, "fetch", "") or "", bool(getattr(rec, "xrw", False)),
                  referer_host(getattr(rec, "referer", "") or ""), params)


def rows_from_log(rows: Iterable[dict[str, Any]]) -> Iterator[Row]:
    """Rows of the request log (``RequestLog.objects.values(...)`` dicts)."""
    for r in rows:
        ts = r["timestamp"].timestamp() if hasattr(r["timestamp"], "timestamp") else float(r["timestamp"])
        params = r.get("params")
        yield Row(ts, r.get("client_key") or "", r.get("method") or "GET", r.get("path") or "/",
                  int(r.get("status_code") or 0), r.get("response_type") or "", r.get("accept") or "",
                  r.get("fetch") or "", bool(r.get("xrw")), r.get("referer_host") or "",
                  [list(p) for p in params if isinstance(p, list) and len(p) == 3] if isinstance(params, list) else [])


LOG_FIELDS = ("timestamp", "client_key", "method", "path", "status_code", "response_type", "accept", "fetch",
              "xrw", "referer_host", "params")


# ── templates ──────────────────────────────────────────────────────────────
def _resolver_template(path: str) -> str | None:
    """The template Django's URL resolver gives a path, where it answers (converters → placeholders)."""
    try:
        from django.urls import Resolver404, resolve
    except Exception:  # noqa: BLE001 - Django not configured
        return None
    try:
        match = resolve(path)
    except (Resolver404, Exception):  # noqa: BLE001 - any resolver trouble: no opinion
        return None
    route = getattr(match, "route", "") or ""
    if "<" not in route or "(" in route:
        return None
    segs = split(path)
    rsegs = ("/" + route).split("/")
    if segs is None or len(rsegs) != len(segs):
        return None
    out = []
    for seg, rseg in zip(segs, rsegs, strict=True):
        if rseg.startswith("<") and rseg.endswith(">"):
            conv = rseg[1:-1].split(":", 1)[0] if ":" in rseg else "str"
            typed = segment_type(seg)
            out.append({"int": INT, "uuid": UUID}.get(conv) or (typed if typed in (INT, UUID, HASH) else SLUG))
        else:
            out.append(seg)
    return "/".join(out)


def learn_templates(paths: Counter, *, resolver: bool = True) -> list[str]:
    """The templates of a set of paths (see the module docstring, step 1)."""
    typed: dict[str, str] = {}
    for path in paths:
        t = (_resolver_template(path) if resolver else None) or typed_template(path)
        typed[path] = t
    templates = set(typed.values())
    for pass_kind in ("digits", "slug"):
        groups: dict[tuple[str, int, str], set[str]] = defaultdict(set)
        for t in templates:
            segs = t.split("/")
            for k in range(2 if pass_kind == "slug" else 1, len(segs)):
                seg = segs[k]
                if not seg or seg.startswith("{"):
                    continue
                if pass_kind == "digits":
                    shape = segment_type(seg)
                    if shape is None or shape in (INT, UUID):
                        continue
                    key = ("/".join(segs[:k]), k, shape + "|" + "/".join(segs[k + 1:]))
                else:
                    # only leaves (the last segment, or the last before a trailing slash)
                    if not is_slug(seg) or any(segs[k + 1:]):
                        continue
                    key = ("/".join(segs[:k]), k, "|" + "/".join(segs[k + 1:]))
                groups[key].add(t)
        replaced: dict[str, str] = {}
        for (_prefix, k, rest), members in groups.items():
            if len(members) < COLLAPSE_MIN:
                continue
            for t in members:
                segs = t.split("/")
                segs[k] = rest.split("|", 1)[0] if pass_kind == "digits" else SLUG
                replaced[t] = "/".join(segs)
        templates = {replaced.get(t, t) for t in templates}
    return sorted(templates)


# ── classes ────────────────────────────────────────────────────────────────
def _votes(row: Row) -> tuple[str | None, ...]:
    dest = row.fetch.split("/", 1)[0] if row.fetch else ""
    by_fetch = ("page" if dest in ("document", "iframe", "frame") else
                "asset" if dest in ("style", "script", "image", "font", "manifest", "video", "audio", "track")
                else "api" if dest == "empty" else None)
    rt = row.response_type
    by_type = ("page" if rt == "text/html" else "api" if rt.endswith("json") else
               "asset" if rt.startswith(("image/", "font/", "text/css", "video/", "audio/")) or "javascript" in rt
               else None)
    acc = row.accept
    by_accept = ("page" if acc.startswith("text/html") else "api" if acc.startswith("application/json") else
                 "asset" if acc.startswith(("image/", "text/css")) else None)
    return by_fetch, by_type, by_accept, "api" if row.xrw else None


def classify(template: str, st: _Stats) -> str:
    n = st.requests
    if st.status[4] >= 0.8 * n and st.status[2] + st.status[3] < 0.2 * n:
        return "missing"
    posts = sum(c for m, c in st.methods.items() if m not in ("GET", "HEAD"))
    votes = st.votes
    if extension(template) in ASSET_EXTENSIONS or votes["asset"] > 0.5 * n:
        return "asset"
    if posts >= 0.8 * n:
        quiet = st.no_content + st.nocors
        if quiet >= 0.5 * n or (votes["page"] < 0.2 * n and st.rate_p50_60s >= 6):
            return "telemetry"
        if votes["api"] > 0.5 * n or template.startswith("/api/"):
            return "api"
        return "form"
    if votes["api"] > 0.5 * n or (votes["page"] < 0.2 * n and template.startswith("/api/")):
        return "api"
    return "page"


# ── statistics ─────────────────────────────────────────────────────────────
class _Sample:
    """How often a parameter was seen, and a bounded, evenly spread sample of its shapes (a reservoir)."""

    __slots__ = ("n", "shapes")
    CAP = 5000

    def __init__(self) -> None:
        self.n = 0
        self.shapes: list[str] = []

    def add(self, shape: str) -> None:
        n = self.n
        self.n = n + 1
        if n < self.CAP:
            self.shapes.append(shape)
        else:
            j = (n * 2654435761 + 40503) % (n + 1)    # deterministic stand-in for a random slot in [0, n]
            if j < self.CAP:
                self.shapes[j] = shape


class _Stats:
    __slots__ = ("requests", "methods", "clients", "status", "votes", "signals", "no_content", "nocors",
                 "b10", "b60", "s10", "params", "rate_p50_60s")

    def __init__(self) -> None:
        self.requests = 0
        self.methods: Counter = Counter()
        self.clients: set[str] = set()
        self.status = [0] * 6
        self.votes: Counter = Counter()
        self.signals: Counter = Counter()
        self.no_content = 0
        self.nocors = 0
        self.b10: Counter = Counter()
        self.b60: Counter = Counter()
        self.s10 = SlidingCounts(10.0)   # each client's busiest 10 s here, as the rate rules count
        self.params: dict[str, dict[str, _Sample]] = defaultdict(dict)   # method → name → shapes
        self.rate_p50_60s = 0.0

    def add(self, row: Row) -> None:
        self.requests += 1
        self.methods[row.method] += 1
        self.clients.add(row.client)
        self.status[min(5, max(0, row.status // 100))] += 1
        for v in _votes(row):
            if v:
                self.votes[v] += 1
        for name, present in (("fetch", row.fetch), ("accept", row.accept), ("xrw", row.xrw),
                              ("response_type", row.response_type)):
            if present:
                self.signals[name] += 1
        if row.status in (202, 204):
            self.no_content += 1
        if "/no-cors/" in row.fetch:
            self.nocors += 1
        self.b10[(row.client, int(row.ts // 10))] += 1
        self.b60[(row.client, int(row.ts // 60))] += 1
        self.s10.add(row.client, row.ts)
        if row.params:
            seen = self.params[row.method]
            for _where, name, shape in row.params:
                sample = seen.get(name)
                if sample is None:
                    sample = seen[name] = _Sample()
                sample.add(shape)


def _served_to_users(st: _Stats) -> bool:
    """Pages only a few signed-in users (staff, say) use, and the site answered them: theirs, not a probe's."""
    return all(c.startswith("u:") for c in st.clients) and st.status[4] + st.status[5] < 0.5 * st.requests


def _quantiles(values: Iterable[int]) -> list[int]:
    data = sorted(values)
    if not data:
        return [0, 0, 0, 0]

    def q(p: float) -> int:
        return data[min(len(data) - 1, max(0, math.ceil(p * len(data)) - 1))]

    return [q(0.5), q(0.9), q(0.99), data[-1]]


def _schema(shapes: list[str], min_support: int, seen: int) -> dict[str, Any]:
    """A parameter's schema from a sample of its shapes (``seen``: how often it was seen in all)."""
    parsed = [parse_shape(s) for s in shapes]
    n = len(parsed)
    outliers = n // 100
    kinds = Counter(p[0] for p in parsed)
    kind = "text"
    for k in _KIND_ORDER:
        accepted = sum(c for kk, c in kinds.items() if kk in KIND_ACCEPTS[k] or kk == k)
        if accepted >= n - outliers and kinds.get(k, 0) > 0:
            kind = k
            break
    lengths = sorted(p[1] for p in parsed)
    classes: Counter = Counter()
    for p in parsed:
        classes.update(set(p[2]))
    chars = "".join(c for c in "ludspx" if classes.get(c, 0) > outliers)
    tags = Counter(p[3] for p in parsed)
    schema: dict[str, Any] = {"kind": kind, "len": [lengths[outliers], lengths[-1 - outliers]], "chars": chars,
                              "support": seen}
    if n >= min_support and "" not in tags and len(tags) <= _ENUM_MAX and kind == "text":
        # a handful of words (sort=price); numbers are ranges, not enumerations (page=12 exists tomorrow)
        schema["tags"] = sorted(t for t, c in tags.items() if c > outliers)
    return schema


def learn_profile(rows: Iterable[Row] | Callable[[], Iterable[Row]], *, resolver: bool = True,
                  min_clients: int | None = None, min_support: int | None = None,
                  log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The profile document of these rows (see the module docstring).

    ``rows``: the rows, or a function returning them afresh — then they are
    read twice (paths, then statistics) and never all held in memory.
    """
    min_clients = int(min_clients or sl_settings.PROFILE_MIN_CLIENTS)
    min_support = int(min_support or sl_settings.PROFILE_MIN_SUPPORT)
    if callable(rows):
        source = rows
    else:
        held = list(rows)   # not ``kept``: the endpoints' loop rebinds that name, and source() is read after it

        def source() -> Iterable[Row]:
            return held
    paths = Counter(r.path for r in source())
    trie = Trie(learn_templates(paths, resolver=resolver))
    of: dict[str, str | None] = {p: trie.find(p) for p in paths}
    stats: dict[str, _Stats] = defaultdict(_Stats)
    referers: Counter = Counter()
    served_ext: set[str] = set()
    start = end = None
    n_rows = 0
    for r in source():
        n_rows += 1
        if not n_rows % _PRUNE_EVERY and end is not None:
            for st in stats.values():
                st.s10.prune(end)
        t = of.get(r.path)
        if t is None:
            continue
        stats[t].add(r)
        if r.referer_host:
            referers[r.referer_host] += 1
        if r.status < 400:
            ext = extension(r.path)
            if ext:
                served_ext.add(ext)
        start = r.ts if start is None else min(start, r.ts)
        end = r.ts if end is None else max(end, r.ts)
    endpoints: dict[str, Any] = {}
    for t, st in sorted(stats.items()):
        if len(st.clients) < min_clients and not _served_to_users(st):
            continue
        n10 = peak_quantiles(st.s10.peaks.values())
        n60 = _quantiles(st.b60.values())
        st.rate_p50_60s = n60[0]
        cls = classify(t, st)
        params: dict[str, Any] = {}
        checked = []
        for method, support in st.methods.items():
            if support >= min_support:
                checked.append(method)
            kept = {}
            for name, sample in st.params.get(method, {}).items():
                if sample.n >= max(3, min(min_support, support // 100 + 3)):
                    kept[name] = _schema(sample.shapes, min_support, sample.n)
            if kept:
                params[method] = kept
        endpoints[t] = {
            "class": cls, "methods": sorted(st.methods), "method_counts": dict(st.methods),
            "clients": len(st.clients), "requests": st.requests,
            "status": {f"{i}xx": c for i, c in enumerate(st.status) if c},
            "signals": dict(st.signals),
            "missing": [s for s in ("fetch", "accept", "xrw", "response_type") if not st.signals.get(s)],
            "norms": {"10s": n10, "60s": n60},
            "allowance_10s": n10[2] if len(st.b10) >= 20 else 0,
            "params": params, "checked": sorted(checked),
        }
    furnish(endpoints, source(), of)
    total_ref = sum(referers.values())
    hosts = [h for h, c in referers.most_common(5) if total_ref and c >= 0.2 * total_ref]
    if log:
        log(f"profile: {len(endpoints)} endpoints from {n_rows} requests ({len(stats)} templates seen)")
    return {"format": FORMAT, "hosts": hosts, "extensions": sorted(served_ext), "endpoints": endpoints,
            "rows": n_rows, "start": start, "end": end, "min_clients": min_clients, "min_support": min_support,
            "overrides": {"class": {}, "exempt_params": {}}}
