"""Who is the client: the one identity resolver every component uses.

An authenticated user is identified by the primary key of
``settings.AUTH_USER_MODEL`` (whatever its type); anyone else by the client IP.
IPv6 clients are grouped by their /64 (configurable), because a single host
usually owns a whole /64 and would otherwise rotate through it for free.

``X-Forwarded-For`` is spoofable: anyone can send one.  It is read only when
the operator says how many proxies sit in front of Django
(``TRUSTED_PROXY_COUNT``) or which networks they live in (``TRUSTED_PROXIES``),
and then it is walked from the right, where the trusted proxies appended the
addresses they actually saw.  The left-most entry is never trusted blindly.
Malformed addresses never raise; they just fail to count as an address.
"""
from __future__ import annotations

import functools
import hashlib
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils.functional import SimpleLazyObject, empty

from ..conf import derived, sl_settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Client:
    """The resolved identity of one request's sender."""

    key: str                 # "u:<pk>" or "ip:<address>" or "ip:<prefix>/64" (or "…~c:<cookie>", below)
    ip: str | None           # the resolved client IP (full address), if valid
    user_id: str | None      # str(pk) of the authenticated user
    authenticated: bool
    is_staff: bool = False
    cookie: str | None = None  # an anonymous client's site cookie, hashed (see cookie_id)

    @property
    def ip_key(self) -> str | None:
        """The IP-based key, also for authenticated users (ban checks use both)."""
        return ip_key(self.ip) if self.ip else None

    @property
    def address_key(self) -> str:
        """The key of the address this client shares (its own key without the cookie part)."""
        return self.key.split(COOKIE_MARK, 1)[0]

    @property
    def behind_shared_address(self) -> bool:
        """Keyed by a cookie within its address (an office behind one NAT)."""
        return COOKIE_MARK in self.key


#: Separates an address key from a cookie client's part: ``ip:198.51.100.7~c:3f2a9c0d1e4b``.
COOKIE_MARK = "~c:"


def cookie_id(cookies: Any) -> str | None:
    """An anonymous client's identity within its address: the site's session or CSRF cookie, hashed.

    Only a cookie the site issues counts (``SESSION_COOKIE_NAME``, then
    ``CSRF_COOKIE_NAME``), with a plausible value (20–128 characters);
    the value is never stored, only 12 hex digits of its SHA-1.  Whether the
    cookie is *established* — used before by this address, so not made up
    for this request — is for the window store to say
    (:meth:`smartlayer.state.windows.window.LocalWindowStore.shared_address`).
    """
    if not cookies or not sl_settings.SHARED_ADDRESS_COOKIES:
        return None
    names = _cookie_names()
    for name in names:
        value = cookies.get(name)
        if isinstance(value, str) and 20 <= len(value) <= 128:
            return cookie_hash(value)
    return None


