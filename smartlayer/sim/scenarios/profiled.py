"""What only a profile of the site tells apart: its own telemetry and navigation, and what is rare here.

* ``telemetry`` — people whose pages post a beacon every ~2 s while they
  read (mouse movement), a flush of queued events when a page loads, a few
  with several tabs open: most of their requests are beacons, in bursts.
* ``product_order`` — people clicking "next product" through a category in
  id order, each page reached from the previous one, seconds apart (on a site
  whose pages post telemetry, their pages post it too: a browser runs the page's
  script whoever reads it, and a click is a mouse moving).
* ``tampering`` — a browser session that edits what it sends: parameter names
  the site never had (``precioA=4250``), a quantity of ``+``, an id of
  ``2AND 1=1``, mixed with ordinary pages at a person's pace.
* ``path_probing`` — a visitor who, between ordinary pages, asks for files and
  paths the site never served (``.bak``, ``.old``, ``/_vti_pvt/``), slowly
  enough that no error-rate rule fires.
"""
from __future__ import annotations

import json
import random
from collections.abc import Iterator
from urllib.parse import quote, urlencode

from .. import TrafficRecord
from .common import BROWSER_UAS, FORM_TYPE, JSON_TYPE, Actor, _form, _session_starts, page_telemetry

_BEACON_FETCH = "empty/no-cors/same-origin"


def _page(rng: random.Random, actor: Actor, t: float, path: str, query: str, ua: str, referer: str,
          cold: bool) -> tuple[list[TrafficRecord], float, str]:
    """A page and its assets, as a browser loads them: ``(records, t after, url)``."""
    rec = actor.request(rng, t, "GET", path, ua, query=query, referer=referer)
    out = [rec]
    t += rec.response_ms / 1000.0
    url = actor.site.url(path, query)
    if rec.status == 200:
        for asset in actor.site.page_assets(rng, path, cold=cold):
            t += rng.uniform(0.01, 0.2)
            out.append(actor.request(rng, t, "GET", asset, ua, referer=url, cached=not cold and rng.random() < 0.3))
    return out, t, url


def _beacon(rng: random.Random, actor: Actor, t: float, ua: str, url: str, kind: str) -> TrafficRecord:
    body = json.dumps({"t": kind, "x": rng.randint(0, 1920), "y": rng.randint(0, 1080), "ts": int(t * 1000)})
    rec = actor.request(rng, t, "POST", actor.site.beacons[0], ua, body=body, content_type=JSON_TYPE, referer=url,
                        dest="empty")
    rec.fetch = _BEACON_FETCH
    return rec


def telemetry(rng: random.Random, actor: Actor, *, sessions_per_day: float = 1.5,
              interval: tuple[float, float] = (1.5, 2.5)) -> Iterator[TrafficRecord]:
    """A reader whose pages post telemetry beacons (see the module docstring)."""
    actor.browser = True
    site, ua = actor.site, rng.choice(BROWSER_UAS)
    tabs = rng.choice((1, 1, 1, 2, 2, 3))
    last_end = -1e18
    for start in _session_starts(rng, actor, sessions_per_day):
        t = max(start, last_end + 60.0)
        path, query = site.landing_page(rng)
        referer, cold = "", t - last_end > 6 * 3600
        out: list[TrafficRecord] = []
        for _ in range(rng.randint(3, 15)):
            recs, t, url = _page(rng, actor, t, path, query, ua, referer, cold)
            out += recs
            cold = False
            # queued events flushed when the page loads
            for _ in range(rng.randint(3, 40)):
                t += rng.uniform(0.005, 0.03)
                out.append(_beacon(rng, actor, t, ua, url, "flush"))
            read_until = t + min(300.0, rng.lognormvariate(3.0, 0.7))
            while t < read_until:
                t += rng.uniform(*interval) / tabs
                out.append(_beacon(rng, actor, t, ua, url, "move"))
            referer = url
            path, query = site.next_page(rng, path)
        last_end = t
        yield from out


def product_order(rng: random.Random, actor: Actor, *, sessions_per_day: float = 1.2) -> Iterator[TrafficRecord]:
    """A shopper clicking "next product" through a category, in id order."""
    actor.browser = True
    site, ua = actor.site, rng.choice(BROWSER_UAS)
    last_end = -1e18
    for start in _session_starts(rng, actor, sessions_per_day):
        t = max(start, last_end + 60.0)
        slug = rng.choice(site.categories)
        out, t, url = _page(rng, actor, t, f"/category/{slug}/", "", ua, "", True)
        pid = rng.randint(1, site.n_products - 40)
        for _ in range(rng.randint(8, 30)):
            while not site.product_exists(pid):
                pid += 1           # "next" links to the next product that exists
            wait = rng.uniform(2.0, 9.0)
            # the page read meanwhile runs the site's script like anyone's: its load flush, and the
            # mouse moving to "next" (none on a site without telemetry, and no draw from rng there)
            out += page_telemetry(rng, actor, t, t + wait, ua, url)
            t += wait
            recs, t, url = _page(rng, actor, t, f"/products/{pid}/", "", ua, url, False)
            out += recs
            pid += 1
        if site.telemetry_interval > 0:   # the last product page is read too
            wait = rng.uniform(2.0, 9.0)
            out += page_telemetry(rng, actor, t, t + wait, ua, url)
            t += wait
        last_end = t
        yield from out


