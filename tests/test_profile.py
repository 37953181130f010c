"""The site profile: shapes, templates, learning, and what it changes on the request path."""
from __future__ import annotations

import json

import pytest

from smartlayer.detectors.behaviour.rules import evaluate
from smartlayer.detectors.payload.scan import scan_parts
from smartlayer.detectors.payload.validator import decide
from smartlayer.profile.core import Profile, score
from smartlayer.profile.learn import Row, learn_profile, learn_templates
from smartlayer.profile.params import query_params, request_params
from smartlayer.profile.shapes import parse_shape, value_shape
from smartlayer.profile.templates import Trie, segment_type, typed_template
from smartlayer.request.client import Client
from smartlayer.request.context import RequestContext, referer_host
from smartlayer.request.facts import FLAG_NAVIGATED, arrival_flags, probing_run
from smartlayer.state.ban_backends import MemoryBans
from smartlayer.state.windows.window import ClientWindow

T0 = 1_700_000_000.0
BROWSER = "Mozilla/5.0 Chrome/126.0"


# ── shapes ────────────────────────────────────────────────────────────────
@pytest.mark.parametrize(("value", "kind", "classes"), [
    ("42", "int", "d"), ("-7", "int", "dp"), ("4.50", "dec", "dp"), ("", "empty", ""),
    ("ana@mail.example", "email", "lp"), ("2024-01-31", "date", "dp"),
    ("0f8fad5b-d9cb-469f-a165-70867728950e", "uuid", "ldp"), ("2AND 1=1", "text", "udsx"),
    ("+", "text", "p"), ("red shoes", "text", "ls"), ("café", "text", "l"),
])
def test_value_shapes_keep_kind_length_and_classes_never_the_value(value, kind, classes):
    shape = value_shape(value)
    k, n, c, tag = parse_shape(shape)
    assert (k, n, c) == (kind, len(value), classes)
    assert shape.count(":") == 3 and (tag == "" or len(tag) == 4)


def _kind_trying_every_kind(v):
    """value_kind as first written: every kind tried in order (the dispatch on the first character must agree)."""
    from smartlayer.profile import shapes

    for kind, test in (("int", shapes._is_int), ("dec", shapes._is_dec), ("uuid", shapes._is_uuid),
                       ("date", shapes._is_date)):
        if test(v):
            return kind
    if "@" in v and shapes._is_email(v):
        return "email"
    if len(v) >= 16 and shapes._HEX.issuperset(v):
        return "hex"
    return "text"


def test_value_kind_dispatch_agrees_with_trying_every_kind():
    from smartlayer.profile.shapes import value_kind

    values = ["1", "-1", ".5", ",5", "-.5", "1.", "1,5", "a", "ab@c.de", "1a@b.cd", "-", ".", ",", "deadbeefdeadbeef",
              "DEADBEEFdeadbeef00", "0f8fad5b-d9cb-469f-a165-70867728950e", "Af8fad5b-d9cb-469f-a165-70867728950e",
              "2024-01-31", "2024-01-31T10:00:00", "٢٠٢٤-٠١-٣١", "²", "١٢", "12345678901234567890", "e5", "E.5",
              "f@x.io", "-2024-01-31", "1e3", " 1", "x1", "٣.٤"]
    for v in values:
        assert value_kind(v) == _kind_trying_every_kind(v), v


def test_query_and_body_parameters_are_names_and_shapes():
    params = request_params("q=red+shoes&page=2&precioA=4250", b'{"sku": "A1", "quantity": 3}', "application/json")
    assert [(w, n) for w, n, _ in params] == [("q", "q"), ("q", "page"), ("q", "precioA"), ("j", "sku"),
                                              ("j", "quantity")]
    assert parse_shape(params[0][2])[:3] == ("text", 9, "ls")
    form = request_params("", b"product_id=12&quantity=%2B", "application/x-www-form-urlencoded")
    assert parse_shape(form[1][2])[:3] == ("text", 1, "p")          # a quantity of "+"
    assert len(query_params("&".join(f"p{i}=1" for i in range(500)))) == 32   # bounded


