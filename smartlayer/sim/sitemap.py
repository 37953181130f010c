"""The simulated site: which paths exist, how they link, what they answer.

Labels are only useful if the statuses are believable: a rule that counts
errors, or a model that learns from them, must see the 404s, 302s and 401s a
real Django shop would answer — a scanner's ``/.env`` is a 404, an anonymous
``/account/`` a redirect to the login page, a failed form login a 200 with
the form re-rendered, an anonymous ``/api/orders/`` a 401.  :class:`SiteMap`
is that site, small enough to reason about:

* public pages, a contact form and POST-only actions (add to cart, newsletter);
* products ``/products/<id>/`` and articles ``/articles/<id>/`` with numeric
  IDs (every ``deleted_every``-th ID is gone: stale links give real 404s),
  category listings ``/category/<slug>/?page=N``, product images under
  ``/media/``;
* accounts: ``login_path`` (form), logout, private pages behind the login;
* an API: public catalogue, private collections, per-ID resources including
  ``/api/users/<id>/`` (answers any authenticated user: the IDOR an
  enumeration attack looks for), a token and a login endpoint;
* Django's admin under ``admin_prefix``, static assets, robots.txt.

The URL shapes of ID-bearing routes are fixed; counts, names, prefixes and
page lists are configurable.  Routing results are cached per path, which is
what keeps a week of traffic fast to generate.
"""
from __future__ import annotations

import random
import re
import zlib
from dataclasses import dataclass, field

from .navigation import Navigation

# ── route kinds ───────────────────────────────────────────────────────────
MISSING = "missing"            # no such URL → 404
SLASH = "slash"                # existing URL without its trailing slash → 301
STATIC = "static"              # files: GET/HEAD only, 304 when cached
PAGE = "page"                  # public HTML, GET only
FORM = "form"                  # GET shows the form, POST submits → 302
ACTION = "action"              # POST only → 302
LOGIN = "login"                # form login: failed POST re-renders with 200
LOGOUT = "logout"              # POST only
PRIVATE = "private"            # HTML behind the login: anonymous → 302
ADMIN_LOGIN = "admin_login"
ADMIN = "admin"                # staff only: anyone else → 302 to the admin login
ADMIN_MISSING = "admin_missing"  # unknown admin URL: 302 for non-staff, 404 for staff
API_PUBLIC = "api_public"
API_PRIVATE = "api_private"    # anonymous → 401; POST creates → 201
API_PRIVATE_MISSING = "api_private_missing"  # 401 before the lookup, then 404
API_CREDENTIALS = "api_credentials"  # POST credentials → 200 or 401
BEACON = "beacon"              # a page's telemetry: POST → 204

_READ = frozenset({"GET", "HEAD"})
_API_KINDS = frozenset({API_PUBLIC, API_PRIVATE, API_PRIVATE_MISSING, API_CREDENTIALS})
_DYNAMIC_KINDS = frozenset({PAGE, FORM, ACTION, LOGIN, LOGOUT, PRIVATE, ADMIN_LOGIN, ADMIN,
                            ADMIN_MISSING, BEACON}) | _API_KINDS
_HTML_KINDS = frozenset({PAGE, FORM, LOGIN, PRIVATE, ADMIN_LOGIN, ADMIN, ADMIN_MISSING, MISSING})
_FILE_TYPES = {".css": "text/css", ".js": "application/javascript", ".woff2": "font/woff2", ".svg": "image/svg+xml",
               ".jpg": "image/jpeg", ".png": "image/png", ".ico": "image/x-icon", ".txt": "text/plain",
               ".xml": "application/xml"}

_DYNAMIC = re.compile(
    r"^/(?:products/(?P<product>\d{1,9})/(?P<review>review/)?"
    r"|articles/(?P<article>\d{1,9})/"
    r"|category/(?P<category>[a-z0-9-]+)/"
    r"|media/products/(?P<image>\d{1,9})-[1-4]\.jpg"
    r"|api/products/(?P<api_product>\d{1,9})/"
    r"|api/users/(?P<api_user>\d{1,9})/"
    r"|api/orders/(?P<api_order>\d{1,9})/)$"
)
_ADMIN_OBJECT = re.compile(r"^(?P<model>[a-z_]+/[a-z_]+)/(?:(?P<id>\d{1,9})/change/)?$")

