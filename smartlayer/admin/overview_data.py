"""The overview's figures: a few GROUP BY queries over the request log, bans and verdicts.

An admin page, not the request path: each figure is one aggregate query on
the ``timestamp`` index (or the blocked/time one), each result bounded —
24 or 168 hours, the top 20 reasons, the top 10 clients — so the page costs
the same on a log of a million rows as on one of a thousand, give or take
the scan of the period.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any

from django.db.models import Count, Max, Q
from django.db.models.functions import TruncHour
from django.utils import timezone

from ..conf import sl_settings
from ..models import Ban, ModelVersion, RequestLog, Verdict

PERIODS = {"24h": 24, "7d": 24 * 7}
TOP_REASONS = 20
TOP_CLIENTS = 10
LATEST_BANS = 10


@dataclass
class Figures:
    period: str
    since: datetime
    until: datetime
    totals: dict[str, int] = field(default_factory=dict)
    hours: list[datetime] = field(default_factory=list)
    requests_per_hour: list[int] = field(default_factory=list)
    refusals_per_hour: dict[str, list[int]] = field(default_factory=dict)  # component → per hour
    by_reason: list[dict[str, Any]] = field(default_factory=list)
    by_component: list[dict[str, Any]] = field(default_factory=list)
    top_clients: list[dict[str, Any]] = field(default_factory=list)
    bans: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)
    llm: dict[str, Any] = field(default_factory=dict)


def gather(period: str = "24h", now: datetime | None = None) -> Figures:
    """Every figure of the overview for the last ``period`` (``"24h"`` or ``"7d"``)."""
    hours = PERIODS.get(period, 24)
    now = (now or timezone.now()).astimezone(dt_timezone.utc)
    until = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    since = until - timedelta(hours=hours)
    logs = RequestLog.objects.filter(timestamp__gte=since, timestamp__lt=until)
    fig = Figures(period=period if period in PERIODS else "24h", since=since, until=until)
    fig.totals = logs.aggregate(
        requests=Count("id"),
        refused=Count("id", filter=Q(was_blocked=True)),
        monitor=Count("id", filter=Q(monitor_only=True)),
        throttled=Count("id", filter=Q(was_blocked=True, status_code=429)),
    )
    _per_hour(fig, logs, hours)
    refusals = logs.filter(Q(was_blocked=True) | Q(monitor_only=True))
    fig.by_component = list(refusals.values("blocked_by", "was_blocked").annotate(n=Count("id")).order_by("-n"))
    fig.by_reason = list(refusals.values("blocked_by", "reason", "was_blocked")
                         .annotate(n=Count("id")).order_by("-n")[:TOP_REASONS])
    _top_clients(fig, logs)
    _bans(fig, now)
    _model(fig, logs)
    _llm(fig, since, now)
    return fig


def _per_hour(fig: Figures, logs: Any, hours: int) -> None:
    fig.hours = [fig.since + timedelta(hours=i) for i in range(hours)]
    index = {h: i for i, h in enumerate(fig.hours)}
    fig.requests_per_hour = [0] * hours
    rows = (logs.annotate(hour=TruncHour("timestamp")).values("hour", "blocked_by", "was_blocked")
            .annotate(n=Count("id")).order_by())
    refusals: dict[str, list[int]] = {}
    for row in rows:
        i = index.get(_utc_hour(row["hour"]))
        if i is None:
            continue
        fig.requests_per_hour[i] += row["n"]
        if row["was_blocked"]:
            refusals.setdefault(row["blocked_by"] or "other", [0] * hours)[i] += row["n"]
    order = ["ban", "anomaly", "validator", "ratelimit"]
    fig.refusals_per_hour = {k: refusals[k] for k in sorted(refusals, key=lambda c: (c not in order,
                                                                                    order.index(c) if c in order
                                                                                    else 0, c))}


def _utc_hour(value: datetime | None) -> datetime | None:
    """The UTC hour a truncated timestamp falls in (TruncHour answers in the current time zone)."""
    if value is None:
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_current_timezone())
    return value.astimezone(dt_timezone.utc).replace(minute=0, second=0, microsecond=0)


def _top_clients(fig: Figures, logs: Any) -> None:
    rows = list(logs.filter(was_blocked=True).values("client_key")
                .annotate(n=Count("id"), last=Max("timestamp")).order_by("-n")[:TOP_CLIENTS])
    keys = [r["client_key"] for r in rows]
    if not keys:
        fig.top_clients = []
        return
    totals = dict(logs.filter(client_key__in=keys).values_list("client_key").annotate(n=Count("id")))
    reasons: dict[str, tuple[str, int]] = {}
    for r in (logs.filter(was_blocked=True, client_key__in=keys).values("client_key", "reason")
              .annotate(n=Count("id")).order_by("-n")):
        reasons.setdefault(r["client_key"], (r["reason"], r["n"]))
    bans = {b.client_key: b for b in Ban.objects.active().filter(client_key__in=keys)}
    for r in rows:
        r["requests"] = totals.get(r["client_key"], r["n"])
        r["top_reason"] = reasons.get(r["client_key"], ("", 0))[0]
        r["ban"] = bans.get(r["client_key"])
    fig.top_clients = rows


def _bans(fig: Figures, now: datetime) -> None:
    active = Ban.objects.active(now)
    fig.bans = {
        "active": active.count(),
        "by_source": dict(active.values_list("source").annotate(n=Count("id")).order_by()),
        "new": Ban.objects.filter(created_at__gte=fig.since).count(),
        "latest": list(active.order_by("-created_at")[:LATEST_BANS]),
    }


def _model(fig: Figures, logs: Any) -> None:
    mv = ModelVersion.objects.filter(status="active").order_by("-activated_at").first()
    info: dict[str, Any] = {"enabled": bool(sl_settings.MODEL_ENABLED), "version": mv}
    if mv is not None:
        training = (mv.metrics or {}).get("share_above_threshold")
        info["training_flagged"] = training if isinstance(training, (int, float)) else None
        scored = logs.filter(model_version=mv.version, model_score__isnull=False)
        live = scored.aggregate(n=Count("id"), flagged=Count("id", filter=Q(model_score__gte=mv.threshold))
                                if mv.threshold is not None else Count("id", filter=Q(pk__isnull=True)))
        info["scored"] = live["n"]
        info["live_flagged"] = live["flagged"] / live["n"] if live["n"] else None
    info["unscored"] = logs.filter(model_score__isnull=True).count() if mv is not None else None
    info["profile"] = _profile(mv, logs)
    fig.model = info


#: Reason-code prefixes of what the site profile found odd (see smartlayer.request.reasons).
PROFILE_REASONS = ("param:", "path:unknown", "path:restricted_ext", "profile:")


def _profile(mv: Any, logs: Any) -> dict[str, Any] | None:
    """The active site profile (stored with the active model version): its endpoints by class,
    and how many requests of the period it found odd and refused."""
    if mv is None:
        return None
    from ..ml.store import ModelStore, ModelStoreError

    try:
        data = ModelStore().load_profile(mv.version)
    except (ModelStoreError, OSError):
        return {"missing": True}
    if data is None:
        return None
    endpoints = data.get("endpoints") or {}
    classes: dict[str, int] = {}
    for e in endpoints.values():
        classes[str(e.get("class"))] = classes.get(str(e.get("class")), 0) + 1
    odd = Q()
    for prefix in PROFILE_REASONS:
        odd |= Q(reason__startswith=prefix)
    found = logs.filter(odd).aggregate(n=Count("id"), refused=Count("id", filter=Q(was_blocked=True)))
    return {"endpoints": len(endpoints), "classes": sorted(classes.items(), key=lambda kv: -kv[1]),
            "odd": found["n"], "refused": found["refused"]}


def _llm(fig: Figures, since: datetime, now: datetime) -> None:
    verdicts = Verdict.objects.filter(created_at__gte=since)
    rows = list(verdicts.values("kind").annotate(
        calls=Count("id"), errors=Count("id", filter=~Q(error="")),
        blocks=Count("id", filter=Q(verdict="BLOCK"))).order_by("kind"))
    today = now.astimezone(dt_timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    budget = sl_settings.AI_DAILY_BUDGET
    fig.llm = {
        "configured": bool(sl_settings.AI_API_KEY),
        "model": sl_settings.AI_MODEL or "",
        "by_kind": rows,
        "calls_today": Verdict.objects.filter(created_at__gte=today).count(),
        "budget": int(budget) if budget else None,
        "budget_used": _budget_used(today) if budget else None,
    }


def _budget_used(today: datetime) -> int | None:
    """HTTP attempts counted against ``AI_DAILY_BUDGET`` today (the LLM client's own counter), if readable."""
    from .. import state

    try:
        value = state.get_cache().get(state.make_key("llm-budget", today.date().isoformat()))
    except Exception:  # noqa: BLE001 - the page shows "unknown"
        return None
    return int(value) if value is not None else 0