# ── templates ─────────────────────────────────────────────────────────────
def test_segments_collapse_by_their_shape():
    assert segment_type("1234") == "{int}"
    assert segment_type("0f8fad5b-d9cb-469f-a165-70867728950e") == "{uuid}"
    assert segment_type("d41d8cd98f00b204e9800998ecf8427e") == "{hash}"
    assert segment_type("12-3.jpg") == "{#-#.jpg}"
    assert segment_type("shoes") is None
    assert typed_template("/products/12/") == "/products/{int}/"


def test_many_leaf_siblings_collapse_into_a_slug_and_the_top_level_never_does():
    paths = {f"/category/{c}/": 1 for c in ("a", "b", "c", "d", "e", "f", "g", "h", "i")}
    paths.update({f"/{p}/": 1 for p in ("about", "faq", "terms", "blog", "cart", "search", "shop", "help", "x")})
    paths.update({f"/media/{i}-1.jpg": 1 for i in range(10)})
    templates = learn_templates(paths, resolver=False)
    assert "/category/{slug}/" in templates and "/about/" in templates
    assert "/media/{#-#.jpg}" in templates
    trie = Trie(templates)
    assert trie.find("/category/zz/") == "/category/{slug}/"
    assert trie.find("/media/77-3.jpg") == "/media/{#-#.jpg}"
    assert trie.find("/nope/") is None


@pytest.mark.django_db
def test_djangos_url_resolver_names_the_placeholders_where_it_answers():
    paths = {"/shop/shoes/12/": 1, "/shop/hats/7/": 1, "/users/7": 1, "/nowhere/x/": 1}
    # a converter is a placeholder even with two siblings; a regex route or no route: the path's own shape
    assert learn_templates(paths, resolver=True) == ["/nowhere/x/", "/shop/{slug}/{int}/", "/users/{int}"]


def test_the_trie_walk_is_bounded():
    trie = Trie(["/" + "/".join(["{slug}"] * 15)])
    assert trie.find("/" + "/".join(["a"] * 40)) is None


# ── learning ──────────────────────────────────────────────────────────────
def _rows(n_clients=6, *, beacons=0):
    rows = []
    for c in range(n_clients):
        t = T0 + c * 1000
        for i in range(40):
            rows.append(Row(t + i * 20, f"ip:10.0.0.{c}", "GET", f"/products/{i + 1}/", 200, "text/html",
                            "text/html", "document/navigate/same-origin", False, "shop.example",
                            [["q", "ref", value_shape(str(i))]] if i % 2 else []))
            rows.append(Row(t + i * 20 + 1, f"ip:10.0.0.{c}", "GET", "/static/site.css", 200, "text/css",
                            "text/css", "style/no-cors/same-origin", False, "shop.example", []))
            rows.append(Row(t + i * 20 + 2, f"ip:10.0.0.{c}", "POST", "/cart/add/", 302, "", "text/html",
                            "document/navigate/same-origin", False, "shop.example",
                            [["f", "product_id", value_shape(str(i + 1))], ["f", "quantity", value_shape("1")]]))
            rows.append(Row(t + i * 20 + 3, f"ip:10.0.0.{c}", "GET", "/api/stock/", 200, "application/json",
                            "application/json", "empty/cors/same-origin", True, "shop.example", []))
            for b in range(beacons):
                rows.append(Row(t + i * 20 + 4 + b * 0.5, f"ip:10.0.0.{c}", "POST", "/t/collect/", 204, "", "*/*",
                                "empty/no-cors/same-origin", False, "shop.example",
                                [["j", "x", value_shape(str(b))]]))
    rows.append(Row(T0, "ip:10.9.9.9", "GET", "/.env", 404, "text/html", "*/*", "", False, "", []))
    return rows


@pytest.fixture(scope="module")
def learned():
    return learn_profile(_rows(beacons=12), resolver=False, min_clients=3, min_support=30)


def test_endpoints_get_a_class_from_what_the_log_recorded(learned):
    e = learned["endpoints"]
    assert e["/products/{int}/"]["class"] == "page"
    assert e["/static/site.css"]["class"] == "asset"
    assert e["/cart/add/"]["class"] == "form"
    assert e["/api/stock/"]["class"] == "api"
    assert e["/t/collect/"]["class"] == "telemetry"
    assert "/.env" not in e                                   # one scanner is not the site
    assert e["/products/{int}/"]["missing"] == ["xrw"]
    assert learned["hosts"] == ["shop.example"]


