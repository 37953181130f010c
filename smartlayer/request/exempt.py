"""The one definition of "exempt": requests smartlayer logs but never inspects, limits or scores.

An exempt request is on a path under ``EXEMPT_PATHS`` or comes from an
address inside ``ALLOW_IPS``.  The middleware never puts it in a window, so
training must leave it out of the windows it rebuilds too — otherwise an
allow-listed uptime monitor, polling every few seconds, would teach the model
that polling is normal.  Both call :func:`is_exempt`.
"""
from __future__ import annotations

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
