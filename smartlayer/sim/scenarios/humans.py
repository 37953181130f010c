"""Benign people: sessions of browsing, signing in, buying, administering."""
from __future__ import annotations

import math
import random
from collections.abc import Iterator
from urllib.parse import quote, urlencode

from .. import TrafficRecord
from .common import (
    _BROWSER_404S,
    _EXTERNAL_REFERERS,
    _MESSAGES,
    _REVIEWS,
    BROWSER_UAS,
    FORM_TYPE,
    SEARCH_TERMS,
    Actor,
    _email,
    _form,
    _session_starts,
    _token,
    page_telemetry,
)


# ── benign: humans ────────────────────────────────────────────────────────
class _Visit:
    """One browsing session: the clock, the login state, the referer chain."""

    __slots__ = ("rng", "actor", "ua", "t", "user", "referer", "cold", "think_median", "out", "page")

    def __init__(self, rng: random.Random, actor: Actor, ua: str, t: float, user: str | None,
                 cold: bool, think_median: float) -> None:
        self.rng, self.actor, self.ua, self.t, self.user = rng, actor, ua, t, user
        self.cold, self.think_median = cold, think_median
        r = rng.random()
        self.referer = rng.choice(_EXTERNAL_REFERERS) if r < 0.55 else ""
        self.out: list[TrafficRecord] = []
        self.page = ""   # the page being read (its telemetry, on a site with telemetry)

    def hit(self, path: str, query: str = "", *, method: str = "GET", body: str = "",
            login_ok: bool = False) -> int:
        """Request ``path`` as a browser does: then its assets, then the referer moves on."""
        rng, actor = self.rng, self.actor
        rec = actor.request(rng, self.t, method, path, self.ua, query=query, body=body,
                            content_type=FORM_TYPE if body else "", referer=self.referer,
                            user_id=self.user, login_ok=login_ok)
        self.out.append(rec)
        t = self.t + rec.response_ms / 1000.0
        if method == "GET" and rec.status == 200:
            url = actor.site.url(path, query)
            for asset in actor.site.page_assets(rng, path, cold=self.cold):
                t += rng.uniform(0.01, 0.2)
                self.out.append(actor.request(rng, t, "GET", asset, self.ua, referer=url, user_id=self.user,
                                              cached=not self.cold and rng.random() < 0.3))
            self.cold = False
            self.referer = self.page = url
        self.t = t
        return rec.status

    def follow(self) -> None:
        """The browser following a redirect: no reading time."""
        self.t += self.rng.uniform(0.02, 0.1)

    def think(self, scale: float = 1.0) -> None:
        """Reading time: log-normal, seconds to minutes."""
        until = self.t + min(900.0, max(0.8, scale * self.think_median * self.rng.lognormvariate(0.0, 1.0)))
        if self.page:
            self.out += page_telemetry(self.rng, self.actor, self.t, until, self.ua, self.page, self.user)
        self.t = until


def _login(v: _Visit, uid: str, next_path: str) -> None:
    site = v.actor.site
    v.hit(site.login_path, "next=" + quote(next_path, safe=""))
    for attempt in range(3):
        v.think(0.5)
        ok = attempt > 0 or v.rng.random() > 0.08  # a typo now and then
        fields = {"username": f"user{uid}@mail.example", "password": _token(v.rng)[:12], "next": next_path}
        if v.hit(site.login_path, method="POST", body=_form(v.rng, fields), login_ok=ok) == 302:
            v.user = uid
            v.follow()
            v.hit(next_path)
            return