# (median ms, log-normal sigma, median bytes) of a successful answer per kind
_COSTS: dict[str, tuple[float, float, int]] = {
    STATIC: (1.5, 0.6, 0),     # bytes: per asset, see _static_size
    PAGE: (70.0, 0.55, 24000),
    FORM: (60.0, 0.5, 14000),
    ACTION: (90.0, 0.5, 0),
    LOGIN: (35.0, 0.5, 9000),
    LOGOUT: (25.0, 0.4, 0),
    PRIVATE: (85.0, 0.5, 18000),
    ADMIN_LOGIN: (30.0, 0.4, 8000),
    ADMIN: (120.0, 0.6, 30000),
    ADMIN_MISSING: (15.0, 0.4, 2900),
    API_PUBLIC: (30.0, 0.6, 4200),
    API_PRIVATE: (45.0, 0.6, 2600),
    API_PRIVATE_MISSING: (12.0, 0.4, 60),
    API_CREDENTIALS: (180.0, 0.3, 420),  # password hashing dominates
    BEACON: (3.0, 0.4, 0),
}
# answers whose cost does not depend on the route
_STATUS_COSTS: dict[int, tuple[float, float, int]] = {
    301: (2.0, 0.4, 0),
    304: (1.0, 0.5, 0),
    401: (6.0, 0.4, 58),
    403: (4.0, 0.4, 2500),
    404: (9.0, 0.5, 2900),
    405: (3.0, 0.4, 0),
    500: (450.0, 0.9, 145),
}


