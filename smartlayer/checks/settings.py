"""System checks of the SMART_MIDDLEWARE dict itself: types, numbers, plans, networks, backends.

Ids and what each one means: :data:`smartlayer.checks.CATALOGUE`.
"""
from __future__ import annotations

import difflib
import ipaddress
from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from ..conf import COMPONENTS, DEFAULTS, SETTINGS_NAME
from ..log.scheduler import parse_time

#: settings that must be integers ≥ 0 (≥ 1 for those in _POSITIVE)
_NON_NEGATIVE_INT = (
    "TRUSTED_PROXY_COUNT", "BAN_TTL", "BAN_AFTER_BLOCKS", "LOG_RETENTION_DAYS",
    "grey_suspicion_threshold", "grey_hard_block_score", "grey_grace_requests", "grey_elevated_rate_10s",
    "grey_error_rate_percent", "grey_scan_distinct_paths", "grey_sequential_ids", "grey_burst_requests_10s",
    "grey_burst_max_paths", "black_requests_10s", "black_error_rate_percent", "black_error_min_requests",
    "LOGIN_FLOOD_ATTEMPTS", "GREY_SUSTAINED_COUNT", "PROFILE_SUSTAINED_COUNT",
    "AI_RETRIES", "AI_PAYLOAD_BLOCK_CONFIDENCE", "MODEL_RULE_ASSIST", "MODEL_SUSTAINED_RULE_SCORE",
    "MODEL_CORROBORATED_COUNT", "MODEL_TELL_COUNT",
)
_POSITIVE_INT = (
    "BAN_BLOCK_WINDOW", "BAN_SYNC_INTERVAL", "WINDOW_MAX_EVENTS", "WINDOW_SECONDS", "WINDOW_MAX_CLIENTS",
    "VALIDATOR_MAX_BYTES", "VALIDATOR_BLOCK_SCORE", "LOG_QUEUE_SIZE", "LOG_BATCH_SIZE", "LOG_USER_AGENT_MAX",
    "AI_MAX_WORKERS", "AI_QUEUE_SIZE", "AI_BREAKER_FAILURES", "MODEL_LOOKBACK_DAYS", "MODEL_MIN_SAMPLES",
    "MODEL_MAX_SAMPLES", "IPV6_PREFIX_LENGTH", "BLOCK_STATUS", "MODEL_SUSTAINED_WINDOW", "MODEL_SUSTAINED_COUNT",
    "MODEL_SUSTAINED_ALONE", "LOGIN_FLOOD_WINDOW",
    "GREY_SUSTAINED_WINDOW", "SHARED_ADDRESS_MAX_CLIENTS", "PROFILE_SUSTAINED_WINDOW", "PROFILE_MIN_CLIENTS",
    "PROFILE_MIN_SUPPORT",
    "MODEL_SHADOW_MAX_ROWS", "MODEL_GUARD_MINUTES", "MODEL_GUARD_MIN_SCORED",
)
_POSITIVE_NUMBER = (
    "FAILURE_LOG_INTERVAL", "LOG_FLUSH_INTERVAL", "AI_CONNECT_TIMEOUT", "AI_READ_TIMEOUT",
    "AI_PAYLOAD_TIMEOUT", "AI_BREAKER_COOLDOWN", "MODEL_RELOAD_INTERVAL", "REPLICATION_INTERVAL",
    "PROFILE_PAGE_PACE", "MODEL_SHADOW_DAYS",
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
    from ..detectors.ratelimit import LIMIT_TYPES

    plans = cfg.get("RATE_LIMIT_PLANS", {})
    errors: list[Error] = []
    if plans in (None, {}):
        plans = {}
    if not isinstance(plans, dict):
        return [Error("SMART_MIDDLEWARE['RATE_LIMIT_PLANS'] must be a dict of plan → routes.",
                      id="smartlayer.E013")]
    for plan, routes in plans.items():
        if not isinstance(routes, dict):
            errors.append(Error(f"RATE_LIMIT_PLANS[{plan!r}] must be a dict of route → limits.",
                                id="smartlayer.E013"))
            continue
        for route, limits in routes.items():
            where = f"RATE_LIMIT_PLANS[{plan!r}][{route!r}]"
            if not isinstance(route, str) or not route.startswith("/"):
                errors.append(Error(f"{where}: a route is a path starting with '/'.",
                                    hint="Exact path, or a prefix ending in '*'.", id="smartlayer.E014"))
            if not isinstance(limits, dict) or not limits:
                errors.append(Error(f"{where} must be a non-empty dict of limit type → number.",
                                    id="smartlayer.E015"))
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
                                        id="smartlayer.E016"))
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
    for key in ("TRUSTED_PROXIES", "ALLOW_IPS", "METRICS_ALLOW_IPS"):
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
                              hint="For example socket.gethostname(), or '' for one group.", id="smartlayer.E018"))
    elif backend in ("replicated", "redis"):
        from ..state.cache import cache_is_redis

        if not cache_is_redis():
            messages.append(Error(f"WINDOW_BACKEND={backend!r} needs Django's RedisCache as CACHE_ALIAS's "
                                  "backend.", hint="Use 'auto' or 'local' with other caches.", id="smartlayer.E017"))
    messages += _login_flood_warnings(cfg)
    policy = cfg.get("CRAWLER_POLICY", "polite")
    if not (policy in ("polite", "block") or (isinstance(policy, (list, tuple))
                                               and all(isinstance(t, str) and t for t in policy))):
        messages.append(Error(f"SMART_MIDDLEWARE['CRAWLER_POLICY'] must be 'polite', 'block' or a list of user-agent "
                              f"tokens, got {policy!r}.", hint="For example ['googlebot', 'bingbot'].",
                              id="smartlayer.E020"))
    messages += _profile_errors(cfg)
    messages += _model_guard_errors(cfg)
    return messages


