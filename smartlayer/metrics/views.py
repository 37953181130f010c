"""The exposition view: every process's figures, to staff or an allowed address only."""
from __future__ import annotations

import os
from typing import Any

from django.http import HttpResponse

from ..conf import derived, sl_settings
from ..request.client import _in, parse_ip, resolve_client
from ..state import prom


@derived
def _allowed_networks() -> tuple:
    import ipaddress

    nets = []
    for net in sl_settings.METRICS_ALLOW_IPS or ():
        try:
            nets.append(ipaddress.ip_network(str(net), strict=False))
        except ValueError:
            continue  # reported by system check E005
    return tuple(nets)


def may_read(request: Any) -> bool:
    """Staff users, or a client address inside ``METRICS_ALLOW_IPS`` (through trusted proxies only)."""
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False) and getattr(user, "is_staff", False):
        return True
    ip = resolve_client(request).ip
    addr = parse_ip(ip) if ip else None
    return addr is not None and _in(addr, _allowed_networks())


def metrics(request: Any) -> HttpResponse:
    if not may_read(request):
        return HttpResponse("forbidden\n", status=403, content_type="text/plain")
    if not prom.instruments():   # created now if nothing was counted yet: every series is listed
        return HttpResponse("smartlayer metrics need the metrics extra: pip install 'django-smartlayer[metrics]'\n",
                            status=501, content_type="text/plain")
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
