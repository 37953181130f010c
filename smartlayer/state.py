"""Shared state in Django's cache: keys, atomic counters, failure accounting.

Counters use ``cache.add`` (create if missing, with the window's timeout) and
then ``cache.incr`` — both atomic on Redis and memcached, and under a lock in
the local-memory backend — never get→modify→set, which loses updates under
concurrency.

Failures of the cache (or the database, or the LLM) must never take the site
down.  :func:`report_failure` logs a recurring failure once per
``FAILURE_LOG_INTERVAL`` and counts every occurrence in :data:`metrics`, so
failing open is never silent.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import Counter
from typing import Any

from django.core.cache import caches

from .conf import derived, sl_settings

logger = logging.getLogger("smartlayer")

#: Process-wide counters of everything smartlayer had to swallow or drop.
metrics: Counter = Counter()
_metrics_lock = threading.Lock()
_last_logged: dict[str, float] = {}


def count(name: str, n: int = 1) -> None:
    with _metrics_lock:
        metrics[name] += n


def report_failure(kind: str, exc: BaseException | str, *, level: int = logging.WARNING) -> None:
    """Count a failure of ``kind`` and log it at most once per interval."""
    count(f"failure.{kind}")
    now = time.monotonic()
    interval = float(sl_settings.FAILURE_LOG_INTERVAL)
    last = _last_logged.get(kind)
    if last is not None and now - last < interval:
        return
    _last_logged[kind] = now
    total = metrics[f"failure.{kind}"]
    logger.log(level, "smartlayer: %s failed (%s); failing open. %d occurrence(s) so far.", kind, exc, total)


def reset_failure_log() -> None:
    _last_logged.clear()


def get_cache():
    return caches[sl_settings.CACHE_ALIAS]


@derived
def cache_is_redis() -> bool:
    from django.conf import settings

    alias = sl_settings.CACHE_ALIAS
    backend = settings.CACHES.get(alias, {}).get("BACKEND", "")
    return backend.endswith("RedisCache")


@derived
def cache_is_shared() -> bool:
    """False for backends that each process keeps for itself."""
    from django.conf import settings

    backend = settings.CACHES.get(sl_settings.CACHE_ALIAS, {}).get("BACKEND", "")
    local = ("locmem.LocMemCache", "dummy.DummyCache", "filebased.FileBasedCache")
    return not backend.endswith(local)


def make_key(kind: str, *parts: Any) -> str:
    """``<prefix>:<kind>:<sha1 of parts>`` — fixed length, safe for memcached."""
    raw = "|".join(str(p) for p in parts)
    digest = hashlib.sha1(raw.encode("utf-8", "surrogatepass")).hexdigest()[:24]
    return f"{sl_settings.CACHE_PREFIX}:{kind}:{digest}"


def incr(key: str, timeout: float, delta: int = 1) -> int:
    """Atomically add ``delta`` to a counter that lives ``timeout`` seconds.

    Raises whatever the cache raises; callers decide to fail open or closed.
    """
    cache = get_cache()
    cache.add(key, 0, timeout=max(1, int(timeout)))
    try:
        return cache.incr(key, delta)
    except ValueError:
        # expired between add and incr: start again once
        cache.add(key, 0, timeout=max(1, int(timeout)))
        return cache.incr(key, delta)


@derived
def _raw_redis() -> tuple[Any, Any]:
    """The redis-py client behind smartlayer's RedisCache and its key function.

    Made once per settings generation: Django's RedisCache builds a new
    redis-py client object for every call (~50 µs), which the hot path avoids.
    """
    from .redis_window import redis_client

    return redis_client(sl_settings.CACHE_ALIAS), get_cache().make_key


def incr_many(items: list[tuple[str, float]]) -> list[int]:
    """:func:`incr` for several ``(key, timeout)`` counters at once.

    On Redis: ``SET key 0 EX timeout NX`` + ``INCR key`` per counter, all in
    one pipelined round trip — the same atomic add-then-increment, and the
    values stay readable through Django's cache API (it stores integers raw).
    Elsewhere: one :func:`incr` per counter.
    """
    if not items:
        return []
    if not cache_is_redis():
        return [incr(key, timeout) for key, timeout in items]
    client, cache_key = _raw_redis()
    pipe = client.pipeline(transaction=False)
    for key, timeout in items:
        full = cache_key(key)
        pipe.set(full, 0, ex=max(1, int(timeout)), nx=True)
        pipe.incr(full)
    return [int(v) for v in pipe.execute()[1::2]]


def decr(key: str, delta: int = 1) -> None:
    try:
        get_cache().decr(key, delta)
    except ValueError:
        pass