def _profile_errors(cfg: dict[str, Any]) -> list[Error]:
    """PROFILE_WEIGHTS: the profile's reason codes, each a whole number ≥ 0."""
    weights = cfg.get("PROFILE_WEIGHTS", DEFAULTS["PROFILE_WEIGHTS"])
    known = set(DEFAULTS["PROFILE_WEIGHTS"])
    if (isinstance(weights, dict) and all(k in known for k in weights)
            and all(_is_int(v) and v >= 0 for v in weights.values())):
        return []
    return [Error(f"SMART_MIDDLEWARE['PROFILE_WEIGHTS'] must map reason codes ({', '.join(sorted(known))}) to "
                  f"whole numbers ≥ 0, got {weights!r}.", hint="Leave out a code to keep its default weight.",
                  id="smartlayer.E021")]


def _model_guard_errors(cfg: dict[str, Any]) -> list[Error]:
    """The bound and the trimmed share: out of range, they silently disable a guard."""
    errors = []
    for key in ("MODEL_BOUND_FACTOR", "MODEL_GUARD_FACTOR"):
        factor = cfg.get(key, DEFAULTS[key])
        if not isinstance(factor, (int, float)) or isinstance(factor, bool) or not factor > 1:
            # a model flags its contamination share by construction: a factor of 1 or
            # less would hold back sound candidates and demote healthy models
            errors.append(Error(f"SMART_MIDDLEWARE[{key!r}] must be a number above 1, got {factor!r}.",
                                hint=f"The default is {DEFAULTS[key]!r} (times the contamination).",
                                id="smartlayer.E032"))
    trim = cfg.get("MODEL_TRIM_SHARE", DEFAULTS["MODEL_TRIM_SHARE"])
    if not isinstance(trim, (int, float)) or isinstance(trim, bool) or not 0 <= trim < 0.5:
        errors.append(Error(f"SMART_MIDDLEWARE['MODEL_TRIM_SHARE'] must be a share in [0, 0.5), got {trim!r}.",
                            hint=f"The default is {DEFAULTS['MODEL_TRIM_SHARE']!r} (no vector is trimmed).",
                            id="smartlayer.E033"))
    for key in ("MODEL_GUARD_CLIENT_SHARE", "MODEL_GUARD_MEDIAN_QUANTILE"):
        value = cfg.get(key, DEFAULTS[key])
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < 1:
            errors.append(Error(f"SMART_MIDDLEWARE[{key!r}] must be a share in [0, 1), got {value!r}.",
                                hint=f"The default is {DEFAULTS[key]!r}.", id="smartlayer.E034"))
    tell = cfg.get("MODEL_TELL_QUANTILE", DEFAULTS["MODEL_TELL_QUANTILE"])
    if not isinstance(tell, (int, float)) or isinstance(tell, bool) or not 0.9 <= tell <= 1:
        # lower, the ceiling falls inside what the site's visitors do and their normal tells count
        errors.append(Error(f"SMART_MIDDLEWARE['MODEL_TELL_QUANTILE'] must be a quantile in [0.9, 1], got {tell!r}.",
                            hint=f"The default is {DEFAULTS['MODEL_TELL_QUANTILE']!r}; 1 is the training week's "
                                 "maximum.", id="smartlayer.E035"))
    return errors


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
