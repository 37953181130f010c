"""Shared state in Django's cache: keys and atomic counters.

Counters use ``cache.add`` (create if missing, with the window's timeout) and
then ``cache.incr`` — both atomic on Redis and memcached, and under a lock in
the local-memory backend — never get→modify→set, which loses updates under
concurrency.

Every failure to reach the cache is the caller's to report
(:mod:`.failures`): counters raise, callers choose to fail open or closed.
"""
from __future__ import annotations

import hashlib
from typing import Any

from django.core.cache import caches

from ..conf import derived, sl_settings


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

    On Redis one pipelined round trip (``SET key 0 EX timeout NX`` + ``INCRBY``, as
    :func:`incr_many`): Django's ``add`` then ``incr`` took three (``incr`` asks ``EXISTS``
    first), and a sync worker waits for each — every refused request counts its blocks
    here.  Elsewhere the cache's own ``add`` and ``incr``.

    Raises whatever the cache raises; callers decide to fail open or closed.
    """
    if cache_is_redis():
        pipe, cache_key = _pipeline()
        _queue_incr(pipe, cache_key(key), timeout, delta)
        return int(pipe.execute()[1])
    cache = get_cache()
    cache.add(key, 0, timeout=max(1, int(timeout)))
    try:
        return cache.incr(key, delta)
    except ValueError:
        # expired between add and incr: start again once
        cache.add(key, 0, timeout=max(1, int(timeout)))
        return cache.incr(key, delta)


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
    pipe, cache_key = _pipeline()
    for key, timeout in items:
        _queue_incr(pipe, cache_key(key), timeout)
    return [int(v) for v in pipe.execute()[1::2]]


def _pipeline() -> tuple[Any, Any]:
    """A non-transactional pipeline on smartlayer's Redis client, and the cache's key function."""
    from .redis import raw_redis

    client, cache_key = raw_redis()
    return client.pipeline(transaction=False), cache_key


def _queue_incr(pipe: Any, full_key: str, timeout: float, delta: int = 1) -> None:
    """Queue :func:`incr`'s add-then-increment (``SET NX EX`` + ``INCRBY``): two replies."""
    pipe.set(full_key, 0, ex=max(1, int(timeout)), nx=True)
    pipe.incr(full_key, delta)


def incr_and_read(key: str, timeout: float, other: str) -> tuple[int, int]:
    """:func:`incr` of ``key`` and the value of the counter ``other`` (0 when absent), at once.

    A sliding count over two buckets needs both on every flagged request; on Redis the
    add-then-increment and the read go in one pipelined round trip instead of three.
    """
    if not cache_is_redis():
        return incr(key, timeout), int(get_cache().get(other) or 0)
    pipe, cache_key = _pipeline()
    _queue_incr(pipe, cache_key(key), timeout)
    pipe.get(cache_key(other))
    _, n, before = pipe.execute()
    return int(n), int(before or 0)


def decr(key: str, delta: int = 1) -> None:
    try:
        get_cache().decr(key, delta)
    except ValueError:
        pass