@dataclass(frozen=True, slots=True)
class SiteMap(Navigation):
    """A small e-shop: its routes, its links and the statuses it answers.

    Frozen because routing results are cached per path: build a new map
    (``dataclasses.replace(site, n_products=50)``) rather than mutate one.
    """

    host: str = "shop.example.com"
    pages: tuple[str, ...] = (
        "/", "/about/", "/faq/", "/shipping/", "/returns/", "/privacy/", "/terms/",
        "/products/", "/blog/", "/search/", "/cart/",
    )
    forms: tuple[str, ...] = ("/contact/",)
    actions: tuple[str, ...] = ("/cart/add/", "/newsletter/")
    private_pages: tuple[str, ...] = ("/account/", "/account/orders/", "/account/settings/", "/checkout/")
    categories: tuple[str, ...] = (
        "shoes", "shirts", "jackets", "trousers", "bags", "hats", "socks", "sale",
    )
    n_products: int = 2000
    n_articles: int = 120
    n_users: int = 5000
    n_orders: int = 30000
    deleted_every: int = 47
    page_size: int = 24
    login_path: str = "/accounts/login/"
    logout_path: str = "/accounts/logout/"
    api_login_path: str = "/api/login/"
    api_token_path: str = "/api/token/"
    api_public: tuple[str, ...] = ("/api/products/", "/api/categories/")
    api_private: tuple[str, ...] = ("/api/orders/", "/api/stock/", "/api/me/")
    admin_prefix: str = "/admin/"
    admin_models: tuple[str, ...] = ("shop/order", "shop/product", "auth/user")
    static_assets: tuple[str, ...] = (
        "/static/css/site.css", "/static/js/vendor.js", "/static/js/app.js",
        "/static/fonts/inter.woff2", "/static/img/logo.svg", "/favicon.ico",
    )
    beacons: tuple[str, ...] = ("/t/collect/",)
    #: Seconds between a page's telemetry beacons while a person reads it (0: the pages send none,
    #: only the ``telemetry`` scenario's readers do).  A site with telemetry on every page sets it.
    telemetry_interval: float = 0.0
    robots_disallow: tuple[str, ...] = (
        "/admin/", "/accounts/", "/account/", "/cart/", "/checkout/", "/api/", "/search/",
    )
    server_error_rate: float = 0.0005
    _exact: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)
    _routes: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)
    _popular: list[int] = field(default_factory=list, init=False, repr=False, compare=False)
    _popular_cum: list[float] = field(default_factory=list, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        exact = {p: PAGE for p in self.pages}
        exact.update({p: FORM for p in self.forms})
        exact.update({p: ACTION for p in self.actions})
        exact.update({p: PRIVATE for p in self.private_pages})
        exact.update({p: API_PUBLIC for p in self.api_public})
        exact.update({p: API_PRIVATE for p in self.api_private})
        exact.update({p: STATIC for p in self.static_assets})
        exact.update({p: BEACON for p in self.beacons})
        exact.update({
            "/robots.txt": STATIC, "/sitemap.xml": STATIC,
            self.login_path: LOGIN, self.logout_path: LOGOUT,
            self.api_login_path: API_CREDENTIALS, self.api_token_path: API_CREDENTIALS,
        })
        object.__setattr__(self, "_exact", exact)
        # Product popularity is Zipf-like over a fixed shuffle of the IDs, the
        # same for every seed: a site's bestsellers do not change per run.
        ids = [i for i in range(1, self.n_products + 1) if self.product_exists(i)]
        random.Random(self.n_products).shuffle(ids)
        total = 0.0
        cum = []
        for rank in range(1, len(ids) + 1):
            total += 1.0 / rank ** 0.9
            cum.append(total)
        object.__setattr__(self, "_popular", ids)
        object.__setattr__(self, "_popular_cum", cum)

    # ── what exists ───────────────────────────────────────────────────────
    def product_exists(self, pid: int) -> bool:
        return 1 <= pid <= self.n_products and pid % self.deleted_every != 0

    def article_exists(self, aid: int) -> bool:
        return 1 <= aid <= self.n_articles and aid % self.deleted_every != 0

    def route(self, path: str) -> str:
        """The route kind of ``path`` (one of the module's kind constants)."""
        kind = self._routes.get(path)
        if kind is None:
            kind = self._classify(path)
            if len(self._routes) >= 200_000:  # scanners invent paths without end
                self._routes.clear()
            self._routes[path] = kind
        return kind

    def _classify(self, path: str) -> str:
        kind = self._exact.get(path)
        if kind is not None:
            return kind
        if path.startswith(self.admin_prefix):
            return self._admin_kind(path[len(self.admin_prefix):])
        m = _DYNAMIC.match(path)
        if m is not None:
            return self._dynamic_kind(m)
        last = path.rsplit("/", 1)[-1]
        if last and "." not in last and self._classify(path + "/") != MISSING:
            return SLASH  # Django's APPEND_SLASH redirect
        return MISSING

    def _admin_kind(self, rest: str) -> str:
        if rest == "":
            return ADMIN
        if rest == "login/":
            return ADMIN_LOGIN
        m = _ADMIN_OBJECT.match(rest)
        if m is not None and m.group("model") in self.admin_models:
            return ADMIN
        return ADMIN_MISSING

    def _dynamic_kind(self, m: re.Match[str]) -> str:
        g = m.groupdict()
        if g["product"] is not None:
            if not self.product_exists(int(g["product"])):
                return MISSING
            return ACTION if g["review"] else PAGE
        if g["article"] is not None:
            return PAGE if self.article_exists(int(g["article"])) else MISSING
        if g["category"] is not None:
            return PAGE if g["category"] in self.categories else MISSING
        if g["image"] is not None:
            return STATIC if self.product_exists(int(g["image"])) else MISSING
        if g["api_product"] is not None:
            return API_PUBLIC if self.product_exists(int(g["api_product"])) else MISSING
        if g["api_user"] is not None:
            return API_PRIVATE if 1 <= int(g["api_user"]) <= self.n_users else API_PRIVATE_MISSING
        return API_PRIVATE if 1 <= int(g["api_order"]) <= self.n_orders else API_PRIVATE_MISSING

    # ── what it answers ───────────────────────────────────────────────────
    def status(self, method: str, path: str, *, authenticated: bool = False, staff: bool = False,
               login_ok: bool = False, cached: bool = False, csrf: bool = True) -> int:
        """The status Django would answer, before any server error.

        ``login_ok`` says whether credentials POSTed to a login endpoint are
        right; ``cached`` that a file request is conditional and unchanged;
        ``csrf`` that a POST to an HTML view carries a CSRF token (without
        one Django answers 403 before the view runs).
        """
        return self._status(self.route(path), method, authenticated, staff, login_ok, cached, csrf)

    @staticmethod
    def _status(kind: str, method: str, authenticated: bool, staff: bool, login_ok: bool,
                cached: bool, csrf: bool) -> int:
        read = method in _READ
        if kind == MISSING:
            return 404
        if kind == SLASH:
            return 301
        if kind == STATIC:
            return (304 if cached else 200) if read else 405
        if kind == BEACON:
            return 405 if read else 204
        if not read and not csrf and kind not in _API_KINDS:
            return 403
        if kind == PAGE or kind == API_PUBLIC:
            return 200 if read else 405
        if kind == FORM:
            return 200 if read else 302
        if kind == ACTION or kind == LOGOUT:
            return 405 if read else 302
        if kind == LOGIN or kind == ADMIN_LOGIN:
            if read:
                return 200
            return 302 if login_ok and (staff or kind == LOGIN) else 200
        if kind == PRIVATE:
            return 302 if not authenticated or not read else 200
        if kind == ADMIN:
            return 302 if not (authenticated and staff) or not read else 200
        if kind == ADMIN_MISSING:
            return 404 if authenticated and staff else 302
        if kind == API_CREDENTIALS:
            return 405 if read else (200 if login_ok else 401)
        if not authenticated:  # API_PRIVATE, API_PRIVATE_MISSING
            return 401
        if kind == API_PRIVATE_MISSING:
            return 404
        return 200 if read else (201 if method == "POST" else 405)

    def respond(self, rng: random.Random, method: str, path: str, *, authenticated: bool = False,
                staff: bool = False, login_ok: bool = False, cached: bool = False,
                csrf: bool = True) -> tuple[int, float, int]:
        """``(status, response_ms, bytes_sent)`` of one request, costs sampled from ``rng``."""
        kind = self.route(path)
        status = self._status(kind, method, authenticated, staff, login_ok, cached, csrf)
        if status < 400 and kind in _DYNAMIC_KINDS and rng.random() < self.server_error_rate:
            status = 500
        cost = _STATUS_COSTS.get(status)
        if cost is None:
            cost = _COSTS[kind]
        median_ms, sigma, size = cost
        ms = round(median_ms * rng.lognormvariate(0.0, sigma), 2)
        if method == "HEAD" or status in (301, 302, 304):
            return status, ms, 0
        if kind == STATIC and status == 200:
            return status, ms, self._static_size(path)
        return status, ms, int(size * rng.lognormvariate(0.0, 0.25))

    def _static_size(self, path: str) -> int:
        """Files keep their size across requests, unlike rendered pages."""
        if path == "/robots.txt":
            return 40 + 22 * len(self.robots_disallow)
        if path == "/sitemap.xml":
            return 90 * (self.n_products + self.n_articles + len(self.categories) + len(self.pages))
        return 800 + zlib.crc32(path.encode()) % 180_000

    def response_type(self, path: str, status: int) -> str:
        """The media type of the answer ("" for redirects, 204 and 304)."""
        if status in (204, 301, 302, 304, 405):
            return ""
        kind = self.route(path)
        if kind == STATIC and status == 200:
            dot = path.rfind(".")
            return _FILE_TYPES.get(path[dot:], "application/octet-stream") if dot > 0 else "application/octet-stream"
        if kind in _API_KINDS:
            return "application/json"
        return "text/html" if kind in _HTML_KINDS or status >= 400 else ""

    # ── how it links ──────────────────────────────────────────────────────
    def url(self, path: str, query: str = "") -> str:
        """Absolute URL, as browsers send it in Referer."""
        return f"https://{self.host}{path}?{query}" if query else f"https://{self.host}{path}"

    def allowed_by_robots(self, path: str) -> bool:
        return not path.startswith(self.robots_disallow)
