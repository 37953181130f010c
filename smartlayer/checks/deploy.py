"""System checks of how smartlayer is deployed: middleware order, cache, proxies, client addresses.

Ids and what each one means: :data:`smartlayer.checks.CATALOGUE`.
"""
from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from .. import MIDDLEWARE as SMARTLAYER_MIDDLEWARE
from ..conf import DEFAULTS
from .settings import _user

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
    cfg = _user() if isinstance(_user(), dict) else {}
    alias = cfg.get("CACHE_ALIAS", DEFAULTS["CACHE_ALIAS"])
    backend = getattr(settings, "CACHES", {}).get(alias, {}).get("BACKEND", "")
    if not backend:
        return [Error(f"CACHE_ALIAS {alias!r} is not in CACHES.", hint="Name an alias of settings.CACHES.",
                      id="smartlayer.E019")]
    if backend.endswith("DummyCache"):
        return [Error("smartlayer's cache is DummyCache: counters, windows and bans cannot work.",
                      hint="Use RedisCache in production, LocMemCache for a single process.", id="smartlayer.E009")]
    if getattr(settings, "DEBUG", False):
        return []  # W005 is about several worker processes: see check_cache_deploy
    return _local_cache_warning(cfg, backend)


@register(Tags.caches, deploy=True)
def check_cache_deploy(app_configs: Any = None, **kwargs: Any) -> list:
    """W005 while developing (``DEBUG = True``): only from ``check --deploy``.

    runserver is one process, so a per-process cache is right there, and the
    warning printed on every ``manage.py`` command teaches people to ignore
    warnings.  With ``DEBUG = False`` :func:`check_cache` says it on every
    check; this twin then stays quiet so ``check --deploy`` says it once.
    """
    if not getattr(settings, "DEBUG", False):
        return []
    cfg = _user() if isinstance(_user(), dict) else {}
    alias = cfg.get("CACHE_ALIAS", DEFAULTS["CACHE_ALIAS"])
    backend = getattr(settings, "CACHES", {}).get(alias, {}).get("BACKEND", "")
    return _local_cache_warning(cfg, backend)


def _local_cache_warning(cfg: dict, backend: str) -> list:
    from ..conf import sl_settings

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
        from ..models import RequestLog

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
