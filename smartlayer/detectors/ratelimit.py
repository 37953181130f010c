"""RateLimiter's logic: per-plan, per-route quotas, without HTTP.

Configuration (``RATE_LIMIT_PLANS``) maps plan names to routes and limits::

    {"free": {"/api/generate/": {"per_minute": 2, "per_day": 50}},
     "premium": {"/api/generate/": {"per_minute": 50}, "/api/export/*": {"per_hour": 100}}}

* **Routes** are exact paths; a route ending in ``*`` is a prefix
  (``/api/export/*`` covers ``/api/export/`` and everything under it).  The
  exact route wins over a prefix, and a longer prefix over a shorter one.
* **Plans** are ordered lowest first by ``PLAN_ORDER`` or, by default, the
  order of ``RATE_LIMIT_PLANS``.  A route configured only in higher plans
  answers **403** to clients of lower plans.
* A user without a plan (attribute missing or ``None``) has no plan limits.
  Anonymous clients are limited only when ``ANONYMOUS_PLAN`` names a plan;
  they are then counted by IP.
* ``per_minute``, ``per_hour`` and ``per_day`` are fixed windows aligned to
  the clock (UTC), counted in the cache with ``add`` + ``incr``: exact under
  concurrency, no get-then-set.  A refused request gives its increments back,
  so refused requests never use up quota.  ``lifetime`` counts live in the
  database and are incremented with one conditional ``UPDATE``, which can
  never pass the limit.
* Every plan has its own counters: upgrading starts fresh.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from django.db.models import F
from django.utils import timezone

from ..conf import derived, sl_settings
from ..request.client import Client
from ..request.decision import PUBLIC_REASONS, Action, Decision
from ..request.reasons import quota_code
from ..state.cache import decr, incr_many, make_key
from ..state.failures import report_failure

WINDOWS = {"per_minute": 60, "per_hour": 3600, "per_day": 86400}
LIMIT_TYPES = (*WINDOWS, "lifetime")
LIFETIME_RETRY_AFTER = 86400


@dataclass(frozen=True, slots=True)
class Route:
    pattern: str          # as configured
    base: str             # pattern without the trailing "*"
    prefix: bool
    limits: tuple[tuple[str, int], ...]

    def matches(self, path: str) -> bool:
        return path.startswith(self.base) if self.prefix else path == self.base


def _route(pattern: str, limits: dict[str, Any]) -> Route:
    prefix = pattern.endswith("*")
    base = pattern[:-1] if prefix else pattern
    items = tuple((k, int(v)) for k, v in limits.items() if k in LIMIT_TYPES and v is not None)
    return Route(pattern, base, prefix, items)


@derived
def compiled_plans() -> dict[str, tuple[Route, ...]]:
    plans: dict[str, tuple[Route, ...]] = {}
    for plan, routes in (sl_settings.RATE_LIMIT_PLANS or {}).items():
        if not isinstance(routes, dict):
            continue
        compiled = [_route(str(p), lim) for p, lim in routes.items() if isinstance(lim, dict)]
        # exact routes first, then longer prefixes first
        compiled.sort(key=lambda r: (r.prefix, -len(r.base)))
        plans[str(plan)] = tuple(compiled)
    return plans


@derived
def plan_rank() -> dict[str, int]:
    order = sl_settings.PLAN_ORDER or list((sl_settings.RATE_LIMIT_PLANS or {}).keys())
    return {str(p): i for i, p in enumerate(order)}


def match(routes: tuple[Route, ...], path: str) -> Route | None:
    for r in routes:
        if r.matches(path):
            return r
    return None


def user_plan(user: Any) -> str | None:
    """The plan name of a user from ``PLAN_FIELD`` (dotted paths allowed)."""
    value: Any = user
    for part in str(sl_settings.PLAN_FIELD).split("."):
        try:
            value = getattr(value, part, None)
        except Exception:  # noqa: BLE001 - a broken related lookup means no plan
            return None
        if value is None:
            return None
    if callable(value):
        value = value()
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        value = getattr(value, "name", None) or getattr(value, "slug", None) or str(value)
    return str(value)


def plan_for(client: Client, user: Any) -> str | None:
    if client.authenticated:
        return user_plan(user)
    anon = sl_settings.ANONYMOUS_PLAN
    return str(anon) if anon else None


def _policy_headers(route: Route, remaining: dict[str, tuple[int, int]]) -> dict[str, str]:
    """IETF draft RateLimit-Policy / RateLimit fields."""
    policies = []
    for name, limit in route.limits:
        window = WINDOWS.get(name)
        policies.append(f'"{name}";q={limit}' + (f";w={window}" if window else ""))
    headers = {"RateLimit-Policy": ", ".join(policies)}
    if remaining:
        name, (left, reset) = min(remaining.items(), key=lambda kv: kv[1][0])
        headers["RateLimit"] = f'"{name}";r={max(0, left)};t={max(0, reset)}'
    return headers


def _quota_key(client: Client) -> str:
    """Whose quota: a signed-in user's own, else the address's (``ANONYMOUS_PLAN`` counts by IP,
    whatever cookie a client behind that address presents)."""
    return client.key if client.authenticated else client.address_key


def _bucket_key(name: str, plan: str, route: Route, client: Client, bucket: int) -> str:
    return make_key("rl", name, plan, route.pattern, _quota_key(client), bucket)


class PlanHolder:
    """A stand-in user whose ``PLAN_FIELD`` reads ``plan``: for replays of logs that record the plan."""

    __slots__ = ("_plan",)

    def __init__(self, plan: str) -> None:
        self._plan = plan

    def __getattr__(self, name: str) -> Any:
        return self._plan if name == str(sl_settings.PLAN_FIELD).split(".")[-1] else self

    def __str__(self) -> str:
        return self._plan


def governs(client: Client, user: Any, path: str) -> bool:
    """True when a signed-in client's own plan has a quota on ``path``.

    Such a request is the plan's to limit: its quota answers with 429 and
    ``Retry-After``, and the behaviour rules leave its rate alone — a
    customer using the quota it bought is not a flood (a 429 never leads to
    a ban).  Every other rule still applies.
    """
    if not client.authenticated:
        return False
    plans = compiled_plans()
    if not plans:
        return False
    plan = user_plan(user)
    routes = plans.get(plan) if plan is not None else None
    return routes is not None and match(routes, path) is not None


def _lifetime_take(client: Client, plan: str, route: Route, limit: int) -> bool:
    """One atomic step: count this request unless the lifetime limit is reached."""
    from ..models import UsageCounter

    qs = UsageCounter.objects.filter(client_key=_quota_key(client), plan=plan, route=route.pattern)
    now = timezone.now()
    if qs.filter(count__lt=limit).update(count=F("count") + 1, updated_at=now):
        return True
    if limit <= 0:
        return False
    _, created = UsageCounter.objects.get_or_create(
        client_key=_quota_key(client), plan=plan, route=route.pattern, defaults={"count": 1})
    if created:
        return True
    # somebody created it between our UPDATE and get_or_create: try once more
    return bool(qs.filter(count__lt=limit).update(count=F("count") + 1, updated_at=now))


def check(client: Client, user: Any, path: str, now: float | None = None) -> Decision | None:
    """Count this request against the client's plan.  None: not limited here."""
    plans = compiled_plans()
    if not plans:
        return None
    plan = plan_for(client, user)
    if plan is None:
        return None
    routes = plans.get(plan)
    if routes is None:
        report_failure("plan-unknown", f"plan {plan!r} is not in RATE_LIMIT_PLANS; no limits applied")
        return None
    route = match(routes, path)
    if route is None:
        return _plan_gate(plan, path)

    now = time.time() if now is None else now
    windows = []  # (limit type, limit, seconds to the end of the window, counter key)
    for name, limit in route.limits:
        window = WINDOWS.get(name)
        if window is not None:
            bucket = int(now // window)
            reset = math.ceil((bucket + 1) * window - now)
            windows.append((name, limit, reset, _bucket_key(name, plan, route, client, bucket)))
    counts = incr_many([(key, reset + 2) for _, _, reset, key in windows])  # one round trip on Redis
    taken = [key for *_, key in windows]
    remaining: dict[str, tuple[int, int]] = {}
    refused: tuple[str, int, int] | None = None  # (limit type, limit, retry after)
    for (name, limit, reset, _), n in zip(windows, counts, strict=True):
        remaining[name] = (limit - n, reset)
        if n > limit and (refused is None or reset > refused[2]):
            refused = (name, limit, reset)
    lifetime = dict(route.limits).get("lifetime")
    if refused is None and lifetime is not None and not _lifetime_take(client, plan, route, lifetime):
        refused = ("lifetime", lifetime, LIFETIME_RETRY_AFTER)
    headers = _policy_headers(route, remaining) if sl_settings.RATELIMIT_HEADERS else {}
    if refused is None:
        return Decision(Action.ALLOW, "ratelimit", headers=headers) if headers else None
    for key in taken:  # a refused request does not use up quota
        decr(key)
    name, limit, retry = refused
    headers["Retry-After"] = str(max(1, retry))
    return Decision(
        Action.THROTTLE, "ratelimit", reason=quota_code(name), reasons=[quota_code(name)], status=429,
        details={"plan": plan, "route": route.pattern, "limit": limit, "window": name}, headers=headers,
        public_reason=PUBLIC_REASONS["ratelimit"],
    )


def _plan_gate(plan: str, path: str) -> Decision | None:
    """403 when the path is limited only in plans above the client's."""
    rank = plan_rank()
    mine = rank.get(plan, -1)
    needed = None
    for other, routes in compiled_plans().items():
        if other != plan and match(routes, path) is not None:
            r = rank.get(other, 0)
            if needed is None or r < rank.get(needed, 0):
                needed = other
    if needed is None or rank.get(needed, 0) <= mine:
        return None
    return Decision(
        Action.DENY, "ratelimit", reason="ratelimit:plan_required", reasons=["ratelimit:plan_required"],
        status=403, details={"plan": plan, "required": needed}, public_reason=f"requires the {needed} plan",
    )
