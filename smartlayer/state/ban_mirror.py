"""The ban mirror: every active ban, in each worker's memory, kept current over the bus.

With the replicated window store (the default on Redis, see
:mod:`smartlayer.state.windows.replicated`) the request path does not even
ask the cache: every worker keeps a :class:`BanMirror` of all active bans.
A ban or a lift is written to the cache as before, added to (or removed
from) an index set of ban keys, and announced on the bus at once; every
worker applies it when the message arrives (milliseconds).  A worker
(re)loads its mirror from the cache — the index, then the entries —
whenever its subscription is (re)established, so nothing announced while it
was away is missed.
"""
from __future__ import annotations

import threading
import time
from typing import Any

from ..conf import sl_settings
from .windows import window_backend

TOPIC = "bans"


def active_entry(entries: Any, now: float | None = None) -> dict[str, Any] | None:
    """The first ban entry among ``entries`` that has not expired."""
    now = now or time.time()
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        exp = entry.get("expires")
        if exp is None or exp > now:
            return entry
    return None


class BanMirror:
    """Every active ban, in this worker's memory, kept current over the bus.

    Lookups read a dict (no lock, no I/O).  Changes come from two places: this
    worker's own bans and lifts (applied at once, before they are published)
    and the other workers' announcements (applied by the bus thread).
    :meth:`reload` rebuilds the whole mirror from the cache's index of ban
    keys; it runs on every (re)subscription, under the same lock as
    :meth:`apply`, so no change is lost between the two.
    """

    def __init__(self, alias: str | None = None) -> None:
        self.alias = alias or sl_settings.CACHE_ALIAS
        self.ready = False
        self._entries: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def lookup(self, keys: list[str], now: float | None = None) -> dict[str, Any] | None:
        entries = self._entries
        return active_entry([entries.get(k) for k in keys], now)

    def apply(self, items: list) -> None:
        """``[(ban key, entry or None), ...]``: set or forget those bans."""
        now = time.time()
        with self._lock:
            entries = self._entries
            for key, entry in items:
                if entry is None or (entry.get("expires") is not None and entry["expires"] <= now):
                    entries.pop(key, None)
                else:
                    entries[key] = entry

    def reload(self) -> None:
        """Rebuild from the cache: the index of ban keys, then their entries."""
        from django.core.cache import caches

        from .redis import cache_serializer, redis_client

        client = redis_client(self.alias)
        backend = caches[self.alias]
        with self._lock:
            keys = sorted(k.decode() for k in client.smembers(_index_key()))
            values = client.mget([backend.make_key(k) for k in keys]) if keys else []
            loads = cache_serializer(self.alias).loads
            now = time.time()
            entries, gone = {}, []
            for key, raw in zip(keys, values, strict=True):
                entry = loads(raw) if raw is not None else None
                if isinstance(entry, dict) and (entry.get("expires") is None or entry["expires"] > now):
                    entries[key] = entry
                else:
                    gone.append(key)
            if gone:
                client.srem(_index_key(), *gone)
            self._entries = entries
            self.ready = True

    def items(self) -> list[tuple[str, dict[str, Any]]]:
        return list(self._entries.items())

    def __len__(self) -> int:
        return len(self._entries)


def _index_key() -> str:
    from django.core.cache import caches

    return caches[sl_settings.CACHE_ALIAS].make_key(f"{sl_settings.CACHE_PREFIX}:ban-index")


_mirror: BanMirror | None = None
_mirror_bus: Any = None
_mirror_lock = threading.Lock()


def ban_mirror() -> BanMirror | None:
    """This worker's mirror when windows are replicated, else None."""
    global _mirror, _mirror_bus
    if window_backend() != "replicated":
        return None
    from .bus import get_bus

    bus = get_bus()
    if _mirror_bus is not bus:  # first use, new settings, or a new process after a fork
        with _mirror_lock:
            if _mirror_bus is not bus:
                _mirror = BanMirror(bus.alias)
                bus.subscribe(TOPIC, _mirror.apply, on_connect=_mirror.reload)
                _mirror_bus = bus
    return _mirror


def announce_changes(changes: list[tuple[str, dict[str, Any] | None]]) -> None:
    """Tell the other workers about ban changes: the index set, then one
    message on the bus.  This worker's mirror has them already (cache_ban and
    uncache_ban apply them first).  Nothing to do without a mirror."""
    mirror = ban_mirror()
    if mirror is None or not changes:
        return
    from .bus import get_bus
    from .redis import redis_client

    pipe = redis_client(mirror.alias).pipeline(transaction=False)
    added = [k for k, e in changes if e is not None]
    removed = [k for k, e in changes if e is None]
    if added:
        pipe.sadd(_index_key(), *added)
    if removed:
        pipe.srem(_index_key(), *removed)
    pipe.execute()
    get_bus().publish_now(TOPIC, changes)


def reset_mirror() -> None:
    """Forget this process's mirror (tests)."""
    global _mirror, _mirror_bus
    _mirror = _mirror_bus = None