def cookie_hash(value: str) -> str:
    """What a client's cookie is known by: 12 hex digits of its SHA-1, never the value."""
    return hashlib.sha1(value.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def person_key(address_key: str, cookie: str | None) -> str:
    """The key of one client behind an address: ``<address>~c:<hashed cookie>``.

    The middleware, the replay and the training frames all key a client behind a
    shared address this way, so that a model learns from the same clients it scores.
    """
    return f"{address_key}{COOKIE_MARK}{cookie}" if cookie else address_key


class RecordKeys:
    """Keys past requests (generated records, access-log lines) the way the middleware keyed them.

    The middleware judges a cookie's first request from an address *as the
    address* — only a cookie the address has used before makes its client one
    of its own — and records that request in the cookie client's window as
    well, for next time; it tracks at most ``SHARED_ADDRESS_MAX_CLIENTS`` cookie
    clients an address.  Training frames must see the same windows, or the
    week a model learns from never holds the address's window the detector
    builds: an office whose colleagues' first pages of the day land on the
    address within a minute is then judged against ceilings learned without
    them.  Records come in time order; the one approximation is that a cookie,
    once seen, stays known (the live store forgets it only when it evicts the
    client's window).
    """

    def __init__(self, *, cookies: bool | None = None, limit: int | None = None) -> None:
        self.cookies = bool(sl_settings.SHARED_ADDRESS_COOKIES if cookies is None else cookies)
        self.limit = int(sl_settings.SHARED_ADDRESS_MAX_CLIENTS if limit is None else limit)
        self._known: dict[str, set[str]] = {}

    def keys(self, ip: str | None, cookie: str = "", user_id: Any = None) -> tuple[str, str | None]:
        """(the key the request is judged as, the cookie client's key that also records it, or None)."""
        if user_id:
            return f"u:{user_id}", None
        address = ip_key(ip)
        if not cookie or not self.cookies:
            return address, None
        hashed = cookie_hash(cookie)
        known = self._known.get(address)
        if known is None:
            known = self._known[address] = set()
        if hashed in known:
            return person_key(address, hashed), None
        if len(known) >= self.limit:
            return address, None   # no room: the address's, now and later
        known.add(hashed)
        return address, person_key(address, hashed)


@derived
def _cookie_names() -> tuple[str, ...]:
    from django.conf import settings

    names = [getattr(settings, "SESSION_COOKIE_NAME", "sessionid"), getattr(settings, "CSRF_COOKIE_NAME", "csrftoken")]
    return tuple(n for n in names if isinstance(n, str) and n)


@functools.lru_cache(maxsize=8192)
def parse_ip(value: str | None) -> IPAddress | None:
    """Parse one address as found in REMOTE_ADDR or an X-Forwarded-For item.

    Accepts ``1.2.3.4``, ``1.2.3.4:5678``, ``[2001:db8::1]``, ``[2001:db8::1]:443``
    and IPv4-mapped IPv6 (returned as IPv4).  Anything else returns None.
    """
    if not value:
        return None
    text = value.strip()
    if len(text) > 64:
        return None
    if text.startswith("["):
        end = text.find("]")
        if end == -1:
            return None
        text = text[1:end]
    elif text.count(":") == 1:  # IPv4 with port
        text = text.split(":", 1)[0]
    if "%" in text:  # zone index
        text = text.split("%", 1)[0]
    return _address(text)


@functools.lru_cache(maxsize=4096)
def _address(text: str) -> IPAddress | None:
    """The parsed address (immutable, so shared): parsing costs more than the
    rest of the client's resolution, and a site's clients come back (bounded:
    addresses an attacker rotates through only evict entries)."""
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


#: An IPv4 address exactly as :mod:`ipaddress` writes one (four decimal octets ≤ 255, no leading
#: zero, nothing around it): such a text is its own ``str(ip_address(text))``.  Anchored, no nested
#: repetition: linear in the text, which is at most 15 characters when it matches.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_PLAIN_V4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


@functools.lru_cache(maxsize=8192)
def address_text(value: str | None) -> str | None:
    """``str(parse_ip(value))``, None for no address: remembered like the parse, because
    ``str()`` of an address object formats it afresh each time (most of a direct request's IP cost).
    A plain IPv4 address is its own text: a new client's address is not parsed into an object for it."""
    if value.__class__ is str and _PLAIN_V4.fullmatch(value):
        return value
    addr = parse_ip(value)
    return str(addr) if addr else None


@functools.lru_cache(maxsize=8192)
def _ip_key_cached(ip: str, prefix: int) -> str:
    if ip.__class__ is str and _PLAIN_V4.fullmatch(ip):   # a plain IPv4 address: its own text (address_text)
        return f"ip:{ip}"
    addr = parse_ip(ip)
    if addr is None:
        return "ip:unknown"
    if isinstance(addr, ipaddress.IPv6Address) and prefix < 128:
        net = ipaddress.IPv6Network((int(addr), prefix), strict=False)
        return f"ip:{net.network_address}/{prefix}"
    return f"ip:{addr}"


def ip_key(ip: str | None) -> str:
    """The client key of an IP address (IPv6 masked to the configured prefix)."""
    if not ip:
        return "ip:unknown"
    return _ip_key_cached(ip, int(sl_settings.IPV6_PREFIX_LENGTH))


def parse_networks(values: Iterable[Any]) -> tuple[IPNetwork, ...]:
    """Parse CIDR strings; invalid entries are dropped (the checks report them)."""
    nets = []
    for value in values or ():
        try:
            nets.append(ipaddress.ip_network(str(value).strip(), strict=False))
        except ValueError:
            continue
    return tuple(nets)


@derived
def trusted_networks() -> tuple[IPNetwork, ...]:
    return parse_networks(sl_settings.TRUSTED_PROXIES)


@derived
def allowed_networks() -> tuple[IPNetwork, ...]:
    return parse_networks(sl_settings.ALLOW_IPS)


def _in(addr: IPAddress, nets: tuple[IPNetwork, ...]) -> bool:
    return any(addr.version == n.version and addr in n for n in nets)


def resolve_ip(meta: dict[str, Any]) -> str | None:
    """The client IP of a request, from its WSGI/ASGI ``META``."""
    count = sl_settings.TRUSTED_PROXY_COUNT
    nets = trusted_networks()
    if not count and not nets:
        return address_text(meta.get("REMOTE_ADDR"))
    remote_text = meta.get("REMOTE_ADDR")
    remote = parse_ip(remote_text)
    forwarded = meta.get("HTTP_X_FORWARDED_FOR")
    if not forwarded or not isinstance(forwarded, str):
        return address_text(remote_text)
    hops = [h.strip() for h in forwarded.split(",")][-64:]

    if nets:
        # Walk from the right past every hop inside a trusted network; the
        # first address outside them is the client.
        if remote is None or not _in(remote, nets):
            return address_text(remote_text)
        current = remote
        for raw in reversed(hops):
            addr = parse_ip(raw)
            if addr is None:
                break  # garbage: stop at the last address we could trust
            current = addr
            if not _in(addr, nets):
                break
        return str(current)

    # A fixed number of proxies: each appended the address it saw, so the
    # client is the count-th entry from the right.  Fewer entries than proxies
    # means the request did not come through all of them.
    if len(hops) < count:
        return address_text(remote_text)
    return address_text(hops[-count]) or address_text(remote_text)


def _certainly_anonymous(request: Any, user: Any) -> bool:
    """True when ``request.user`` is AuthenticationMiddleware's lazy user, not
    evaluated yet, and the request carries no session key.

    Django's session authentication can only resolve such a user to
    AnonymousUser, so the session and auth lookups it would run (tens of µs,
    and more with a custom backend) are skipped for the commonest request of
    all: an anonymous one whose view never looks at the user.  Anything else —
    a user already evaluated or set by another middleware (RemoteUser, token
    middlewares), a session key from a cookie or a header — is resolved as usual.
    """
    # object.__getattribute__: LazyObject's own __getattribute__ is a Python function (a frame per read)
    if type(user) is not SimpleLazyObject or _get_attribute(user, "_wrapped") is not empty:
        return False
    session = getattr(request, "session", None)
    return session is not None and getattr(session, "session_key", True) is None


def anonymous_client(ip: str | None, cookie: str | None) -> Client:
    """The :class:`Client` of an anonymous request from ``ip`` with site cookie ``cookie``.

    Remembered per (address, cookie): a site's visitors come back request after request, and the
    frozen dataclass sets each of its six fields through ``object.__setattr__`` (a few thousand
    instructions a request).  A client is immutable (a re-keyed one is a ``dataclasses.replace``
    copy), so sharing it between requests is safe.  Bounded, emptied when full (an attacker rotating
    addresses only empties it), and anew when the settings change (``IPV6_PREFIX_LENGTH`` makes keys).
    """
    memo = _anonymous_clients()
    found = memo.get((ip, cookie))
    if found is None:
        if len(memo) >= _ANONYMOUS_MAX:
            memo.clear()
        found = memo[(ip, cookie)] = Client(key=ip_key(ip), ip=ip, user_id=None, authenticated=False,
                                            is_staff=False, cookie=cookie)
    return found


@derived
def _anonymous_clients() -> dict[tuple[str | None, str | None], Client]:
    return {}


_ANONYMOUS_MAX = 8192


_get_attribute = object.__getattribute__


def resolve_client(request: Any) -> Client:
    """Resolve (and memoise on the request) who sent ``request``."""
    cached = getattr(request, "_smartlayer_client", None)
    if cached is not None:
        return cached
    ip = resolve_ip(request.META)
    user = getattr(request, "user", None)
    authenticated = False
    user_id = None
    is_staff = False
    try:
        if user is not None and not _certainly_anonymous(request, user) and user.is_authenticated:
            authenticated = True
            user_id = str(user.pk)
            is_staff = bool(getattr(user, "is_staff", False))
    except Exception:  # a broken auth backend must not break the site
        authenticated = False
    cookie = None
    if not authenticated and "HTTP_COOKIE" in request.META:
        try:
            cookie = cookie_id(request.COOKIES)
        except Exception:  # noqa: BLE001 - a malformed cookie header means no cookie identity
            cookie = None
    if not authenticated and user_id is None:   # the commonest request: an anonymous visitor
        client = anonymous_client(ip, cookie)
    else:   # (an auth backend failing half-way leaves a user id on an anonymous client, as it always did)
        key = f"u:{user_id}" if authenticated else ip_key(ip)
        client = Client(key=key, ip=ip, user_id=user_id, authenticated=authenticated, is_staff=is_staff,
                        cookie=cookie)
    try:
        request._smartlayer_client = client
    except AttributeError:
        pass
    return client
