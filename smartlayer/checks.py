"""System checks: bad settings get a clear message at start-up, not a 500 later.

Stable ids (documented in the README):

========  ==================================================================
E001      SMART_MIDDLEWARE is not a dict
E002      a numeric setting is negative, zero where it must not be, or not a number
E003      ANALYSE_LOGS_AT is not "HH:MM"
E004      RATE_LIMIT_PLANS is malformed (plan/route not a dict, unknown limit type, bad limit)
E005      TRUSTED_PROXIES / ALLOW_IPS hold an invalid network
E006      PLAN_ORDER or ANONYMOUS_PLAN names a plan that does not exist
E007      VALIDATOR_EXTRA_PATTERNS holds an invalid pattern
E008      MONITOR_MODE names an unknown component
E009      the cache is Django's DummyCache: nothing can be counted
E010      grey_suspicion_threshold is not below grey_hard_block_score
E011      WINDOW_BACKEND is unknown, or needs Django's RedisCache and the cache is another;
          REPLICATION_GROUP is not a string
E012      VALIDATOR_EXTRA_PATTERNS holds a pattern that can backtrack super-linearly (it is not used)
W001      unknown key in SMART_MIDDLEWARE (with the closest known key)
W002      smartlayer is installed but none of its middlewares is in MIDDLEWARE
W003      a smartlayer middleware comes before AuthenticationMiddleware
W004      WatchLog is not installed: nothing is logged, nothing to train on
W005      blocking with a cache that each process keeps for itself
W006      AI_API_KEY is set but AI_BASE_URL or AI_MODEL is missing
W007      the login-flood rule looks further back than the windows keep
W008      TRUSTED_PROXY_COUNT without TRUSTED_PROXIES: whoever reaches the app server directly
          chooses their own address
W009      most recent requests come from one private or loopback address: a proxy nobody told
          smartlayer about makes every visitor one client
========  ==================================================================
"""
from __future__ import annotations

import difflib
import ipaddress
from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from . import MIDDLEWARE as SMARTLAYER_MIDDLEWARE
from .conf import COMPONENTS, DEFAULTS, SETTINGS_NAME
from .scheduler import parse_time

#: settings that must be integers ≥ 0 (≥ 1 for those in _POSITIVE)
_NON_NEGATIVE_INT = (
    "TRUSTED_PROXY_COUNT", "BAN_TTL", "BAN_AFTER_BLOCKS", "LOG_RETENTION_DAYS",
    "grey_suspicion_threshold", "grey_hard_block_score", "grey_grace_requests", "grey_elevated_rate_10s",
    "grey_error_rate_percent", "grey_scan_distinct_paths", "grey_sequential_ids", "grey_burst_requests_10s",
    "grey_burst_max_paths", "black_requests_10s", "black_error_rate_percent", "black_error_min_requests",
    "LOGIN_FLOOD_ATTEMPTS", "GREY_SUSTAINED_COUNT",
    "AI_RETRIES", "AI_PAYLOAD_BLOCK_CONFIDENCE", "MODEL_RULE_ASSIST", "MODEL_SUSTAINED_RULE_SCORE",
)
_POSITIVE_INT = (
    "BAN_BLOCK_WINDOW", "BAN_SYNC_INTERVAL", "WINDOW_MAX_EVENTS", "WINDOW_SECONDS", "WINDOW_MAX_CLIENTS",
    "VALIDATOR_MAX_BYTES", "VALIDATOR_BLOCK_SCORE", "LOG_QUEUE_SIZE", "LOG_BATCH_SIZE", "LOG_USER_AGENT_MAX",
    "AI_MAX_WORKERS", "AI_QUEUE_SIZE", "AI_BREAKER_FAILURES", "MODEL_LOOKBACK_DAYS", "MODEL_MIN_SAMPLES",
    "MODEL_MAX_SAMPLES", "IPV6_PREFIX_LENGTH", "BLOCK_STATUS", "MODEL_SUSTAINED_WINDOW", "MODEL_SUSTAINED_COUNT",
    "MODEL_SUSTAINED_ALONE", "LOGIN_FLOOD_WINDOW",
    "GREY_SUSTAINED_WINDOW",
)
_POSITIVE_NUMBER = (
    "FAILURE_LOG_INTERVAL", "LOG_FLUSH_INTERVAL", "AI_CONNECT_TIMEOUT", "AI_READ_TIMEOUT",
    "AI_PAYLOAD_TIMEOUT", "AI_BREAKER_COOLDOWN", "MODEL_RELOAD_INTERVAL", "REPLICATION_INTERVAL",
)
WINDOW_BACKENDS = ("auto", "local", "replicated", "redis")


