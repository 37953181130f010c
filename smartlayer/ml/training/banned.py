"""When each client was banned: the request-log rows training leaves out.

A ban is in force over ``[created_at, end)`` with ``end = min(lifted_at,
expires_at)`` (either may be empty).  A banned client's requests during that
time were refused or are not "normal"; its requests before the ban and after
the lift are the traffic the model should learn, and leaving them out too once
emptied a whole training run.

The intervals of one key are merged and sorted once, so a row is checked
with one dict lookup and, for a key that was ever banned, one bisection:
``O(log bans of that key)``.
"""
from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ...request.client import COOKIE_MARK

#: Later than any timestamp: the end of a ban that was neither lifted nor given an expiry.
FOREVER = datetime.max


class Intervals:
    """Merged, sorted half-open intervals ``[start, end)`` of one key."""

    __slots__ = ("starts", "ends")

    def __init__(self, spans: Iterable[tuple[Any, Any]]) -> None:
        starts: list[Any] = []
        ends: list[Any] = []
        for start, end in sorted(spans, key=lambda s: s[0]):
            if not start < end:
                continue
            if ends and start <= ends[-1]:
                if end > ends[-1]:
                    ends[-1] = end
            else:
                starts.append(start)
                ends.append(end)
        self.starts, self.ends = starts, ends

    def covers(self, t: Any) -> bool:
        i = bisect_right(self.starts, t) - 1
        return i >= 0 and t < self.ends[i]


class BanIntervals:
    """The bans in force at some time of a training window, by client key and
    by IP address.

    By key: every ban.  By IP: bans of an IP key (``ip:…``) that carry the
    address, because online such a ban also refuses the users signed in from
    that address (:func:`smartlayer.state.bans.lookup_keys`); a user's ban does not
    cover other clients at the user's address.
    """

    def __init__(self, bans: Iterable[tuple[str, str | None, datetime, datetime | None, datetime | None]]) -> None:
        by_key: dict[str, list] = defaultdict(list)
        by_ip: dict[str, list] = defaultdict(list)
        for client_key, ip, created, lifted, expires in bans:
            ends = [e for e in (lifted, expires) if e is not None]
            span = (created, min(ends) if ends else _forever(created))
            by_key[client_key].append(span)
            if ip and client_key.startswith("ip:") and COOKIE_MARK not in client_key:  # an address, not one client behind it
                by_ip[ip].append(span)
        self.by_key = {k: Intervals(v) for k, v in by_key.items()}
        self.by_ip = {k: Intervals(v) for k, v in by_ip.items()}

    @classmethod
    def between(cls, since: datetime, until: datetime) -> BanIntervals:
        """The bans in force at some time in ``[since, until)`` (one query)."""
        from django.db.models import Q

        from ...models import Ban

        overlapping = (Ban.objects.filter(created_at__lt=until)
                       .filter(Q(lifted_at__isnull=True) | Q(lifted_at__gt=since))
                       .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=since)))
        return cls(overlapping.values_list("client_key", "ip_address", "created_at", "lifted_at", "expires_at")
                   .iterator())

    def __bool__(self) -> bool:
        return bool(self.by_key)

    def covers(self, client_key: str, ip: str | None, t: datetime) -> bool:
        """Was a ban of this client (or of its address) in force at ``t``?"""
        spans = self.by_key.get(client_key)
        if spans is not None and spans.covers(t):
            return True
        spans = self.by_ip.get(ip) if ip else None
        return spans is not None and spans.covers(t)


def _forever(like: datetime) -> datetime:
    """:data:`FOREVER` with ``like``'s time zone, so the two compare."""
    return FOREVER.replace(tzinfo=like.tzinfo)
