"""Hostile actors: scrapers, bursts, credential stuffing, enumeration, scanners, slow drip, distributed."""
from __future__ import annotations

import json
import random
from collections.abc import Iterator

from .. import TrafficRecord
from ..sitemap import SiteMap
from .common import (
    _LEAKED_PASSWORDS,
    _PHP_WORDS,
    _QUERY_TARGETS,
    API_UAS,
    BROWSER_UAS,
    FORM_TYPE,
    JSON_TYPE,
    PAYLOADS,
    PROBE_PATHS,
    SCANNER_UAS,
    SCRAPER_TOOL_UAS,
    Actor,
    _email,
    _encode_query,
    _form,
)


# ── hostile ───────────────────────────────────────────────────────────────
def scraper(rng: random.Random, actor: Actor, *, requests: int | None = None,
            delay: tuple[float, float] | None = None, rotate_ua: bool | None = None) -> Iterator[TrafficRecord]:
    """Copies the catalogue: listing pages, then every product on them, fast.

    Mostly browser user agents (rotated by most), no assets, sometimes a
    spoofed referer, sometimes through the public API instead of HTML.
    """
    site = actor.site
    n = requests or rng.randint(400, 2500)
    lo, hi = delay or rng.choice(((0.15, 0.6), (0.4, 1.5), (1.0, 3.5)))
    rotate = rng.random() < 0.7 if rotate_ua is None else rotate_ua
    pool = list(rng.sample(BROWSER_UAS, 5))
    if rng.random() < 0.4:
        pool.append(rng.choice(SCRAPER_TOOL_UAS))
    ua = rng.choice(pool)
    via_api = rng.random() < 0.25
    spoof_referer = rng.random() < 0.4
    t = actor.pick_start(rng, n * (lo + hi) / 2)
    sent = 0
    if rng.random() < 0.5:
        yield actor.request(rng, t, "GET", "/", ua)
        t += rng.uniform(lo, hi)
    for slug in rng.sample(site.categories, len(site.categories)):
        for page in range(1, site.listing_pages(slug) + 1):
            if via_api:
                path, query = "/api/products/", f"category={slug}&page={page}"
            else:
                path, query = f"/category/{slug}/", (f"page={page}" if page > 1 else "")
            yield actor.request(rng, t, "GET", path, ua, query=query)
            listing_url = site.url(path, query)
            ids = site.listing(slug, page)
            if rng.random() < 0.5:
                rng.shuffle(ids)
            for pid in ids:
                t += rng.uniform(lo, hi)
                if rotate and rng.random() < 0.3:
                    ua = rng.choice(pool)
                product = f"/api/products/{pid}/" if via_api else f"/products/{pid}/"
                yield actor.request(rng, t, "GET", product, ua, referer=listing_url if spoof_referer else "")
                sent += 1
                if sent >= n:
                    return
            t += rng.uniform(lo, hi)


def burst(rng: random.Random, actor: Actor, *, bursts: int | None = None, size: int | None = None,
          idle: tuple[float, float] = (2700.0, 7200.0)) -> Iterator[TrafficRecord]:
    """Looks like a visitor, goes quiet for most of an hour, then hammers one
    endpoint (stock check, add-to-cart, one product) dozens of times in seconds.

    Dozens means 30 to 80 requests in 3 to 12 s: the behaviour contract calls
    fewer than 20 requests in 10 s a normal rate, and never scores a client's
    first 20 requests, so a smaller "burst" is, by definition, ordinary traffic
    (it was 15 to 60 until 2026-11; the smallest were unscorable by design).
    """
    site = actor.site
    ua = rng.choice(BROWSER_UAS) if rng.random() < 0.6 else rng.choice(API_UAS)
    uid = actor.new_account() if rng.random() < 0.5 else None
    pid = site.popular_product(rng)
    targets = [("POST", "/cart/add/", ""), ("GET", f"/api/products/{pid}/", ""), ("GET", f"/products/{pid}/", "")]
    if uid is not None:
        targets.append(("GET", "/api/stock/", f"sku=SKU-{pid:05d}"))
    method, target, tquery = rng.choice(targets)
    n_bursts = bursts or rng.randint(1, 3)
    t = actor.pick_start(rng, 600.0 + n_bursts * (idle[1] + 30.0))
    path, query = site.landing_page(rng)
    for _ in range(rng.randint(3, 12)):
        yield actor.request(rng, t, "GET", path, ua, query=query, user_id=uid)
        t += rng.uniform(2.0, 45.0)
        path, query = site.next_page(rng, path)
    for _ in range(n_bursts):
        t += rng.uniform(*idle)
        k = size or rng.randint(30, 80)
        step = rng.uniform(3.0, 12.0) / k
        for _ in range(k):
            body = _form(rng, {"product_id": str(pid), "quantity": "1"}) if method == "POST" else ""
            yield actor.request(rng, t, method, target, ua, query=tquery, body=body,
                                content_type=FORM_TYPE if body else "", user_id=uid)
            t += step * rng.uniform(0.5, 1.5)


