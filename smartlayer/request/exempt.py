"""The one definition of "exempt": requests smartlayer logs but never inspects, limits or scores.

An exempt request is on a path under ``EXEMPT_PATHS`` or comes from an
address inside ``ALLOW_IPS``.  The middleware never puts it in a window, so
training must leave it out of the windows it rebuilds too — otherwise an
allow-listed uptime monitor, polling every few seconds, would teach the model
that polling is normal.  Both call :func:`is_exempt`.

A view can opt out too, of every inspection or of named middlewares:
:func:`smartlayer_exempt`.  The middlewares ask :func:`view_exemptions`.
"""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

from ..conf import derived, sl_settings
from .client import _in, allowed_networks, parse_ip


@derived
def exempt_prefixes() -> tuple[str, ...]:
    return tuple(str(p) for p in sl_settings.EXEMPT_PATHS or ())


def is_allowlisted_ip(ip: str | None) -> bool:
    """True when ``ip`` is inside ``ALLOW_IPS``."""
    nets = allowed_networks()
    if not nets or not ip:
        return False
    addr = parse_ip(str(ip))
    return addr is not None and _in(addr, nets)


def is_exempt(path: str, ip: str | None) -> bool:
    """Never inspected: an exempt path, or a client address inside ``ALLOW_IPS``."""
    return path.startswith(exempt_prefixes()) or is_allowlisted_ip(ip)


# ── per-view exemption ─────────────────────────────────────────────────────
#: The middlewares a view can opt out of, by component name.
COMPONENTS = ("anomaly", "validator", "ratelimit", "watchlog")
#: What ``@smartlayer_exempt`` (no names) opts out of: everything but the log,
#: as for an ``EXEMPT_PATHS`` prefix — the request is recorded, never inspected.
INSPECTING = frozenset(("anomaly", "validator", "ratelimit"))
VIEW_ATTR = "smartlayer_exempt"
_NONE: frozenset[str] = frozenset()
_decorated = False
_loaded: set[str] = set()
_resolved: dict[tuple[str, str], frozenset[str]] = {}
_RESOLVED_MAX = 2048


def smartlayer_exempt(*components: Any) -> Any:
    """Opt one view out of smartlayer's middlewares.

    ``@smartlayer_exempt`` or ``@smartlayer_exempt()``: the view is never
    inspected (no ban check, behaviour rules, model, payload scan or quota),
    and still logged — like a path under ``EXEMPT_PATHS``.  With names, only
    those: ``@smartlayer_exempt("validator")`` for a view that receives code
    or SQL in its body on purpose; ``"watchlog"`` also keeps it out of the
    request log.  Works on function views and view classes.

    The middlewares run before Django resolves the URL, so they resolve it
    themselves — only once a decorated view exists, and cached per path.
    """
    if len(components) == 1 and callable(components[0]):
        return smartlayer_exempt()(components[0])
    names = frozenset(str(c) for c in components) or INSPECTING
    unknown = sorted(names.difference(COMPONENTS))
    if unknown:
        raise ValueError(f"smartlayer_exempt: unknown component(s) {unknown}; known: {list(COMPONENTS)}")

    def mark(view: Any) -> Any:
        global _decorated
        setattr(view, VIEW_ATTR, names)
        _decorated = True
        _resolved.clear()
        return view

    return mark


@derived
def root_urlconf() -> Any:
    """``settings.ROOT_URLCONF``, read once per settings generation and again after a change of it
    (:func:`_on_setting_changed`): Django's lazy settings answer every read through a Python
    ``__getattribute__``, which every request paid here."""
    return settings.ROOT_URLCONF


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "ROOT_URLCONF":
        root_urlconf.cache_clear()  # type: ignore[attr-defined]


setting_changed.connect(_on_setting_changed, dispatch_uid="smartlayer.request.exempt.root_urlconf")


def view_exemptions(request: Any) -> frozenset[str]:
    """The components the view of ``request`` opted out of (empty when none did).

    Costs a set lookup until some view is decorated.  Each URLconf is
    imported on its first request here, so a decoration in it is known from
    that request on (Django itself imports it only after the middlewares ran).
    """
    urlconf = getattr(request, "urlconf", None) or root_urlconf()
    name = str(urlconf)
    if name not in _loaded:
        _loaded.add(name)
        _load_urlconf(urlconf)
    if not _decorated:
        return _NONE
    path = getattr(request, "path_info", None) or request.path
    key = (name, path)
    found = _resolved.get(key)
    if found is None:
        found = _lookup(path, urlconf)
        if len(_resolved) >= _RESOLVED_MAX:  # attacker-chosen paths: bounded, never grows
            _resolved.clear()
        _resolved[key] = found
    return found


def _lookup(path: str, urlconf: Any) -> frozenset[str]:
    from django.urls import Resolver404, resolve

    try:
        func = resolve(path, urlconf).func
    except Resolver404:
        return _NONE
    except Exception:  # noqa: BLE001 - a broken URLconf is Django's to report, not ours
        return _NONE
    names = getattr(func, VIEW_ATTR, None)
    if names is None:
        names = getattr(getattr(func, "view_class", None), VIEW_ATTR, None)
    return names or _NONE


def _load_urlconf(urlconf: Any) -> None:
    try:
        from django.urls import get_resolver

        get_resolver(urlconf).url_patterns  # noqa: B018 - imports the URLconf, which runs the decorators
    except Exception:  # noqa: BLE001
        pass


def reset_view_exemptions() -> None:
    """Forget resolved paths (tests that swap the URLconf)."""
    _resolved.clear()
    _loaded.clear()
