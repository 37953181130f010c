"""Bans: durable in the database, served from the cache.

The request path only ever reads the cache (:func:`lookup`): one ``get_many``
of the client's key (and, for a signed-in user, its IP key too).  Creating a
ban (:func:`ban`) writes the database row and the cache entry at once, so it
is in force from the next request — on every worker when the cache is shared.

With the replicated window store (the default on Redis, see
:mod:`smartlayer.state.windows.replicated`) the request path does not even ask the
cache: every worker keeps a :class:`BanMirror` of all active bans in memory.
A ban or a lift is written to the cache as before, added to (or removed from)
an index set of ban keys, and announced on the :mod:`~smartlayer.state.bus` at once;
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

from .. import signals
from ..conf import derived, sl_settings
from ..dbtext import db_json, db_text
from ..request.client import COOKIE_MARK, Client
from . import ban_persist, prom
from .ban_mirror import active_entry, announce_changes, ban_mirror
from .cache import get_cache, make_key
from .failures import count, report_failure

logger = logging.getLogger("smartlayer")

_sync_lock = threading.Lock()
_next_sync = 0.0
#: client keys whose ban key is remembered (:func:`ban_key`)
_BAN_KEYS_MAX = 50_000


@derived
def _ban_keys() -> dict[str, str]:
    """client key → its ban key, for the current settings (``CACHE_PREFIX`` is part of every key)."""
    return {}


def ban_key(client_key: str) -> str:
    """The cache key of a client's ban: a SHA-1 of the client key, remembered (a client sends many
    requests; bounded, emptied when full, and anew when the settings change)."""
    memo = _ban_keys()
    key = memo.get(client_key)
    if key is None:
        if len(memo) >= _BAN_KEYS_MAX:
            memo.clear()
        key = memo[client_key] = make_key("ban", client_key)
    return key


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
        announce_changes([(key, entry)])
    return key, entry


def lookup_keys(client: Client) -> list[str]:
    """The cache keys a request's bans live under: the client's own key and,
    for a signed-in user, the IP's key too (an IP ban applies to every account
    used from that address).  A new list each call, so a caller may keep or change it.
    """
    keys = [ban_key(client.key)]
    ipk = client.ip_key if client.authenticated else None
    if ipk:
        keys.append(ban_key(ipk))
    return keys




@derived
def _cache_is_this_process() -> bool:
    """Django's local-memory cache: every ban in it was put there by this process's :func:`cache_ban`."""
    from django.conf import settings

    backend = settings.CACHES.get(sl_settings.CACHE_ALIAS, {}).get("BACKEND", "")
    return backend.endswith("locmem.LocMemCache")


def may_be_cached(keys: list[str]) -> bool:
    """False when none of these ban keys can be in the cache: on the local-memory cache
    only this process writes bans, and it records each (``_cached``), so a client never
    banned here costs a dict lookup, not a ``get_many`` (7–10 µs: Django validates every
    key character by character).  Always True on a shared cache."""
    if not _cache_is_this_process():
        return True
    cached = _cached
    return any(key in cached for key in keys)


def lookup(client: Client, now: float | None = None) -> dict[str, Any] | None:
    """The active ban of this client: from this worker's mirror when bans are
    replicated (no I/O), else from the cache.  Raises on cache errors."""
    mirror = ban_mirror()
    keys = lookup_keys(client)
    if mirror is not None and mirror.ready:
        return mirror.lookup(keys, now)
    if not may_be_cached(keys):
        return None
    found = get_cache().get_many(keys)
    return active_entry(found.values(), now) if found else None


def ban(client_key: str, *, reason: str, source: str, ttl: int | None = -1, ip: str | None = None,
        user_id: str | None = None, details: dict | None = None, sender: Any = None, defer: bool = False) -> Any:
    """Ban a client.  ``ttl=-1`` means ``BAN_TTL``; ``None`` or 0 means permanent.

    The cache entry is written first, so a database outage still enforces
    the ban on the shared cache; the failure is reported, not raised.

    ``defer`` (the request path): the database row — and the ``client_banned``
    signal, which carries it — is written by the log's background writer with its
    next batch when one runs (:mod:`.ban_persist`), not on the request thread; the
    ban is enforced from the cache at once either way.  Returns the row (unsaved
    while it waits).
    """
    from ..models import Ban

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
    count("bans")
    prom.ban(source)
    logger.warning("smartlayer: banned %s (%s): %s, until %s", client_key, source, reason,
                   expires.isoformat(timespec="seconds") if expires else "lifted")

    def persist(row: Any) -> Any:
        saved = _save(row, raising=True)
        # The row is written: from here a failure is a receiver's, not the database's.  Raised into
        # the writer it would keep the row pending, send the signal again with every batch and
        # hold back every ban made after it — so it is reported and counted once instead.
        try:
            signals.client_banned.send(sender=sender or Ban, ban=saved, client_key=client_key, source=source,
                                       reason=reason, expires_at=expires)
        except Exception as exc:  # noqa: BLE001 - a receiver's bug must not stall ban persistence
            count("bans.signal_failed")
            report_failure("signal", exc)
        return saved

    if defer and ban_persist.submit(obj, persist):
        return obj
    obj = _save(obj, raising=False)
    signals.client_banned.send(sender=sender or Ban, ban=obj, client_key=client_key, source=source,
                               reason=reason, expires_at=expires)
    return obj


def _save(obj: Any, *, raising: bool) -> Any:
    """Write a new ban's row unless the client already has an active ban at least as long (whose
    row, with its first reason, is kept and returned).  A database failure is reported and the
    unsaved row returned — or, with ``raising``, raised for the caller to keep and retry."""
    from ..models import Ban

    try:
        existing = Ban.objects.active().filter(client_key=obj.client_key).first()
        expires = obj.expires_at
        if existing is not None and (existing.expires_at is None or (expires and existing.expires_at >= expires)):
            return existing  # already banned at least as long: keep the first reason
        obj.save()
    except Exception as exc:  # noqa: BLE001
        if raising:
            raise
        report_failure("database", exc)
    return obj


def lift(client_key: str, *, by: str = "", sender: Any = None) -> int:
    """Lift every active ban of a client; returns how many were lifted."""
    from ..models import Ban

    now = timezone.now()
    ban_persist.discard(client_key)  # a row not written yet must not bring the ban back
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
    announce_changes([(key, None)])


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
    from ..models import Ban

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
    announce_changes(changes)
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


# ── operator input: the smartlayer_bans command and the admin's ban form ─────
def client_key_from(text: str) -> str:
    """The client key an operator means by ``text``; ``ValueError`` with the
    reason when it is none.

    A key is what :func:`smartlayer.request.client.ip_key` produces — ``ip:<address>``,
    ``ip:<IPv6 prefix>/<length>`` (or ``ip:unknown``) —, one client behind a
    shared address (``ip:<address>~c:<cookie hash>``) or ``u:<user pk>``.  A
    bare IP address is turned into its key (an IPv6 address into its
    ``IPV6_PREFIX_LENGTH`` network, as the middleware groups it).  Anything
    else is refused rather than stored: a ban under a key no request ever
    resolves to would refuse nobody, silently.
    """
    import ipaddress

    from ..request.client import ip_key

    value = (text or "").strip()
    if not value or len(value) > 64 or any(ch.isspace() or not ch.isprintable() for ch in value):
        raise ValueError(f"{text!r} is not a client key: expected ip:<address>, ip:<IPv6 prefix>/<length>, "
                         "u:<user pk> or a bare IP address (at most 64 characters, no spaces)")
    if value.startswith("u:"):
        if len(value) == 2:
            raise ValueError("u: needs a user's primary key, e.g. u:42")
        return value
    if value.startswith("ip:") and COOKIE_MARK in value:
        # one client behind a shared address, as the request log names it: ip:<address>~c:<cookie hash>
        address, cookie = value.split(COOKIE_MARK, 1)
        if len(cookie) != 12 or any(c not in "0123456789abcdef" for c in cookie):
            raise ValueError(f"{value!r}: a cookie client's key ends in ~c: and 12 hex digits")
        return client_key_from(address) + COOKIE_MARK + cookie
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
