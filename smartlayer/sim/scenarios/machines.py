"""Benign machines: an API client at its usual pace, a customer using its quota, a polite crawler."""
from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator

from .. import TrafficRecord
from .common import (
    API_UAS,
    CRAWLER_UAS,
    JSON_TYPE,
    Actor,
    _token,
)

# ── benign: machines ──────────────────────────────────────────────────────
#: The plan of :func:`customer` and the quota it buys: what a replay's
#: ``RATE_LIMIT_PLANS`` must say for the plan to govern it.
CUSTOMER_PLAN = "premium"
CUSTOMER_ROUTE = "/api/orders/*"
CUSTOMER_PER_MINUTE = 50


def customer(rng: random.Random, actor: Actor, *, per_minute: int = CUSTOMER_PER_MINUTE,
             bursts_per_day: tuple[int, int] = (3, 12)) -> Iterator[TrafficRecord]:
    """A paying customer's integration using the quota it bought: bursts at once.

    A few times a day it sends a batch of 30–120 requests as fast as its
    workers go (a nightly sync, a user's bulk action) to the routes its plan
    covers; what passes the per-minute quota is answered ``429`` — the
    quota at work, as the site's rate limiter answers.  Measured with a
    real customer before plans governed: 35 × 200, 85 × 403 and a ban.
    """
    site = actor.site
    uid = actor.new_account()
    ua = rng.choice(API_UAS)
    days = max(1.0, (actor.end - actor.start) / 86400.0)
    starts = sorted(actor.start + rng.uniform(0.0, actor.end - actor.start - 120.0)
                    for _ in range(max(1, round(rng.randint(*bursts_per_day) * days))))
    minute, used, t_free = -1, 0, actor.start
    for start in starts:
        t = max(start, t_free + 60.0)
        for _ in range(rng.randint(30, 120)):
            if rng.random() < 0.7:
                path, query, method = "/api/orders/", f"status=new&since={int(t - 3600)}", "GET"
            else:
                path, query, method = f"/api/orders/{rng.randint(1, site.n_orders)}/", "", "GET"
            rec = actor.request(rng, t, method, path, ua, query=query, user_id=uid)
            rec.plan = CUSTOMER_PLAN
            if int(t // 60) != minute:
                minute, used = int(t // 60), 0
            used += 1
            if used > per_minute:
                rec.status, rec.bytes_sent = 429, 0
            yield rec
            t += rng.uniform(0.005, 0.08)
        t_free = t


def api_client(rng: random.Random, actor: Actor, *, interval: float | None = None,
               batch: tuple[int, int] = (1, 6)) -> Iterator[TrafficRecord]:
    """A partner integration: a token once a day, then small batches of
    authenticated API calls on a timer, with a library user agent."""
    site = actor.site
    uid = actor.new_account()
    ua = rng.choice(API_UAS)
    every = interval or rng.choice((120.0, 300.0, 600.0, 900.0))
    t = actor.start + rng.uniform(0.0, every)
    token_until = -math.inf
    cursor = 1
    while True:
        out = []
        if t >= token_until:
            body = json.dumps({"client_id": actor.client_id, "client_secret": _token(rng)})
            out.append(actor.request(rng, t, "POST", site.api_token_path, ua, body=body,
                                     content_type=JSON_TYPE, login_ok=True))
            token_until = t + 86400.0
            t += rng.uniform(0.1, 0.5)
        for _ in range(rng.randint(*batch)):
            r = rng.random()
            body, ctype, method, query = "", "", "GET", ""
            if r < 0.35:
                path, query = "/api/orders/", f"status=new&since={int(t - every)}"
            elif r < 0.6:
                path, query = "/api/stock/", f"sku=SKU-{site.popular_product(rng):05d}"
            elif r < 0.8:
                path, query = "/api/products/", f"page={cursor}&page_size=100"
                cursor = cursor % 20 + 1
            elif r < 0.95:
                path = f"/api/orders/{rng.randint(1, site.n_orders + 100)}/"
            else:
                path, method, ctype = "/api/orders/", "POST", JSON_TYPE
                body = json.dumps({"sku": f"SKU-{site.popular_product(rng):05d}", "quantity": rng.randint(1, 5)})
            out.append(actor.request(rng, t, method, path, ua, query=query, body=body,
                                     content_type=ctype, user_id=uid))
            t += rng.uniform(0.05, 0.8)
        yield from out
        t += every * rng.uniform(0.9, 1.1)


def crawler(rng: random.Random, actor: Actor, *, delay: tuple[float, float] = (2.0, 10.0),
            pages: int | None = None, gap_hours: tuple[float, float] = (4.0, 20.0)) -> Iterator[TrafficRecord]:
    """A polite search-engine bot: reads robots.txt and the sitemap, fetches
    only allowed URLs one every ``delay`` seconds, comes back hours later."""
    site = actor.site
    ua = rng.choice(CRAWLER_UAS)
    urls = site.sitemap_urls()
    t = actor.start + rng.uniform(0.0, 1800.0)
    while True:
        yield actor.request(rng, t, "GET", "/robots.txt", ua, cached=rng.random() < 0.5)
        t += rng.uniform(*delay)
        yield actor.request(rng, t, "GET", "/sitemap.xml", ua)
        for path in rng.sample(urls, min(len(urls), pages or rng.randint(150, 900))):
            if not site.allowed_by_robots(path):
                continue
            t += rng.uniform(*delay)
            yield actor.request(rng, t, "HEAD" if rng.random() < 0.03 else "GET", path, ua)
        t += rng.uniform(*gap_hours) * 3600.0
