"""Turn a refusing decision into an HTTP response.

Clients that ask for JSON get ``{"error": ..., "reason": ...}``; everyone else a
short plain-text page.  The reason shown is the component's public reason
("suspicious activity", "rate limit exceeded"): the rules that fired and the
scores go to the request log, not to the attacker.
"""
from __future__ import annotations

from typing import Any

from django.http import HttpResponse, JsonResponse

from .decisions import Decision

_TITLES = {403: "Forbidden", 429: "Too Many Requests", 503: "Service Unavailable"}
_ERRORS = {403: "forbidden", 429: "too_many_requests", 503: "unavailable"}


def wants_json(request: Any) -> bool:
    meta = request.META
    accept = meta.get("HTTP_ACCEPT", "")
    ctype = meta.get("CONTENT_TYPE", "")
    return ("json" in accept and "text/html" not in accept) or "json" in ctype or \
        meta.get("HTTP_X_REQUESTED_WITH", "") == "XMLHttpRequest"


def render(request: Any, decision: Decision) -> HttpResponse:
    status = decision.status
    reason = decision.public_reason or _TITLES.get(status, "refused")
    if wants_json(request):
        response: HttpResponse = JsonResponse({"error": _ERRORS.get(status, "refused"), "reason": reason},
                                              status=status)
    else:
        title = _TITLES.get(status, "Refused")
        response = HttpResponse(f"{status} {title}: {reason}\n", status=status,
                                content_type="text/plain; charset=utf-8")
    for name, value in decision.headers.items():
        response[name] = value
    response["Cache-Control"] = "no-store"
    return response