def test_rate_norms_are_per_client_quantiles(learned):
    e = learned["endpoints"]["/t/collect/"]
    assert e["norms"]["10s"][2] >= 12 and e["allowance_10s"] == e["norms"]["10s"][2]
    assert e["clients"] == 6 and e["methods"] == ["POST"]


def test_parameter_schemas_have_kinds_and_ranges(learned):
    cart = learned["endpoints"]["/cart/add/"]["params"]["POST"]
    assert cart["product_id"]["kind"] == "int" and cart["quantity"]["kind"] == "int"
    assert learned["endpoints"]["/products/{int}/"]["checked"] == ["GET"]


# ── on the request path ───────────────────────────────────────────────────
@pytest.fixture(scope="module")
def profile(learned):
    return Profile(json.loads(json.dumps(learned)), "v1")


def _anomalies(profile, method, path, query="", body=b"", ctype=""):
    return profile.anomalies(method, path, request_params(query, body or None, ctype))


def test_tampering_and_probing_are_named(profile):
    assert _anomalies(profile, "GET", "/products/5/") == []
    assert _anomalies(profile, "GET", "/products/5/", "ref=3") == []
    assert _anomalies(profile, "GET", "/products/5/", "precioA=4250") == ["param:unknown_name"]
    assert _anomalies(profile, "GET", "/products/5/", "utm_source=news") == []         # exempt by default
    form = "application/x-www-form-urlencoded"
    assert _anomalies(profile, "POST", "/cart/add/", "", b"product_id=2AND%201%3D1&quantity=1", form) == ["param:shape"]
    assert _anomalies(profile, "POST", "/cart/add/", "", b"product_id=2&quantity=%2B", form) == ["param:shape"]
    assert _anomalies(profile, "GET", "/_vti_pvt/service.pwd") == ["path:restricted_ext", "path:unknown"]
    assert _anomalies(profile, "GET", "/static/site.css.bak") == ["path:restricted_ext", "path:unknown"]
    assert score(["param:unknown_name", "param:shape"]) == 4


def test_overrides_pin_a_class_and_exempt_a_parameter(learned):
    data = json.loads(json.dumps(learned))
    data["overrides"] = {"class": {"/api/stock/": "telemetry"}, "exempt_params": {"/products/{int}/": ["precioA"]}}
    p = Profile(data, "v1")
    assert p.endpoint_class("/api/stock/") == "telemetry"
    assert _anomalies(p, "GET", "/products/5/", "precioA=1") == []


def _ctx(path, method="GET", query="", body=b"", ctype="", staff=False):
    client = Client(key="ip:198.51.100.9", ip="198.51.100.9", user_id=None, authenticated=staff, is_staff=staff)
    ctx = RequestContext(client=client, method=method, path=path, user_agent=BROWSER, started=T0, t0=0.0)
    ctx.params = request_params(query, body or None, ctype)
    return ctx


def test_profile_anomalies_join_the_validators_evidence(profile):
    bans = MemoryBans()
    ctx = _ctx("/products/5/", query="precioA=4250")
    d = decide(ctx, scan_parts(query_string="precioA=4250"), bans=bans, now=T0, use_llm=False, profile=profile)
    assert d is not None and not d.refuses and d.reasons == ["param:unknown_name"]
    assert d.details["profile_score"] == 2
    # the same request without a profile: nothing to say (cold start is today's behaviour)
    assert decide(_ctx("/products/5/", query="precioA=4250"), scan_parts(query_string="precioA=4250"), bans=bans,
                  now=T0, use_llm=False, profile=None) is None
    # sustained: the third anomalous request of the client within the window blocks
    for i in range(2):
        d = decide(_ctx("/_vti_pvt/x"), scan_parts(), bans=bans, now=T0 + 10 + i, use_llm=False, profile=profile)
    assert d.refuses and d.reasons[0] == "profile:sustained" and d.details["profile_flags"] == 3
    # staff are left out
    assert decide(_ctx("/_vti_pvt/x", staff=True), scan_parts(), bans=MemoryBans(), now=T0, use_llm=False,
                  profile=profile) is None


def _feed(win, ts, path, method="GET", nav=False):
    flags = arrival_flags(authenticated=False, user_agent=BROWSER, path=path) | (FLAG_NAVIGATED if nav else 0)
    snap = win.arrive((ts, method, path, flags), 600)
    win.complete((ts, 204 if method == "POST" else 200, 3.0, False))
    return snap