def credential_stuffing(rng: random.Random, actor: Actor, *, attempts: int | None = None,
                        ips: int | None = None, delay: tuple[float, float] | None = None,
                        success_rate: float = 0.01) -> Iterator[TrafficRecord]:
    """Leaked e-mail/password pairs against the login, from one or a few IPs.

    Form variant: failures re-render the form (200), the rare hit redirects
    (302); stuffers that skip the CSRF dance get 403s.  API variant: 401s.
    """
    site = actor.site
    addresses = [actor.ip] + actor.more_ips((ips or rng.choice((1, 1, 2, 3))) - 1)
    api = rng.random() < 0.4
    fetch_form = not api and rng.random() < 0.6
    csrf = fetch_form or rng.random() < 0.7
    n = attempts or rng.randint(150, 1200)
    lo, hi = delay or rng.choice(((0.4, 2.0), (1.5, 6.0), (5.0, 20.0)))
    uas = list(rng.sample(BROWSER_UAS, 3)) if rng.random() < 0.7 else [rng.choice(API_UAS)]
    t = actor.pick_start(rng, n * (lo + hi) / 2 + (n if fetch_form else 0))
    for i in range(n):
        ip = addresses[i % len(addresses)]
        ua = uas[i % len(uas)] if len(uas) == len(addresses) else rng.choice(uas)
        user, password = _email(rng), rng.choice(_LEAKED_PASSWORDS)
        ok = rng.random() < success_rate
        if api:
            body = json.dumps({"username": user, "password": password})
            yield actor.request(rng, t, "POST", site.api_login_path, ua, body=body, content_type=JSON_TYPE,
                                login_ok=ok, ip=ip)
        else:
            if fetch_form:
                yield actor.request(rng, t, "GET", site.login_path, ua, ip=ip)
                t += rng.uniform(0.2, 1.0)
            body = _form(rng, {"username": user, "password": password}, csrf=csrf)
            rec = actor.request(rng, t, "POST", site.login_path, ua, body=body, content_type=FORM_TYPE,
                                referer=site.url(site.login_path), login_ok=ok, ip=ip)
            yield rec
            if rec.status == 302:
                t += rng.uniform(0.1, 0.5)
                victim = str(rng.randint(1, site.n_users))
                yield actor.request(rng, t, "GET", "/account/", ua, user_id=victim, ip=ip)
        t += rng.uniform(lo, hi)


def enumeration(rng: random.Random, actor: Actor, *, count: int | None = None, first_id: int | None = None,
                template: str | None = None, delay: tuple[float, float] | None = None) -> Iterator[TrafficRecord]:
    """Walks consecutive IDs of a per-object API (``/api/users/1/``, ``2``, …)
    looking for objects it should not see — often with a real account."""
    template = template or rng.choice(("/api/users/{}/", "/api/users/{}/", "/api/orders/{}/"))
    uid = actor.new_account() if rng.random() < 0.75 else None
    ua = rng.choice(API_UAS[:4] + BROWSER_UAS[:3] + ("curl/8.5.0",))
    first = first_id if first_id is not None else rng.choice((1, 1, rng.randint(2, 400)))
    n = count or rng.randint(80, 600)
    lo, hi = delay or rng.choice(((0.2, 0.8), (0.8, 3.0)))
    t = actor.pick_start(rng, n * (lo + hi) / 2 + 60.0)
    yield actor.request(rng, t, "GET", "/api/me/" if uid else "/api/products/", ua, user_id=uid)
    t += rng.uniform(5.0, 40.0)
    for i in range(n):
        yield actor.request(rng, t, "GET", template.format(first + i), ua, user_id=uid)
        t += rng.uniform(lo, hi)
        if rng.random() < 0.03:
            yield actor.request(rng, t, "GET", "/api/products/", ua, query=f"page={rng.randint(1, 9)}", user_id=uid)
            t += rng.uniform(lo, hi)


def _probe(rng: random.Random, site: SiteMap) -> tuple[str, str, str, str, str]:
    """One scanner request: ``(method, path, query, body, content_type)``."""
    r = rng.random()
    if r < 0.55:
        return ("HEAD" if rng.random() < 0.1 else "GET"), rng.choice(PROBE_PATHS), "", "", ""
    if r < 0.75:
        return "GET", f"/{rng.choice(_PHP_WORDS)}.php", "", "", ""
    return _payload_query(rng, site) if r < 0.9 else _payload_body(rng, site)


def _payload_query(rng: random.Random, site: SiteMap) -> tuple[str, str, str, str, str]:
    path, name = rng.choice(_QUERY_TARGETS + ((f"/products/{site.popular_product(rng)}/", "ref"),))
    return "GET", path, _encode_query(rng, name, rng.choice(PAYLOADS)), "", ""


def _payload_body(rng: random.Random, site: SiteMap) -> tuple[str, str, str, str, str]:
    payload = rng.choice(PAYLOADS)
    r = rng.random()
    if r < 0.35:
        body = _form(rng, {"username": payload, "password": "x"}, csrf=rng.random() < 0.5)
        return "POST", site.login_path, "", body, FORM_TYPE
    if r < 0.6:
        body = _form(rng, {"email": "a@b.example", "message": payload}, csrf=rng.random() < 0.5)
        return "POST", "/contact/", "", body, FORM_TYPE
    if r < 0.85:
        return "POST", site.api_login_path, "", json.dumps({"username": payload, "password": "x"}), JSON_TYPE
    return "POST", "/api/orders/", "", json.dumps({"sku": payload, "note": payload}), JSON_TYPE


