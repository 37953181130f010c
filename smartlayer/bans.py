"""Bans: durable in the database, served from the cache.

The request path only ever reads the cache (:func:`lookup`): one ``get_many``
of the client's key (and, for a signed-in user, its IP key too).  Creating a
ban (:func:`ban`) writes the database row and the cache entry at once, so it
is in force from the next request — on every worker when the cache is shared.

With the replicated window store (the default on Redis, see
:mod:`smartlayer.replicated_window`) the request path does not even ask the
cache: every worker keeps a :class:`BanMirror` of all active bans in memory.
A ban or a lift is written to the cache as before, added to (or removed from)
an index set of ban keys, and announced on the :mod:`~smartlayer.bus` at once;
every worker applies it when the message arrives (milliseconds).  A worker
(re)loads its mirror from the cache — the index, then the entries — whenever
its subscription is (re)established, so nothing announced while it was away
is missed.

The cache can lose entries (a restart, eviction, the local-memory backend of
another process).  So at most once per ``BAN_SYNC_INTERVAL`` the active bans
are copied from the database into the cache again (:func:`maybe_sync`) — a
query per interval, never per request.  Saving or deleting a :class:`Ban` in
the admin updates the cache through model signals.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import Any

from django.utils import timezone

from . import signals
from .client import Client
from .conf import sl_settings
from .dbtext import db_json, db_text
from .state import count, get_cache, make_key, report_failure
from .window import window_backend

logger = logging.getLogger("smartlayer")

_sync_lock = threading.Lock()
_next_sync = 0.0


def ban_key(client_key: str) -> str:
    return make_key("ban", client_key)


def _entry(obj: Any) -> dict[str, Any]:
    return {
        "id": obj.pk,
        "reason": obj.reason,
        "source": obj.source,
        "expires": obj.expires_at.timestamp() if obj.expires_at else None,
    }


def cache_ban(obj: Any, announce: bool = True) -> tuple[str, dict[str, Any] | None]:
    """Put one Ban row into the cache (or remove it if no longer active);
    returns ``(cache key, entry or None)``.  ``announce=False``: the caller
    announces (several at once)."""
    cache = get_cache()
    key = ban_key(obj.client_key)
    entry = _entry(obj) if obj.is_active else None
    mirror = ban_mirror()
    if mirror is not None:  # this worker enforces it at once, whether or not Redis answers
        mirror.apply([(key, entry)])
    if entry is None:
        _cached.pop(key, None)
        cache.delete(key)
    else:
        _cached[key] = entry["id"]
        timeout = None
        if obj.expires_at is not None:
            timeout = max(1, int((obj.expires_at - timezone.now()).total_seconds()) + 1)
        cache.set(key, entry, timeout=timeout)
    if announce:
        _announce([(key, entry)])
    return key, entry


def lookup_keys(client: Client) -> list[str]:
    """The cache keys a request's bans live under: the client's own key and,
    for a signed-in user, the IP's key too (an IP ban applies to every account
    used from that address)."""
    keys = [ban_key(client.key)]
    ipk = client.ip_key if client.authenticated else None
    if ipk:
        keys.append(ban_key(ipk))
    return keys


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


def lookup(client: Client, now: float | None = None) -> dict[str, Any] | None:
    """The active ban of this client: from this worker's mirror when bans are
    replicated (no I/O), else from the cache.  Raises on cache errors."""
    mirror = ban_mirror()
    if mirror is not None and mirror.ready:
        return mirror.lookup(lookup_keys(client), now)
    found = get_cache().get_many(lookup_keys(client))
    return active_entry(found.values(), now) if found else None


def ban(client_key: str, *, reason: str, source: str, ttl: int | None = -1, ip: str | None = None,
        user_id: str | None = None, details: dict | None = None, sender: Any = None) -> Any:
    """Ban a client.  ``ttl=-1`` means ``BAN_TTL``; ``None`` or 0 means permanent.

    The cache entry is written first, so a database outage still enforces
    the ban on the shared cache; the failure is reported, not raised.
    """
    from .models import Ban

    if ttl == -1:
        ttl = sl_settings.BAN_TTL
    now = timezone.now()
    expires = now + timedelta(seconds=int(ttl)) if ttl else None
    obj = Ban(client_key=client_key, ip_address=ip, user_id=user_id, reason=db_text(reason, 300), source=source,
              details=db_json(details), created_at=now, expires_at=expires)
    try:
        cache_ban(obj)
    except Exception as exc:  # noqa: BLE001 - fail open, counted
        report_failure("cache", exc)
    try:
        existing = Ban.objects.active().filter(client_key=client_key).first()
        if existing is not None and (existing.expires_at is None or (expires and existing.expires_at >= expires)):
            obj = existing  # already banned at least as long: keep the first reason
        else:
            obj.save()
    except Exception as exc:  # noqa: BLE001
        report_failure("database", exc)
    count("bans")
    logger.warning("smartlayer: banned %s (%s): %s, until %s", client_key, source, reason,
                   expires.isoformat(timespec="seconds") if expires else "lifted")
    signals.client_banned.send(sender=sender or Ban, ban=obj, client_key=client_key, source=source,
                               reason=reason, expires_at=expires)
    return obj


def lift(client_key: str, *, by: str = "", sender: Any = None) -> int:
    """Lift every active ban of a client; returns how many were lifted."""
    from .models import Ban

    now = timezone.now()
    bans = list(Ban.objects.active().filter(client_key=client_key))
    for obj in bans:
        obj.lifted_at = now
        obj.lifted_by = by[:150]
        obj.save(update_fields=["lifted_at", "lifted_by"])
        signals.client_unbanned.send(sender=sender or Ban, ban=obj, client_key=client_key, lifted_by=by)
    try:
        uncache_ban(client_key)
    except Exception as exc:  # noqa: BLE001
        report_failure("cache", exc)
    return len(bans)


def uncache_ban(client_key: str) -> None:
    """Remove a client's ban from the cache and from every worker's mirror.  Raises on cache errors."""
    key = ban_key(client_key)
    _cached.pop(key, None)
    mirror = ban_mirror()
    if mirror is not None:
        mirror.apply([(key, None)])
    get_cache().delete(key)
    _announce([(key, None)])


def sync_from_db(force: bool = False) -> int:
    """Make the cache agree with the database; returns how many active bans were copied.

    Active bans are copied in; bans this process knows of that are no longer
    active in the database (lifted or deleted by the admin, a shell, the
    ``smartlayer_bans`` command or another process) are taken out of the
    cache and of every worker's mirror.  That is what makes a lift reach a
    process that did not make it — on a per-process cache (local memory in
    runserver or gunicorn) there is no other way to hear of it — within
    ``BAN_SYNC_INTERVAL``.  Entries written while the database was away (no
    row id) are left to expire on their own.
    """
    from .models import Ban

    changes = [cache_ban(obj, announce=False)
               for obj in Ban.objects.active().only("id", "client_key", "reason", "source", "expires_at",
                                                    "lifted_at")]
    live = {key for key, _ in changes}
    stale = [key for key, row_id in _known_bans().items() if key not in live and row_id is not None]
    if stale:
        mirror = ban_mirror()
        if mirror is not None:
            mirror.apply([(key, None) for key in stale])
        get_cache().delete_many(stale)
        for key in stale:
            _cached.pop(key, None)
        changes += [(key, None) for key in stale]
    _announce(changes)
    return len(live)


#: Ban keys this process put into the cache (→ the ban row's id, None when
#: the database had no row yet): what :func:`sync_from_db` checks against
#: the database.  Bounded by the number of bans this process has seen active.
_cached: dict[str, Any] = {}


def _known_bans() -> dict[str, Any]:
    """Every ban key this process may be enforcing: its own record, and the mirror's."""
    known = dict(_cached)
    mirror = ban_mirror()
    if mirror is not None:
        for key, entry in list(mirror.items()):
            known.setdefault(key, entry.get("id"))
    return known