def test_beacons_at_their_learned_pace_are_no_flood(profile):
    win = ClientWindow(500)
    for i in range(25):
        _feed(win, T0 - 7200 + i * 60, "/products/1/")
    snap = None
    for i in range(55):
        snap = _feed(win, T0 + i * 0.15, "/t/collect/", "POST")
    without = evaluate(snap)
    assert "request_flood" in without.black                  # today's fixed threshold
    allowance = profile.endpoints["/t/collect/"].allowance_10s
    with_profile = evaluate(snap, profile=profile)
    assert with_profile.facts["count_10s"] == 55 - allowance
    assert ("request_flood" in with_profile.black) == (55 - allowance >= 50)


def test_ids_followed_through_the_sites_links_are_browsing():
    clicks = [(T0 + i * 4, "GET", f"/products/{i}/", FLAG_NAVIGATED) for i in range(1, 9)]
    assert probing_run(clicks, 1.0) == 0
    fast = [(T0 + i * 0.3, "GET", f"/products/{i}/", FLAG_NAVIGATED) for i in range(1, 9)]
    assert probing_run(fast, 1.0) == 7                       # the first is a click, the rest too fast
    bare = [(T0 + i * 4, "GET", f"/api/users/{i}/", 0) for i in range(1, 9)]
    assert probing_run(bare, 1.0) == 8


def test_sequential_rule_with_and_without_a_profile(profile):
    win = ClientWindow(500)
    for i in range(25):
        _feed(win, T0 - 7200 + i * 60, "/about/")
    snap = None
    for i in range(1, 9):
        snap = _feed(win, T0 + i * 4, f"/products/{i}/", nav=True)
    assert "sequential_id_probing" in evaluate(snap).fired            # cold start: as today
    assert "sequential_id_probing" not in evaluate(snap, profile=profile).fired


def test_referer_host():
    assert referer_host("https://Shop.Example:8443/a/b?c#d") == "shop.example:8443"
    assert referer_host("android-app://x") == "x"
    assert referer_host("") == ""


# ── settings ──────────────────────────────────────────────────────────────
@pytest.mark.parametrize(("value", "ok"), [
    ({"param:shape": 3}, True), ({}, True), ({"param:nope": 1}, False), ({"path:unknown": -1}, False),
    ([("param:shape", 1)], False), ({"param:shape": 1.5}, False),
])
def test_profile_weights_are_checked_e021(settings, value, ok):
    from smartlayer.checks.settings import check_settings

    settings.SMART_MIDDLEWARE = {"PROFILE_WEIGHTS": value}
    assert [m.id for m in check_settings()] == ([] if ok else ["smartlayer.E021"])


def test_weights_are_configurable(sl):
    assert score(["path:unknown"]) == 1
    sl(PROFILE_WEIGHTS={"path:unknown": 3})
    assert score(["path:unknown", "param:shape"]) == 5


def test_the_model_judges_a_client_by_its_pages_not_their_beacons_and_images():
    """fs2 counts a page's assets and beacons apart: they do not make the client's pace."""
    from smartlayer.ml.features import FEATURE_NAMES, extract
    from smartlayer.request.facts import FLAG_ASSET, FLAG_TELEMETRY

    win, quiet = ClientWindow(500), ClientWindow(500)
    snap = quiet_snap = None
    for i in range(10):
        quiet_snap = quiet.arrive((T0 + i, "GET", f"/products/{i}/", 0), 600)
        snap = win.arrive((T0 + i, "GET", f"/products/{i}/", 0), 600)
        win.arrive((T0 + i + 0.1, "GET", f"/media/{i}-1.jpg", FLAG_ASSET), 600)
        win.arrive((T0 + i + 0.2, "POST", "/t/collect/", FLAG_TELEMETRY), 600)
    with_resources, without = extract(snap), extract(quiet_snap)
    for name in ("count_10s", "count_60s", "count_window", "log_gap_mean_s", "gap_cv", "share_post",
                 "page_views", "log_page_gap_mean_s", "distinct_paths_60s"):
        i = FEATURE_NAMES.index(name)
        assert with_resources[i] == without[i], name
    assert with_resources[FEATURE_NAMES.index("assets")] == 9  # the current page's are still to come
