"""The redis-py client behind Django's RedisCache, for what the cache API cannot do.

Windows (Lua scripts), the replication bus (pub/sub), the ban mirror (sets)
and pipelined counters talk to Redis directly — through the client of the
cache alias, never one built from a URL of our own: one set of connection
settings (LOCATION, OPTIONS such as timeouts, pool class, TLS) and one pool.
"""
from __future__ import annotations

from typing import Any

from ..conf import derived, sl_settings


def redis_client(alias: str | None = None) -> Any:
    """The ``redis.Redis`` client behind Django's ``RedisCache`` ``alias``.

    Going through the cache backend (rather than reading the URL and building
    a client of our own) means one set of connection settings — LOCATION,
    OPTIONS such as timeouts, pool class, TLS — and one connection pool.
    Django 5.2 exposes it as ``caches[alias]._cache.get_client(key, write=)``
    (``RedisCacheClient``); the redis-py client it returns is thread-safe.
    """
    from django.core.cache import caches
    from django.core.exceptions import ImproperlyConfigured

    alias = alias or sl_settings.CACHE_ALIAS
    backend = caches[alias]
    get_client = getattr(getattr(backend, "_cache", None), "get_client", None)
    if get_client is None:
        raise ImproperlyConfigured(
            f"smartlayer's Redis window store needs Django's RedisCache, but CACHES[{alias!r}] is "
            f"{type(backend).__module__}.{type(backend).__name__}; set WINDOW_BACKEND='local' or use RedisCache.")
    return get_client(None, write=True)


def cache_serializer(alias: str) -> Any:
    """How Django's RedisCache ``alias`` encodes values (``dumps``/``loads``), for
    values read through the raw client — so they read exactly as ``cache.get`` would."""
    from django.core.cache import caches

    return caches[alias]._cache._serializer


@derived
def raw_redis() -> tuple[Any, Any]:
    """The redis-py client behind smartlayer's RedisCache and its key function.

    Made once per settings generation: Django's RedisCache builds a new
    redis-py client object for every call (~50 µs), which the hot path avoids.
    """
    from django.core.cache import caches

    alias = sl_settings.CACHE_ALIAS
    return redis_client(alias), caches[alias].make_key