def maybe_sync() -> None:
    """Run :func:`sync_from_db` at most once per interval (per cluster on a shared cache)."""
    global _next_sync
    now = time.monotonic()
    if now < _next_sync:
        return
    with _sync_lock:
        if now < _next_sync:
            return
        interval = float(sl_settings.BAN_SYNC_INTERVAL)
        _next_sync = now + interval
    try:
        if get_cache().add(make_key("bans-synced", "all"), 1, timeout=max(1, int(interval))):
            sync_from_db()
    except Exception as exc:  # noqa: BLE001
        report_failure("ban-sync", exc)


def reset_sync_timer() -> None:
    """Forget when the last sync ran: the next lookup syncs (tests)."""
    global _next_sync
    _next_sync = 0.0


def reset_known() -> None:
    """Forget which bans this process cached (tests)."""
    _cached.clear()


# ── the ban mirror (replicated windows) ─────────────────────────────────────
TOPIC = "bans"


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

        from .redis_window import cache_serializer, redis_client

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


def _announce(changes: list[tuple[str, dict[str, Any] | None]]) -> None:
    """Tell the other workers about ban changes: the index set, then one
    message on the bus.  This worker's mirror has them already (cache_ban and
    uncache_ban apply them first).  Nothing to do without a mirror."""
    mirror = ban_mirror()
    if mirror is None or not changes:
        return
    from .bus import get_bus
    from .redis_window import redis_client

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


# ── operator input: the smartlayer_bans command and the admin's ban form ─────
def client_key_from(text: str) -> str:
    """The client key an operator means by ``text``; ``ValueError`` with the
    reason when it is none.

    A key is what :func:`smartlayer.client.ip_key` produces — ``ip:<address>``,
    ``ip:<IPv6 prefix>/<length>`` (or ``ip:unknown``) — or ``u:<user pk>``.  A
    bare IP address is turned into its key (an IPv6 address into its
    ``IPV6_PREFIX_LENGTH`` network, as the middleware groups it).  Anything
    else is refused rather than stored: a ban under a key no request ever
    resolves to would refuse nobody, silently.
    """
    import ipaddress

    from .client import ip_key

    value = (text or "").strip()
    if not value or len(value) > 64 or any(ch.isspace() or not ch.isprintable() for ch in value):
        raise ValueError(f"{text!r} is not a client key: expected ip:<address>, ip:<IPv6 prefix>/<length>, "
                         "u:<user pk> or a bare IP address (at most 64 characters, no spaces)")
    if value.startswith("u:"):
        if len(value) == 2:
            raise ValueError("u: needs a user's primary key, e.g. u:42")
        return value
    if value.startswith("ip:"):
        if value == "ip:unknown":
            return value
        body = value[3:]
        address = body.split("/", 1)[0]
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise ValueError(f"{value!r}: {address!r} is not an IP address") from None
        canonical = ip_key(address)
        if canonical != value:
            raise ValueError(f"{value!r} is not a key smartlayer gives any client; the key of {address} is "
                             f"{canonical} (IPv6 clients are grouped by their prefix), or give the bare address")
        return value
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a client key: expected ip:<address>, ip:<IPv6 prefix>/<length>, "
                         "u:<user pk> or a bare IP address") from None
    return ip_key(value)
