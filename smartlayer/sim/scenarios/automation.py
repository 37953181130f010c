"""Browser automation: bots that drive a real browser engine, as they show in real sessions.

Both send a browser's user agent and headers (Accept, Sec-Fetch-*), never a tool's, stay far
below every rate rule and ask only for pages that exist.  What gives them away is how they
*browse*, the way it did in real logs of labelled sessions:

* ``moderate_bot`` — automation with a browser fingerprint working down a task list (prices,
  stock, listings): a page every 2–6 s for a session of 25–111 s, the engine told to skip
  images and styles (few or no assets), each URL opened directly (``page.goto``: no referer, no
  chain of links), and no telemetry (nobody moves a mouse).  A few sessions a day from one address.
* ``advanced_bot`` — also human-like: it follows the site's links (same-site referers), loads
  every page with its assets, reads at a person's pace.  Each bot still has one or two of the
  tells automation keeps: **no telemetry** (no mouse events, so a page's beacons never fire),
  **too regular** pacing (a fixed wait ± 15 %, where people's reading times spread over an order
  of magnitude), **breadth-first** crawling (a listing, then every product on it in order, each
  from the listing), or **no dwell variance** (a short, near-constant pause on every page).

Both are hostile labels; neither is tuned to one feature: a bot shows some of the tells, never
all, and the parameters are drawn per bot.
"""
from __future__ import annotations

import random
from collections.abc import Iterator

from .. import TrafficRecord
from .common import BROWSER_UAS, SEARCH_TERMS, Actor, page_telemetry

_TELLS = ("no_telemetry", "regular_pace", "breadth_first", "no_dwell_variance")


def _task(rng: random.Random, actor: Actor) -> tuple[str, str]:
    """The next URL on a moderate bot's list: product pages mostly, listings, searches."""
    site = actor.site
    r = rng.random()
    if r < 0.6:
        return f"/products/{rng.randint(1, site.n_products)}/", ""
    if r < 0.85:
        slug = rng.choice(site.categories)
        page = rng.randint(1, site.listing_pages(slug))
        return f"/category/{slug}/", (f"page={page}" if page > 1 else "")
    from urllib.parse import urlencode

    return "/search/", urlencode({"q": rng.choice(SEARCH_TERMS)})


def _starts(rng: random.Random, actor: Actor, sessions: int, span: float) -> list[float]:
    return sorted(actor.pick_start(rng, span) for _ in range(sessions))


def moderate_bot(rng: random.Random, actor: Actor, *, sessions: tuple[int, int] = (1, 4),
                 pace: tuple[float, float] = (2.0, 6.0),
                 duration: tuple[float, float] = (25.0, 111.0)) -> Iterator[TrafficRecord]:
    """Browser automation down a task list (see the module docstring)."""
    actor.browser = True
    site, ua = actor.site, rng.choice(BROWSER_UAS)
    # most automation blocks images, styles and fonts; some lets a share of pages load them
    load_share = 0.0 if rng.random() < 0.6 else rng.uniform(0.05, 0.3)
    t_free = -1e18
    for start in _starts(rng, actor, rng.randint(*sessions), 200.0):
        t = max(start, t_free + rng.uniform(600.0, 3600.0))
        end = t + rng.uniform(*duration)
        first = True
        while t < end:
            path, query = _task(rng, actor)
            rec = actor.request(rng, t, "GET", path, ua, query=query)
            yield rec
            t += rec.response_ms / 1000.0
            if rec.status == 200 and rng.random() < load_share:
                url = site.url(path, query)
                for asset in site.page_assets(rng, path, cold=first)[:rng.randint(1, 3)]:
                    t += rng.uniform(0.01, 0.1)
                    yield actor.request(rng, t, "GET", asset, ua, referer=url)
            first = False
            t += rng.uniform(*pace)
        t_free = t


def advanced_bot(rng: random.Random, actor: Actor, *, sessions: tuple[int, int] = (1, 3),
                 pages: tuple[int, int] = (10, 40), tells: tuple[str, ...] | None = None) -> Iterator[TrafficRecord]:
    """A browser bot that follows links at a person's pace, assets and all (see the module docstring)."""
    actor.browser = True
    site, ua = actor.site, rng.choice(BROWSER_UAS)
    chosen = set(tells) if tells else set(rng.sample(_TELLS, rng.choice((1, 1, 2))))
    base = rng.uniform(6.0, 15.0)   # its pause between pages: a person's order of magnitude
    t_free = -1e18
    for start in _starts(rng, actor, rng.randint(*sessions), 900.0):
        t = max(start, t_free + rng.uniform(600.0, 3600.0))
        out: list[TrafficRecord] = []
        referer, cold = "", True
        path, query = site.landing_page(rng)
        queue: list[str] = []
        for _ in range(rng.randint(*pages)):
            rec = actor.request(rng, t, "GET", path, ua, query=query, referer=referer)
            out.append(rec)
            t += rec.response_ms / 1000.0
            url = site.url(path, query)
            if rec.status == 200:
                for asset in site.page_assets(rng, path, cold=cold):
                    t += rng.uniform(0.01, 0.2)
                    out.append(actor.request(rng, t, "GET", asset, ua, referer=url, cached=not cold and rng.random() < 0.3))
                cold = False
            if "regular_pace" in chosen:
                wait = base * rng.uniform(0.85, 1.15)
            elif "no_dwell_variance" in chosen:
                wait = rng.uniform(2.5, 4.0)
            else:
                wait = max(0.8, base * rng.lognormvariate(0.0, 1.0))
            if rec.status == 200 and "no_telemetry" not in chosen:
                out += page_telemetry(rng, actor, t, t + wait, ua, url)
            t += wait
            referer = url
            if "breadth_first" in chosen:
                if not queue:
                    slug = rng.choice(site.categories)
                    listing = site.listing(slug, rng.randint(1, site.listing_pages(slug)))
                    queue = [f"/category/{slug}/"] + [f"/products/{pid}/" for pid in listing]
                    referer = url
                nxt = queue.pop(0)
                if nxt.startswith("/products/"):
                    referer = site.url(f"/category/{site.category_of(int(nxt.split('/')[2]))}/")
                path, query = nxt, ""
            else:
                path, query = site.next_page(rng, path)
        t_free = t
        yield from out