def _browse(v: _Visit, uid: str | None, pages: int) -> None:
    """Read ``pages`` pages following links, with the odd form, search and 404."""
    rng, site = v.rng, v.actor.site
    path, query = site.landing_page(rng)
    for _ in range(pages):
        if v.out and rng.random() < 0.015:
            v.hit(rng.choice(_BROWSER_404S))
            v.think(0.3)
        v.hit(path, query)
        v.think()
        r = rng.random()
        if uid and v.user is None and r < 0.06:
            _login(v, uid, "/account/")
            path, query = site.next_page(rng, "/")
        elif r < 0.10:
            path, query = "/search/", urlencode({"q": rng.choice(SEARCH_TERMS)})
        elif r < 0.15 and site.product_id(path) is not None:
            body = _form(rng, {"product_id": str(site.product_id(path)), "quantity": "1"})
            v.hit("/cart/add/", method="POST", body=body)
            v.follow()
            path, query = "/cart/", ""
        elif r < 0.16:
            v.hit("/contact/")
            v.think(3.0)
            msg = rng.choice(_MESSAGES).format(n=rng.randint(10000, 99999))
            v.hit("/contact/", method="POST", body=_form(rng, {"email": _email(rng), "message": msg}))
            v.follow()
            path, query = "/contact/", "sent=1"
        elif v.user is not None and r < 0.19 and site.product_id(path) is not None:
            body = _form(rng, {"rating": str(rng.randint(1, 5)), "text": rng.choice(_REVIEWS)})
            v.hit(path + "review/", method="POST", body=body)
            v.follow()
        elif v.user is not None and r < 0.23:
            _checkout_or_account(v)
            path, query = site.next_page(rng, "/")
        elif v.actor.staff and v.user is not None and r < 0.30:
            _admin_work(v)
            path, query = "/", ""
        else:
            path, query = site.next_page(rng, path)


def _checkout_or_account(v: _Visit) -> None:
    rng = v.rng
    if rng.random() < 0.5:
        v.hit("/checkout/")
        v.think(2.0)
        v.hit("/checkout/", method="POST", body=_form(rng, {"address": "1 Example Street", "payment": "card"}))
        v.follow()
        v.hit("/account/orders/")
    else:
        v.hit(rng.choice(("/account/", "/account/orders/", "/account/settings/")))
    v.think()


def _admin_work(v: _Visit) -> None:
    """A staff member at work in the admin: the benign side of ``/admin``."""
    rng, prefix = v.rng, v.actor.site.admin_prefix
    v.hit(prefix)
    for _ in range(rng.randint(1, 6)):
        v.think(0.5)
        model = rng.choice(v.actor.site.admin_models)
        v.hit(f"{prefix}{model}/")
        if rng.random() < 0.5:
            v.think(0.5)
            change = f"{prefix}{model}/{rng.randint(1, 2000)}/change/"
            v.hit(change)
            if rng.random() < 0.4:
                v.think()
                v.hit(change, method="POST", body=_form(rng, {"status": "shipped", "_save": "Save"}))
                v.follow()


def human(rng: random.Random, actor: Actor, *, sessions_per_day: float | None = None,
          pages_per_session: float | None = None, account_share: float = 0.45,
          staff_share: float = 0.03) -> Iterator[TrafficRecord]:
    """A person with a browser: sessions through the day, reading, clicking, buying.

    Sessions follow the diurnal rhythm; think times are log-normal around a
    per-person median; some people have an account (``user_id`` once logged
    in, kept across sessions by the session cookie), a few of those are staff.
    """
    site = actor.site
    ua = rng.choice(BROWSER_UAS)
    per_day = sessions_per_day or min(12.0, rng.lognormvariate(math.log(1.3), 0.7))
    mean_pages = pages_per_session or rng.uniform(4.0, 12.0)
    think_median = rng.uniform(8.0, 30.0)
    uid = actor.new_account() if rng.random() < account_share else None
    actor.staff = uid is not None and rng.random() < staff_share
    actor.browser = True
    user: str | None = None
    last_end = -math.inf
    for start in _session_starts(rng, actor, per_day):
        start = max(start, last_end + rng.uniform(60.0, 600.0))
        visit = _Visit(rng, actor, ua, start, user, cold=start - last_end > 6 * 3600, think_median=think_median)
        pages = 1 + int(rng.expovariate(1.0 / max(0.1, mean_pages - 1)))
        _browse(visit, uid, pages)
        if visit.user is not None and rng.random() < 0.1:
            visit.hit(site.logout_path, method="POST", body=_form(rng, {}))
            visit.user = None
            visit.follow()
            visit.hit("/")
        user, last_end = visit.user, visit.t
        yield from visit.out