_TAMPER_NAMES = ("precioA", "precio", "price", "discount", "admin", "debug", "is_admin", "total", "role", "coupon_override")
_TAMPER_VALUES = ("+", "-1", "2AND 1=1", "1'", "99999999999", "1e9", "0x10", "1;", "null", "../1", "2 OR 1", "1%00")


def _tampered(rng: random.Random, actor: Actor) -> tuple[str, str, str, str, str]:
    """One tampered request: ``(method, path, query, body, content_type)``."""
    site = actor.site
    pid = site.popular_product(rng)
    r = rng.random()
    if r < 0.3:
        name = rng.choice(_TAMPER_NAMES)
        return "GET", f"/products/{pid}/", urlencode({name: str(rng.randint(1, 9999))}), "", ""
    if r < 0.55:
        fields = {"product_id": str(pid), "quantity": rng.choice(_TAMPER_VALUES)}
        if rng.random() < 0.5:
            fields[rng.choice(_TAMPER_NAMES)] = str(rng.randint(0, 5000))
        return "POST", "/cart/add/", "", _form(rng, fields), FORM_TYPE
    if r < 0.75:
        fields = {"product_id": rng.choice(_TAMPER_VALUES), "quantity": "1"}
        return "POST", "/cart/add/", "", _form(rng, fields), FORM_TYPE
    if r < 0.9:
        slug = rng.choice(site.categories)
        return "GET", f"/category/{slug}/", "page=" + quote(rng.choice(_TAMPER_VALUES), safe=""), "", ""
    return "GET", "/search/", urlencode({"q": "shoes", rng.choice(_TAMPER_NAMES): "4250"}), "", ""


def tampering(rng: random.Random, actor: Actor, *, count: int | None = None) -> Iterator[TrafficRecord]:
    """A person-paced session that edits parameters (see the module docstring)."""
    site, ua = actor.site, rng.choice(BROWSER_UAS)
    n = count or rng.randint(4, 15)
    t = actor.pick_start(rng, n * 30.0 + 300.0)
    path, query = site.landing_page(rng)
    referer = ""
    for i in range(n * 2):
        if i % 2 == 1 or rng.random() < 0.3:
            method, tpath, tquery, body, ctype = _tampered(rng, actor)
            rec = actor.request(rng, t, method, tpath, ua, query=tquery, body=body, content_type=ctype,
                                referer=referer)
            yield rec
        else:
            recs, t, referer = _page(rng, actor, t, path, query, ua, referer, i == 0)
            yield from recs
            path, query = site.next_page(rng, path)
        t += rng.uniform(2.0, 25.0)


_PROBES = ("/static/js/app.js.bak", "/static/css/site.css.old", "/_vti_pvt/service.pwd", "/_vti_pvt/authors.pwd",
           "/_vti_bin/shtml.dll", "/index.php.bak", "/config.old", "/settings.py.orig", "/backup.old",
           "/media/products/{pid}-1.jpg.bak", "/products/{pid}/.bak", "/admin.bak/", "/db.sqlite3.old",
           "/static/js/vendor.js.map.old", "/category/shoes/index.old", "/old/", "/test/", "/_private/",
           "/account.bak", "/web.config.save", "/.htpasswd", "/cgi-bin/", "/api/products/.old")


def path_probing(rng: random.Random, actor: Actor, *, count: int | None = None) -> Iterator[TrafficRecord]:
    """A visitor asking, between ordinary pages, for paths the site never served."""
    site, ua = actor.site, rng.choice(BROWSER_UAS + ("curl/8.5.0", "python-requests/2.31.0"))
    n = count or rng.randint(4, 15)
    t = actor.pick_start(rng, n * 40.0 + 300.0)
    path, query = site.landing_page(rng)
    referer = ""
    probes = rng.sample(_PROBES, min(n, len(_PROBES)))
    for probe in probes:
        if rng.random() < 0.6:
            recs, t, referer = _page(rng, actor, t, path, query, ua, referer, False)
            yield from recs
            path, query = site.next_page(rng, path)
            t += rng.uniform(2.0, 20.0)
        yield actor.request(rng, t, "GET", probe.format(pid=site.popular_product(rng)), ua)
        t += rng.uniform(3.0, 30.0)