def vuln_scanner(rng: random.Random, actor: Actor, *, requests: int | None = None, tool: str | None = None,
                 delay: tuple[float, float] | None = None) -> Iterator[TrafficRecord]:
    """An automated scanner: sensitive files, ``.php`` probes and injection
    payloads in query strings and bodies.  Tools announce themselves in the
    user agent; the stealthy ones send a browser's, the lazy ones none."""
    site = actor.site
    tool = tool or rng.choice(tuple(SCANNER_UAS))
    uas = SCANNER_UAS[tool]
    ua = rng.choice(uas)
    n = requests or rng.randint(150, 600)
    lo, hi = delay or ((2.0, 15.0) if tool == "stealth" else rng.choice(((0.02, 0.3), (0.1, 1.0))))
    plan = [("GET", "/", "", "", ""), ("GET", "/robots.txt", "", "", "")]
    for i in range(n):
        if i < 3:  # every scan tries the well-known files and both payload channels
            plan.append(("GET", rng.choice(PROBE_PATHS), "", "", ""))
        elif i < 6:
            plan.append(_payload_query(rng, site))
        elif i < 9:
            plan.append(_payload_body(rng, site))
        elif tool == "sqlmap":
            plan.append(_payload_body(rng, site) if rng.random() < 0.4 else _payload_query(rng, site))
        else:
            plan.append(_probe(rng, site))
    head, rest = plan[:2], plan[2:]
    rng.shuffle(rest)
    t = actor.pick_start(rng, n * (lo + hi) / 2)
    for method, path, query, body, ctype in head + rest:
        if tool == "bare":
            ua = rng.choice(uas)
        yield actor.request(rng, t, method, path, ua, query=query, body=body, content_type=ctype)
        t += rng.uniform(lo, hi)


def slow_drip(rng: random.Random, actor: Actor, *, hours: float | None = None,
              interval: tuple[float, float] = (40.0, 90.0)) -> Iterator[TrafficRecord]:
    """About one request a minute for hours: sensitive paths, IDs walked one
    per minute, the odd payload, hidden among ordinary page views — below
    every per-minute threshold."""
    site = actor.site
    ua = rng.choice(BROWSER_UAS)
    uid = actor.new_account() if rng.random() < 0.5 else None
    span = (hours or rng.uniform(3.0, 8.0)) * 3600.0
    t = actor.pick_start(rng, span)
    stop = t + span
    next_id = rng.randint(1, 50)
    path = "/"
    while t < stop:
        r = rng.random()
        query = ""
        if r < 0.3:
            target = rng.choice(PROBE_PATHS)
        elif r < 0.6:
            target = f"/api/users/{next_id}/"
            next_id += 1
        elif r < 0.68:
            _, target, query, _, _ = _payload_query(rng, site)
        else:
            path, query = site.next_page(rng, path)
            target = path
        yield actor.request(rng, t, "GET", target, ua, query=query, user_id=uid)
        t += rng.uniform(*interval)


def distributed(rng: random.Random, actor: Actor, *, ips: int | None = None, per_ip: tuple[int, int] = (1, 6),
                hours: float | None = None, mode: str | None = None) -> Iterator[TrafficRecord]:
    """One operator behind many addresses (a botnet, rotating proxies): each
    address sends only a handful of requests, so no per-IP window sees much.
    ``mode`` is ``login`` (stuffing), ``scrape`` or ``probe``."""
    site = actor.site
    addresses = [actor.ip] + actor.more_ips((ips or rng.randint(40, 160)) - 1)
    mode = mode or rng.choice(("login", "scrape", "probe"))
    span = (hours or rng.uniform(2.0, 8.0)) * 3600.0
    t0 = actor.pick_start(rng, span)
    out: list[TrafficRecord] = []
    for ip in addresses:
        ua = rng.choice(BROWSER_UAS)
        t = t0 + rng.uniform(0.0, span * 0.9)
        for _ in range(rng.randint(*per_ip)):
            if mode == "login":
                body = _form(rng, {"username": _email(rng), "password": rng.choice(_LEAKED_PASSWORDS)})
                rec = actor.request(rng, t, "POST", site.login_path, ua, body=body, content_type=FORM_TYPE,
                                    referer=site.url(site.login_path), ip=ip)
            elif mode == "scrape":
                rec = actor.request(rng, t, "GET", f"/products/{rng.randint(1, site.n_products)}/", ua, ip=ip)
            else:
                method, path, query, body, ctype = _probe(rng, site)
                rec = actor.request(rng, t, method, path, ua, query=query, body=body, content_type=ctype, ip=ip)
            out.append(rec)
            t += rng.uniform(15.0, 240.0)
    out.sort(key=lambda r: r.ts)
    yield from out