def _user() -> Any:
    return getattr(settings, SETTINGS_NAME, {})


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _num_errors(cfg: dict[str, Any]) -> list[Error]:
    errors = []
    for key, value in cfg.items():
        if key in _NON_NEGATIVE_INT or key in _POSITIVE_INT:
            minimum = 1 if key in _POSITIVE_INT else 0
            if value is None and key == "BAN_TTL":
                continue
            if not _is_int(value) or value < minimum:
                errors.append(Error(
                    f"SMART_MIDDLEWARE[{key!r}] must be a whole number ≥ {minimum}, got {value!r}.",
                    hint=f"The default is {DEFAULTS[key]!r}.", id="smartlayer.E002"))
        elif key in _POSITIVE_NUMBER:
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                errors.append(Error(
                    f"SMART_MIDDLEWARE[{key!r}] must be a number > 0, got {value!r}.",
                    hint=f"The default is {DEFAULTS[key]!r}.", id="smartlayer.E002"))
    return errors


def _plan_errors(cfg: dict[str, Any]) -> list[Error]:
    from .ratelimit import LIMIT_TYPES

    plans = cfg.get("RATE_LIMIT_PLANS", {})
    errors: list[Error] = []
    if plans in (None, {}):
        plans = {}
    if not isinstance(plans, dict):
        return [Error("SMART_MIDDLEWARE['RATE_LIMIT_PLANS'] must be a dict of plan → routes.",
                      id="smartlayer.E004")]
    for plan, routes in plans.items():
        if not isinstance(routes, dict):
            errors.append(Error(f"RATE_LIMIT_PLANS[{plan!r}] must be a dict of route → limits.",
                                id="smartlayer.E004"))
            continue
        for route, limits in routes.items():
            where = f"RATE_LIMIT_PLANS[{plan!r}][{route!r}]"
            if not isinstance(route, str) or not route.startswith("/"):
                errors.append(Error(f"{where}: a route is a path starting with '/'.",
                                    hint="Exact path, or a prefix ending in '*'.", id="smartlayer.E004"))
            if not isinstance(limits, dict) or not limits:
                errors.append(Error(f"{where} must be a non-empty dict of limit type → number.",
                                    id="smartlayer.E004"))
                continue
            for kind, value in limits.items():
                if kind not in LIMIT_TYPES:
                    close = difflib.get_close_matches(str(kind), LIMIT_TYPES, n=1)
                    errors.append(Error(
                        f"{where}: unknown limit type {kind!r}.",
                        hint=(f"Did you mean {close[0]!r}? " if close else "") + f"Known: {', '.join(LIMIT_TYPES)}.",
                        id="smartlayer.E004"))
                elif not _is_int(value) or value < 0:
                    errors.append(Error(f"{where}[{kind!r}] must be a whole number ≥ 0, got {value!r}.",
                                        id="smartlayer.E004"))
    order = cfg.get("PLAN_ORDER")
    if order is not None:
        for plan in order if isinstance(order, (list, tuple)) else [order]:
            if plan not in plans:
                errors.append(Error(f"PLAN_ORDER names {plan!r}, which is not in RATE_LIMIT_PLANS.",
                                    id="smartlayer.E006"))
    anon = cfg.get("ANONYMOUS_PLAN")
    if anon and anon not in plans:
        errors.append(Error(f"ANONYMOUS_PLAN names {anon!r}, which is not in RATE_LIMIT_PLANS.",
                            id="smartlayer.E006"))
    return errors


