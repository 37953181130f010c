"""How smartlayer is doing, for ``python manage.py smartlayer_status`` (and any monitoring).

Each part of the system is one *section*: the cache, the database, the
replication bus, the active model, the LLM, the request log's queue and what
the serving processes swallowed.  A section is ``ok``, ``off`` (not
configured, which is fine), ``warn`` (works, needs a look) or ``down``
(broken: the command exits non-zero).  The live figures of the serving
processes — their log queues, drops, failures and LLM breakers — come from
the summaries they leave in the cache (:mod:`smartlayer.log.heartbeat`); a
command cannot see another process's memory.

Other parts add sections with :func:`register_section` (the site profile,
when one exists, does so from its own module): the command shows whatever is
registered, in order, without knowing what it is.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from .conf import sl_settings

OK, OFF, WARN, DOWN = "ok", "off", "warn", "down"
_RANK = {OK: 0, OFF: 0, WARN: 1, DOWN: 2}


@dataclass
class Section:
    name: str
    state: str
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


SectionFn = Callable[[], Section]
_extra: list[SectionFn] = []


def register_section(fn: SectionFn) -> SectionFn:
    """Add a section after the built-in ones (usable as a decorator; idempotent)."""
    if fn not in _extra:
        _extra.append(fn)
    return fn


def _guarded(name: str, fn: SectionFn) -> Section:
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - one broken probe must not hide the others
        return Section(name, DOWN, f"the check itself failed: {type(exc).__name__}: {_line(exc)}")


# ── the sections ───────────────────────────────────────────────────────────
def cache_section() -> Section:
    from django.conf import settings

    from .state.cache import cache_is_shared, get_cache, make_key

    alias = sl_settings.CACHE_ALIAS
    backend = settings.CACHES.get(alias, {}).get("BACKEND", "?").rsplit(".", 1)[-1]
    cache = get_cache()
    key, token = make_key("status", "probe"), f"{time.time():.6f}"
    t0 = time.perf_counter()
    try:
        cache.set(key, token, 30)
        back = cache.get(key)
    except Exception as exc:  # noqa: BLE001
        return Section("cache", DOWN, f"{backend} ({alias}) unreachable: {_line(exc)}", {"backend": backend})
    ms = (time.perf_counter() - t0) * 1000
    details = {"backend": backend, "alias": alias, "shared": cache_is_shared(), "round_trip_ms": round(ms, 2)}
    if back != token:
        return Section("cache", DOWN, f"{backend} ({alias}) does not keep what is written", details)
    shared = "shared between processes" if details["shared"] else "this process only"
    return Section("cache", OK, f"{backend} ({alias}), {shared}, set+get {ms:.1f} ms", details)


def database_section() -> Section:
    from django.db import connection

    from .models import RequestLog

    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
        last = RequestLog.objects.order_by("-timestamp").values_list("timestamp", flat=True).first()
    except Exception as exc:  # noqa: BLE001
        return Section("database", DOWN, f"{connection.vendor} unreachable or not migrated: {_line(exc)}",
                       {"vendor": connection.vendor})
    details: dict[str, Any] = {"vendor": connection.vendor, "last_log_row": last.isoformat() if last else None}
    if last is None:
        return Section("database", OK, f"{connection.vendor}; the request log is empty", details)
    age = (datetime.now(timezone.utc) - last).total_seconds()
    details["last_log_row_age_s"] = round(age, 1)
    return Section("database", OK, f"{connection.vendor}; newest request-log row {_ago(age)}", details)


def bus_section() -> Section:
    from .state.windows.store import window_backend

    backend = window_backend()
    if backend == "local":
        return Section("replication bus", OFF, "not used: windows are kept per process (WINDOW_BACKEND local)",
                       {"window_backend": backend})
    from .state.ban_mirror import TOPIC as BANS
    from .state.bus import get_bus
    from .state.redis import redis_client

    details: dict[str, Any] = {"window_backend": backend}
    try:
        client = redis_client()
        client.ping()
        if backend == "replicated":
            channel = get_bus().channel(BANS)
            listeners = dict(client.pubsub_numsub(channel)).get(channel.encode(), 0)
            details["ban_channel_listeners"] = int(listeners)
    except Exception as exc:  # noqa: BLE001
        return Section("replication bus", DOWN, f"Redis unreachable: {_line(exc)}", details)
    if backend == "redis":
        return Section("replication bus", OK, "windows kept in Redis (reachable)", details)
    return Section("replication bus", OK,
                   f"Redis reachable; {details['ban_channel_listeners']} process(es) listening for bans", details)


def model_section() -> Section:
    from .ml.store import ModelStore
    from .models import ModelVersion

    if not sl_settings.MODEL_ENABLED:
        return Section("model", OFF, "MODEL_ENABLED is False: the rules decide alone")
    store = ModelStore()
    pointer = store.active_version()
    row = ModelVersion.objects.filter(status="active").first()
    details: dict[str, Any] = {"store": str(store.root), "pointer": pointer,
                               "registered_active": row.version if row else None}
    if pointer is None and row is None:
        return Section("model", OFF, "no active version yet: the rules decide alone (train_smartlayer)", details)
    version = pointer or (row.version if row else None)
    try:
        manifest = store.load(version).manifest  # what the workers load: the forest, sha256-checked
    except Exception as exc:  # noqa: BLE001 - ModelStoreError and anything a bad file raises
        return Section("model", DOWN, f"active version {version} cannot be loaded: {_line(exc)}", details)
    details.update(threshold=manifest.get("threshold"), samples=manifest.get("samples"),
                   feature_set=manifest.get("feature_set"))
    if row is not None and pointer is not None and row.version != pointer:
        return Section("model", WARN, f"store points at {pointer}, the registry at {row.version}", details)
    return Section("model", OK, f"{version} (threshold {_num(manifest.get('threshold'))}, "
                                f"{_num(manifest.get('samples'))} training vectors)", details)


def llm_section(processes: list[dict[str, Any]]) -> Section:
    from .llm.status import missing_settings
    from .state.cache import get_cache, make_key

    missing = missing_settings()
    if missing:
        return Section("LLM", OFF, f"off ({', '.join(missing)} not set)")
    budget = sl_settings.AI_DAILY_BUDGET
    day = datetime.now(timezone.utc).date().isoformat()
    used = int(get_cache().get(make_key("llm-budget", day)) or 0)
    breakers = {p["id"]: (p.get("llm") or {}).get("breaker") for p in processes if p.get("llm")}
    open_ = sorted(pid for pid, state in breakers.items() if state == "open")
    details = {"model": sl_settings.AI_MODEL, "budget": budget, "used_today": used, "breakers": breakers}
    spent = f"{used} call(s) today" + (f" of {budget}" if budget else "")
    if open_:
        return Section("LLM", DOWN, f"circuit breaker open in {len(open_)} process(es); {spent}", details)
    if budget and used >= int(budget):
        return Section("LLM", WARN, f"daily budget used up: {spent}", details)
    return Section("LLM", OK, f"{sl_settings.AI_MODEL}; breakers closed; {spent}", details)


def log_section(processes: list[dict[str, Any]], cache_shared: bool) -> Section:
    if not processes:
        why = ("no serving process reported in the last 30 s" if cache_shared else
               "the cache is per process, so serving processes cannot report here")
        return Section("log queue", OFF, why)
    bound = int(sl_settings.LOG_QUEUE_SIZE)
    backlog = sum(int(p["log"].get("backlog", 0)) for p in processes)
    drops = {k: sum(int(p["log"].get(k, 0)) for p in processes) for k in ("dropped_full", "dropped_error",
                                                                              "dropped_invalid")}
    worst = max(int(p["log"].get("backlog", 0)) for p in processes)
    details = {"processes": len(processes), "backlog": backlog, "bound_per_process": bound, **drops}
    text = f"{len(processes)} process(es), {backlog} row(s) queued, {sum(drops.values())} dropped"
    if worst >= bound:
        return Section("log queue", DOWN, text + " — a queue is full, rows are being dropped", details)
    if worst >= bound // 2 or any(drops.values()):
        return Section("log queue", WARN, text + " (" + ", ".join(f"{k} {v}" for k, v in drops.items() if v) + ")"
                       if any(drops.values()) else text + " — a queue is over half full", details)
    return Section("log queue", OK, text, details)


def failures_section(processes: list[dict[str, Any]]) -> Section:
    if not processes:
        return Section("failures", OFF, "no serving process reported")
    kinds: dict[str, int] = {}
    for p in processes:
        for name, n in (p.get("counters") or {}).items():
            if name.startswith("failure."):
                kinds[name[len("failure."):]] = kinds.get(name[len("failure."):], 0) + int(n)
    if not kinds:
        return Section("failures", OK, "nothing failed since the processes started", {"by_kind": {}})
    text = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]))
    return Section("failures", WARN, f"failed open since start: {text}", {"by_kind": kinds})


# ── the whole ──────────────────────────────────────────────────────────────
def collect() -> dict[str, Any]:
    """Every section, the processes' summaries and the overall state."""
    from .log.heartbeat import processes as read_processes
    from .state.cache import cache_is_shared

    sections = [_guarded("cache", cache_section), _guarded("database", database_section),
                _guarded("replication bus", bus_section), _guarded("model", model_section)]
    try:
        procs = read_processes() if sections[0].state != DOWN else []
    except Exception:  # noqa: BLE001
        procs = []
    shared = bool(sections[0].details.get("shared")) if sections[0].state != DOWN else cache_is_shared()
    sections += [_guarded("LLM", lambda: llm_section(procs)), _guarded("log queue", lambda: log_section(procs, shared)),
                 _guarded("failures", lambda: failures_section(procs))]
    sections += [_guarded(getattr(fn, "__name__", "extra"), fn) for fn in _extra]
    overall = max((s.state for s in sections), key=lambda st: _RANK.get(st, 2))
    return {"state": OK if overall == OFF else overall, "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "sections": [asdict(s) for s in sections], "processes": procs}


def render_text(report: dict[str, Any]) -> str:
    marks = {OK: "ok  ", OFF: "off ", WARN: "WARN", DOWN: "DOWN"}
    width = max(len(s["name"]) for s in report["sections"])
    lines = [f"smartlayer status at {report['at']}: {report['state'].upper()}"]
    for s in report["sections"]:
        lines.append(f"  [{marks.get(s['state'], s['state'])}] {s['name']:<{width}}  {s['summary']}")
    return "\n".join(lines)


def exit_code(report: dict[str, Any]) -> int:
    """0 when nothing is down (warnings included), 1 otherwise."""
    return 1 if any(s["state"] == DOWN for s in report["sections"]) else 0


def _line(exc: BaseException) -> str:
    """The first line of an error (a database error's caret diagram is not a status)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h ago"
    return f"{seconds / 86400:.0f} days ago"


def _num(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "?" if value is None else f"{value:,}" if isinstance(value, int) else str(value)
