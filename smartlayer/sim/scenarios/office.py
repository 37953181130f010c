"""Colleagues behind one address: an office NAT, each person with the site's own cookie.

Measured with real people: twenty colleagues browsing at one to five seconds
between pages, each with their own cookies, were all refused within 15 s as
one flooding client.  Here an office is one actor whose people share its
address and differ by the cookie the site gave each of them (the record's
``cookie``; a person's very first request carries none yet).

By default a colleague reads a page as people do (a lognormal think time
around a few seconds, as the ``human`` scenario); ``gap=(1, 5)`` gives the
hurried office of the measurement, the stress case for the rate rules.
"""
from __future__ import annotations

import heapq
import random
from collections.abc import Iterator

from .. import TrafficRecord
from .common import BROWSER_UAS, Actor, _token, activity, page_telemetry

#: Working hours (UTC) in which an office browses.
_OFFICE_HOURS = (8, 18)


def office(rng: random.Random, actor: Actor, *, people: int | None = None,
           gap: tuple[float, float] | None = None, sessions: tuple[int, int] = (2, 6),
           pages: tuple[int, int] = (3, 20)) -> Iterator[TrafficRecord]:
    """``people`` colleagues (10–25) browsing through the working day.

    ``gap``: seconds between pages, uniform in the range; None (default) draws a
    person's think time as people read (median 4–15 s, lognormal, at least 0.8 s).
    """
    n = people or rng.randint(10, 25)
    actor.browser = True
    streams = [_colleague(random.Random(rng.getrandbits(64)), actor, _token(rng), gap, sessions, pages)
               for _ in range(n)]
    yield from heapq.merge(*streams, key=lambda r: r.ts)


def _workday_starts(rng: random.Random, actor: Actor, count: int) -> list[float]:
    """``count`` session starts inside working hours of the actor's window."""
    lo, hi = _OFFICE_HOURS
    days = [d for d in range(int(actor.start // 86400), int(actor.end // 86400) + 1)
            if (d + 3) % 7 < 5]  # weekdays (1970-01-01 was a Thursday)
    starts = []
    for _ in range(count * max(1, len(days))):
        day = rng.choice(days) if days else int(actor.start // 86400)
        t = day * 86400 + rng.uniform(lo * 3600, hi * 3600)
        if actor.start <= t < actor.end - 900 and rng.random() < max(0.3, activity(t)):
            starts.append(t)
    return sorted(starts)


def _colleague(rng: random.Random, actor: Actor, cookie: str, gap: tuple[float, float] | None,
               sessions: tuple[int, int], pages: tuple[int, int]) -> Iterator[TrafficRecord]:
    site, ua = actor.site, rng.choice(BROWSER_UAS)
    think = rng.uniform(4.0, 15.0)
    known = False  # the first request of the first visit carries no cookie yet
    t_free = -1.0
    for start in _workday_starts(rng, actor, rng.randint(*sessions)):
        t = max(start, t_free + 60.0)
        path, query = site.landing_page(rng)
        referer = ""
        for _ in range(rng.randint(*pages)):
            rec = actor.request(rng, t, "GET", path, ua, query=query, referer=referer)
            rec.cookie = cookie if known else ""
            known = True
            yield rec
            t += rec.response_ms / 1000.0
            if rec.status == 200:
                url = site.url(path, query)
                for asset in site.page_assets(rng, path, cold=False):
                    t += rng.uniform(0.01, 0.2)
                    a = actor.request(rng, t, "GET", asset, ua, referer=url, cached=rng.random() < 0.5)
                    a.cookie = cookie
                    yield a
                referer = url
            until = t + (rng.uniform(*gap) if gap else min(600.0, max(0.8, think * rng.lognormvariate(0.0, 0.8))))
            if rec.status == 200:
                for b in page_telemetry(rng, actor, t, until, ua, referer):
                    b.cookie = cookie
                    yield b
            t = until
            path, query = site.next_page(rng, path)
        t_free = t