def _network_errors(cfg: dict[str, Any]) -> list[Error]:
    errors = []
    for key in ("TRUSTED_PROXIES", "ALLOW_IPS"):
        values = cfg.get(key, [])
        if isinstance(values, str):
            values = [values]
        for value in values or []:
            try:
                ipaddress.ip_network(str(value).strip(), strict=False)
            except ValueError:
                errors.append(Error(f"SMART_MIDDLEWARE[{key!r}] holds {value!r}, which is not an IP network.",
                                    hint="Use CIDR notation such as '10.0.0.0/8' or a single address.",
                                    id="smartlayer.E005"))
    return errors


@register(Tags.security)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list:
    cfg = _user()
    if not isinstance(cfg, dict):
        return [Error("SMART_MIDDLEWARE must be a dict.", hint="See the settings reference in the README.",
                      id="smartlayer.E001")]
    messages: list = []
    for key in cfg:
        if key not in DEFAULTS:
            close = difflib.get_close_matches(str(key), list(DEFAULTS), n=1, cutoff=0.6)
            messages.append(Warning(
                f"SMART_MIDDLEWARE has an unknown key {key!r}; it is ignored.",
                hint=f"Did you mean {close[0]!r}?" if close else "See the settings reference in the README.",
                id="smartlayer.W001"))
    messages += _num_errors(cfg)
    at = cfg.get("ANALYSE_LOGS_AT")
    if at is not None and parse_time(at) is None:
        messages.append(Error(f"SMART_MIDDLEWARE['ANALYSE_LOGS_AT'] must be 'HH:MM' (24 h), got {at!r}.",
                              hint="For example '06:00'. Remove the key to schedule with cron instead.",
                              id="smartlayer.E003"))
    messages += _plan_errors(cfg)
    messages += _network_errors(cfg)
    extra = cfg.get("VALIDATOR_EXTRA_PATTERNS")
    if extra:
        try:
            from .payload import compile_extra_patterns

            for problem in compile_extra_patterns()[1]:
                messages.append(Error(problem, hint="Fix or remove the pattern.", id="smartlayer.E007"))
        except ImportError:  # pragma: no cover - payload is part of the package
            pass
    mode = cfg.get("MONITOR_MODE", False)
    if isinstance(mode, (list, tuple, set)):
        for name in mode:
            if name not in COMPONENTS:
                messages.append(Error(f"MONITOR_MODE names unknown component {name!r}.",
                                      hint=f"Known: {', '.join(COMPONENTS)}; or True/False for all.",
                                      id="smartlayer.E008"))
    grey = cfg.get("grey_suspicion_threshold", DEFAULTS["grey_suspicion_threshold"])
    hard = cfg.get("grey_hard_block_score", DEFAULTS["grey_hard_block_score"])
    if _is_int(grey) and _is_int(hard) and grey >= hard:
        messages.append(Error(
            f"grey_suspicion_threshold ({grey}) must be below grey_hard_block_score ({hard}).",
            hint="Scores from the threshold up to the hard block form the grey zone.", id="smartlayer.E010"))
    if cfg.get("AI_API_KEY") and not (cfg.get("AI_BASE_URL") and cfg.get("AI_MODEL")):
        messages.append(Warning("AI_API_KEY is set but AI_BASE_URL or AI_MODEL is missing; AI features stay off.",
                                hint="See the providers table in the README.", id="smartlayer.W006"))
    backend = cfg.get("WINDOW_BACKEND", "auto")
    if backend not in WINDOW_BACKENDS:
        messages.append(Error(f"SMART_MIDDLEWARE['WINDOW_BACKEND'] must be one of {', '.join(WINDOW_BACKENDS)}, "
                              f"got {backend!r}.", hint="Leave it at 'auto' unless you have a reason; see "
                              "docs/production.md.", id="smartlayer.E011"))
    elif not isinstance(cfg.get("REPLICATION_GROUP", ""), str):
        messages.append(Error("SMART_MIDDLEWARE['REPLICATION_GROUP'] must be a string.",
                              hint="For example socket.gethostname(), or '' for one group.", id="smartlayer.E011"))
    elif backend in ("replicated", "redis"):
        from .state import cache_is_redis

        if not cache_is_redis():
            messages.append(Error(f"WINDOW_BACKEND={backend!r} needs Django's RedisCache as CACHE_ALIAS's "
                                  "backend.", hint="Use 'auto' or 'local' with other caches.", id="smartlayer.E011"))
    messages += _login_flood_warnings(cfg)
    return messages


