"""Turn a refusing decision into an HTTP response, and into a line on the ``smartlayer`` logger.

Clients that ask for JSON get ``{"error": ..., "reason": ...}``; everyone else a
short plain-text page.  The reason shown is the component's public reason
("suspicious activity", "rate limit exceeded"): the rules that fired and the
scores go to the request log, not to the attacker.

The refusal of an active ban (component ``"ban"``) also says until when: the
end of the ban in the body (``"until"``, ISO 8601 in UTC; ``null`` for a
permanent ban) and the seconds left in ``Retry-After`` (none when permanent).
That is public: a client may well know how long it is refused — why it is,
stays in the log.
"""
from __future__ import annotations

import functools
import logging
import math
import time
from datetime import UTC, datetime
from typing import Any

from django.http import HttpResponse, JsonResponse

from ..request.decision import Decision
from ..state.failures import logger

_TITLES = {403: "Forbidden", 429: "Too Many Requests", 503: "Service Unavailable"}
_ERRORS = {403: "forbidden", 429: "too_many_requests", 503: "unavailable"}


def wants_json(request: Any) -> bool:
    meta = request.META
    accept = meta.get("HTTP_ACCEPT", "")
    ctype = meta.get("CONTENT_TYPE", "")
    return ("json" in accept and "text/html" not in accept) or "json" in ctype or \
        meta.get("HTTP_X_REQUESTED_WITH", "") == "XMLHttpRequest"


_UNKNOWN = object()


def iso_utc(when: datetime | float) -> str:
    """``2026-12-02T22:00:00Z``: a moment as clients and operators are shown
    it, in whole seconds rounded up — an "until" is never early, and the
    refusal and ``smartlayer_bans list`` show a ban's end alike."""
    stamp = when.timestamp() if isinstance(when, datetime) else when
    return _iso_second(math.ceil(stamp))


@functools.lru_cache(maxsize=1024)
def _iso_second(second: int) -> str:
    """:func:`iso_utc` of a whole second, remembered: every refusal of a banned client shows the
    same end of its ban, and formatting it (``fromtimestamp`` + ``strftime``, ~1.8 µs) cost
    more than the rest of the refusal's page; a lookup costs ~0.06 µs.  Bounded: the bans
    refused lately, not one entry per request."""
    return datetime.fromtimestamp(second, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ban_end(decision: Decision) -> Any:
    """The end of a ban refusal's ban as ``(unix time, ISO 8601 UTC of the second it ends in)``,
    ``None`` when permanent, or ``_UNKNOWN``: not a ban, or an expiry that is
    not a usable time (a cache entry is data; nothing is made up from it).

    ``Retry-After`` counts from the exact time: counted from the rounded-up second, a ban ending
    10 ms from now asked for 2 s whenever those 10 ms crossed a second's boundary."""
    if decision.component != "ban" or "expires" not in decision.details:
        return _UNKNOWN
    expires = decision.details["expires"]
    if expires is None:
        return None
    if isinstance(expires, bool) or not isinstance(expires, (int, float)):
        return _UNKNOWN
    try:
        return expires, iso_utc(math.ceil(expires))
    except (ValueError, OverflowError, OSError):  # nan, inf, beyond year 9999
        return _UNKNOWN


def render(request: Any, decision: Decision) -> HttpResponse:
    status = decision.status
    reason = decision.public_reason or _TITLES.get(status, "refused")
    end = _ban_end(decision)
    until = end[1] if isinstance(end, tuple) else None
    if wants_json(request):
        body: dict[str, Any] = {"error": _ERRORS.get(status, "refused"), "reason": reason}
        if end is not _UNKNOWN:
            body["until"] = until
        response: HttpResponse = JsonResponse(body, status=status)
    else:
        title = _TITLES.get(status, "Refused")
        suffix = "" if end is _UNKNOWN else f" until {until}" if until else " (permanent)"
        response = HttpResponse(f"{status} {title}: {reason}{suffix}\n", status=status,
                                content_type="text/plain; charset=utf-8")
    for name, value in decision.headers.items():
        response[name] = value
    if isinstance(end, tuple):
        response["Retry-After"] = str(max(1, math.ceil(end[0] - time.time())))
    response["Cache-Control"] = "no-store"
    return response


def log_refusal(ctx: Any, decision: Decision) -> None:
    """Every refusal on the ``smartlayer`` logger (INFO), with the fields as ``extra``
    for structured log handlers.  Monitor-mode decisions say so."""
    if not logger.isEnabledFor(logging.INFO):
        return
    logger.info(
        "smartlayer: %s %s %s %s by %s: %s (%s)", "would refuse" if decision.monitor else "refused",
        ctx.client.key, ctx.method, ctx.path[:200], decision.component, decision.reason,
        ", ".join(decision.reasons[:5]),
        extra={"smartlayer": {"client": ctx.client.key, "component": decision.component,
                              "action": decision.action.value, "reason": decision.reason,
                              "reasons": decision.reasons, "status": decision.status, "monitor": decision.monitor}},
    )