def _login_flood_warnings(cfg: dict[str, Any]) -> list[Warning]:
    """The rule counts attempts in the client's window, which holds at most
    WINDOW_SECONDS and WINDOW_MAX_EVENTS: beyond either it would never fire."""
    def get(key: str) -> Any:
        return cfg.get(key, DEFAULTS[key])

    attempts, window = get("LOGIN_FLOOD_ATTEMPTS"), get("LOGIN_FLOOD_WINDOW")
    keep, events = get("WINDOW_SECONDS"), get("WINDOW_MAX_EVENTS")
    if not all(_is_int(v) for v in (attempts, window, keep, events)) or not attempts:
        return []
    if window > keep or attempts > events:
        return [Warning(
            f"LOGIN_FLOOD_WINDOW={window} s / LOGIN_FLOOD_ATTEMPTS={attempts} exceed what a window keeps "
            f"(WINDOW_SECONDS={keep}, WINDOW_MAX_EVENTS={events}); the login-flood rule may never fire.",
            hint="Raise WINDOW_SECONDS / WINDOW_MAX_EVENTS or lower the login-flood settings.",
            id="smartlayer.W007")]
    return []


_NAMES = set(SMARTLAYER_MIDDLEWARE)
_AUTH = "django.contrib.auth.middleware.AuthenticationMiddleware"


@register(Tags.security)
def check_middleware(app_configs: Any = None, **kwargs: Any) -> list:
    middleware = list(getattr(settings, "MIDDLEWARE", []) or [])
    ours = [m for m in middleware if m in _NAMES]
    messages: list = []
    if not ours:
        return [Warning("smartlayer is in INSTALLED_APPS but none of its middlewares is in MIDDLEWARE.",
                        hint="Add smartlayer.middleware.AIAnomalyDetector, AIRequestValidator, RateLimiter "
                             "and WatchLog after AuthenticationMiddleware.", id="smartlayer.W002")]
    if _AUTH in middleware:
        auth_at = middleware.index(_AUTH)
        for m in ours:
            if middleware.index(m) < auth_at:
                messages.append(Warning(
                    f"{m} comes before AuthenticationMiddleware, so it cannot see request.user: "
                    "every client will be treated as anonymous.",
                    hint="Move the smartlayer middlewares after AuthenticationMiddleware.", id="smartlayer.W003"))
    if "smartlayer.middleware.WatchLog" not in middleware:
        messages.append(Warning("WatchLog is not in MIDDLEWARE: requests are not logged, analyse_logs has "
                                "nothing to report and train_smartlayer nothing to learn from.",
                                hint="Add smartlayer.middleware.WatchLog.", id="smartlayer.W004"))
    return messages


@register(Tags.caches)
def check_cache(app_configs: Any = None, **kwargs: Any) -> list:
    from .conf import sl_settings

    cfg = _user() if isinstance(_user(), dict) else {}
    alias = cfg.get("CACHE_ALIAS", DEFAULTS["CACHE_ALIAS"])
    backend = getattr(settings, "CACHES", {}).get(alias, {}).get("BACKEND", "")
    if not backend:
        return [Error(f"CACHE_ALIAS {alias!r} is not in CACHES.", id="smartlayer.E009")]
    if backend.endswith("DummyCache"):
        return [Error("smartlayer's cache is DummyCache: counters, windows and bans cannot work.",
                      hint="Use RedisCache in production, LocMemCache for a single process.", id="smartlayer.E009")]
    enforcing = cfg.get("ENABLED", True) and sl_settings.MONITOR_MODE is not True
    local = backend.endswith(("locmem.LocMemCache", "filebased.FileBasedCache"))
    if enforcing and local:
        return [Warning(
            f"smartlayer enforces limits with {backend.rsplit('.', 1)[-1]}, which each process keeps for itself: "
            "with several worker processes limits multiply and bans do not reach every worker.",
            hint="Use django.core.cache.backends.redis.RedisCache in production (see the README).",
            id="smartlayer.W005")]
    return []


@register(Tags.security)
def check_proxies(app_configs: Any = None, **kwargs: Any) -> list:
    """W008: a proxy count trusts the *shape* of X-Forwarded-For, not who sent it.

    With only ``TRUSTED_PROXY_COUNT``, a client that reaches the app server
    without going through the proxy (an open port, another virtual host)
    writes the whole header itself and picks the address smartlayer sees —
    and so whose address gets banned.  ``TRUSTED_PROXIES`` reads the header
    only from connections that come from the proxies' networks.
    """
    cfg = _user() if isinstance(_user(), dict) else {}
    if cfg.get("TRUSTED_PROXY_COUNT") and not cfg.get("TRUSTED_PROXIES"):
        return [Warning(
            "TRUSTED_PROXY_COUNT is set without TRUSTED_PROXIES: X-Forwarded-For is believed from any "
            "connection, so a client reaching the app server directly can choose its own address (and get "
            "someone else's banned).",
            hint="Set TRUSTED_PROXIES to your proxies' networks, e.g. ['10.0.0.0/8'] (it replaces the count), "
                 "or make sure only the proxy can reach the app server and silence smartlayer.W008.",
            id="smartlayer.W008")]
    return []


#: How many of the newest request-log rows W009 reads, and from how many on it speaks.
_ADDRESS_SAMPLE, _ADDRESS_MIN_ROWS, _ADDRESS_SHARE = 1000, 200, 0.5


@register(Tags.security)
def check_one_address(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list:
    """W009: a proxy in front of Django that smartlayer was not told about.

    Every visitor then shares the proxy's address: the flood rule refuses them
    all at once.  (Automatic bans never target loopback addresses, but a
    private address such as a load balancer's would be banned.)  Reads the
    newest rows of the request log — one indexed query, only when asked
    for the database checks (``check --database default``, ``migrate``) or
    when the log table can be read; any database error means "no opinion".
    """
    cfg = _user() if isinstance(_user(), dict) else {}
    if cfg.get("TRUSTED_PROXY_COUNT") or cfg.get("TRUSTED_PROXIES"):
        return []
    try:
        from .models import RequestLog

        ips = list(RequestLog.objects.order_by("-timestamp").values_list("ip_address", flat=True)
                   [:_ADDRESS_SAMPLE])
    except Exception:  # noqa: BLE001 - no table yet, no database, tests without database access
        return []
    if len(ips) < _ADDRESS_MIN_ROWS:
        return []
    from collections import Counter

    ip, n = Counter(ips).most_common(1)[0]
    if not ip or n < _ADDRESS_SHARE * len(ips):
        return []
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return []
    if not (addr.is_private or addr.is_loopback):
        return []
    return [Warning(
        f"{n} of the newest {len(ips)} logged requests come from {ip}, a "
        f"{'loopback' if addr.is_loopback else 'private'} address: is a proxy or load balancer in front of "
        "Django? Then every visitor is one client to smartlayer, and the flood rule refuses them together.",
        hint="Set TRUSTED_PROXIES (or TRUSTED_PROXY_COUNT) to match your proxies; see 'Behind a proxy' in "
             "docs/production.md. On a development machine this is expected: silence smartlayer.W009.",
        id="smartlayer.W009")]


# ── extra patterns that can backtrack (E012) ───────────────────────────────

_BACKTRACK_HINT = (
    "Make it match any text one way only: bound repetitions ({1,64} rather than + or *), let the "
    "alternatives under a quantifier start differently ((?:ab|cd)+, not (?:a|ab)+), and end a repeated "
    "part with a character its body cannot match ([^x]{0,64}x, not .*x). Split a pattern too large to "
    "check into several."
)


@register(Tags.security)
def check_extra_pattern_safety(app_configs: Any = None, **kwargs: Any) -> list:
    """An extra pattern runs on every request over text the attacker writes; one that can
    backtrack super-linearly is left out at run time, and named here with the reason."""
    cfg = _user()
    if not isinstance(cfg, dict) or not cfg.get("VALIDATOR_EXTRA_PATTERNS"):
        return []
    from .payload import extra_patterns

    return [Error(f"{where}: the pattern {pattern!r} can backtrack: {why}. It is not used.",
                  hint=_BACKTRACK_HINT, id="smartlayer.E012")
            for where, pattern, why in extra_patterns().unsafe]
