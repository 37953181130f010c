"""The labelled traffic generator: determinism, labels, and that each
scenario really behaves the way its name promises."""
from __future__ import annotations

import io
import ipaddress
import json
import statistics
from collections import Counter, defaultdict
from itertools import pairwise
from urllib.parse import unquote_plus

import pytest

from smartlayer.conf import DEFAULT_SENSITIVE_PATHS
from smartlayer.sim import (
    BENIGN_LABELS,
    DEFAULT_START,
    HOSTILE_LABELS,
    SCENARIOS,
    SiteMap,
    TrafficRecord,
    generate,
    generate_attack_day,
    generate_normal_week,
    read_jsonl,
    to_jsonl,
)
from smartlayer.sim.generator import OPT_IN_SCENARIOS
from smartlayer.sim.scenarios import BROWSER_UAS, PAYLOADS, PROBE_PATHS, activity

HOUR = 3600.0


@pytest.fixture(scope="module")
def attack_day() -> list[TrafficRecord]:
    return generate_attack_day(11, profiled=True)


@pytest.fixture(scope="module")
def normal_week() -> list[TrafficRecord]:
    return generate_normal_week(5, humans=60, profiled=True)


def by_client(records: list[TrafficRecord]) -> dict[str, list[TrafficRecord]]:
    out: dict[str, list[TrafficRecord]] = defaultdict(list)
    for r in records:
        out[r.client_id].append(r)
    return out


def of_label(records: list[TrafficRecord], label: str) -> dict[str, list[TrafficRecord]]:
    return by_client([r for r in records if r.label == label])


# ── determinism and shape ─────────────────────────────────────────────────
def _small(seed: int) -> list[TrafficRecord]:
    return generate(start=DEFAULT_START + 10 * HOUR, duration=4 * HOUR, seed=seed, humans=15,
                    scenarios={label: 1 for label in sorted(SCENARIOS) if label != "human"})


def test_same_seed_same_output():
    assert _small(3) == _small(3)


def test_different_seed_different_output():
    a, b = _small(3), _small(4)
    assert a != b
    assert [r.ip for r in a[:50]] != [r.ip for r in b[:50]]


def test_mapping_order_does_not_matter():
    kw = dict(start=DEFAULT_START, duration=2 * HOUR, seed=9, humans=3)
    one = generate(**kw, scenarios={"scraper": 1, "burst": 1})
    two = generate(**kw, scenarios={"burst": 1, "scraper": 1})
    assert one == two


def test_more_humans_keep_the_first_ones():
    kw = dict(start=DEFAULT_START, duration=6 * HOUR, seed=2)
    few = by_client(generate(**kw, humans=3))
    more = by_client(generate(**kw, humans=6))
    for cid, recs in few.items():
        assert more[cid] == recs


def test_sorted_and_inside_the_window(attack_day):
    ts = [r.ts for r in attack_day]
    assert ts == sorted(ts)
    assert ts[0] >= DEFAULT_START and ts[-1] < DEFAULT_START + 86400


def test_unknown_scenario_and_humans_in_mapping_are_refused():
    with pytest.raises(ValueError, match="unknown scenario"):
        generate(start=0, duration=60, seed=1, humans=1, scenarios={"ddos": 1})
    with pytest.raises(ValueError, match="humans="):
        generate(start=0, duration=60, seed=1, humans=1, scenarios={"human": 2})


def test_params_reach_the_scenario():
    recs = generate(start=DEFAULT_START, duration=HOUR, seed=1, humans=0,
                    scenarios={"enumeration": 1}, params={"enumeration": {"count": 7, "first_id": 100}})
    ids = [int(r.path.split("/")[3]) for r in recs if r.path.startswith(("/api/users/", "/api/orders/"))]
    assert ids == list(range(100, 107))


def test_short_window_still_shows_every_human():
    recs = generate(start=DEFAULT_START + 3 * HOUR, duration=600, seed=8, humans=25)
    assert len({r.client_id for r in recs}) == 25


# ── labels ────────────────────────────────────────────────────────────────
def test_labels_partition_the_scenarios():
    assert BENIGN_LABELS == {"human", "api_client", "crawler", "office", "customer", "telemetry", "product_order"}
    assert HOSTILE_LABELS | BENIGN_LABELS == set(SCENARIOS)
    assert not HOSTILE_LABELS & BENIGN_LABELS


def test_attack_day_has_every_scenario_with_its_label(attack_day):
    labels = Counter(r.label for r in attack_day)
    assert set(labels) == set(SCENARIOS) - OPT_IN_SCENARIOS
    assert labels["human"] > labels["scraper"]  # benign background dominates
    for r in attack_day:
        assert r.client_id.rsplit("-", 1)[0] == r.label


def test_normal_week_is_benign_only_and_follows_the_day(normal_week):
    assert {r.label for r in normal_week} == BENIGN_LABELS - OPT_IN_SCENARIOS
    human = [r.ts for r in normal_week if r.label == "human"]
    by_hour = Counter(int(t % 86400 // 3600) for t in human)
    assert by_hour[20] > 3 * by_hour[3]  # evening busier than the small hours
    assert normal_week[-1].ts - normal_week[0].ts > 6.5 * 86400


def test_diurnal_weights():
    assert activity(DEFAULT_START + 20 * HOUR) == 1.0      # Monday 20:00
    assert activity(DEFAULT_START + 3 * HOUR) < 0.1       # Monday 03:00
    assert activity(DEFAULT_START + 5 * 86400 + 20 * HOUR) == pytest.approx(0.8)  # Saturday


# ── addresses ─────────────────────────────────────────────────────────────
def test_addresses_belong_to_one_actor(attack_day):
    owners: dict[str, set[str]] = defaultdict(set)
    for r in attack_day:
        owners[r.ip].add(r.client_id)
    for ip, clients in owners.items():
        if len(clients) > 1:  # only humans behind one NAT may share
            assert all(c.startswith("human-") for c in clients), (ip, clients)
    for cid, recs in by_client(attack_day).items():
        if not cid.startswith(("distributed-", "credential_stuffing-")):
            assert len({r.ip for r in recs}) == 1, cid


def test_addresses_are_documentation_ranges_with_some_ipv6(normal_week):
    nets = [ipaddress.ip_network("198.18.0.0/15"), ipaddress.ip_network("2001:db8::/32")]
    ips = {ipaddress.ip_address(r.ip) for r in normal_week}
    assert all(any(ip in net for net in nets) for ip in ips)
    assert any(ip.version == 6 for ip in ips)


# ── benign behaviour ──────────────────────────────────────────────────────
def test_humans_browse_like_people(normal_week):
    humans = [r for r in normal_week if r.label == "human"]
    assert {r.user_agent for r in humans} <= set(BROWSER_UAS)
    assert any(r.path.startswith("/static/") for r in humans)
    assert any(r.status == 404 for r in humans)
    logins = [r for r in humans if r.method == "POST" and r.path == "/accounts/login/"]
    assert logins and any(r.status == 302 for r in logins)
    assert all("csrfmiddlewaretoken=" in r.body for r in logins)
    assert any(r.user_id for r in humans) and any(r.user_id is None for r in humans)
    assert any(r.method == "POST" and r.path == "/cart/add/" for r in humans)


def test_human_think_times_vary(normal_week):
    gaps = []
    for recs in of_label(normal_week, "human").values():
        pages = [r.ts for r in recs if not r.path.startswith(("/static/", "/media/", "/favicon"))]
        gaps += [b - a for a, b in pairwise(pages) if b - a < 1800]
    assert len(set(round(g, 1) for g in gaps)) > 100
    assert min(gaps) < 5 < max(gaps) and max(gaps) > 120


def test_api_clients_are_steady_and_authenticated(normal_week):
    for recs in of_label(normal_week, "api_client").values():
        assert len({r.user_agent for r in recs}) == 1
        calls = [r for r in recs if r.path != "/api/token/"]
        assert all(r.user_id for r in calls) and all(r.path.startswith("/api/") for r in calls)
        assert sum(r.status < 400 for r in calls) / len(calls) > 0.95


def test_crawlers_are_polite(normal_week):
    site = SiteMap()
    for recs in of_label(normal_week, "crawler").values():
        assert recs[0].path == "/robots.txt"
        assert all(site.allowed_by_robots(r.path) for r in recs)
        assert "bot" in recs[0].user_agent.lower()
        gaps = [b.ts - a.ts for a, b in pairwise(recs)]
        assert min(gaps) >= 2.0 - 1e-3


# ── hostile behaviour ─────────────────────────────────────────────────────
def test_enumeration_walks_consecutive_ids(attack_day):
    for cid, recs in of_label(attack_day, "enumeration").items():
        ids = [int(r.path.split("/")[3]) for r in recs
               if r.path.startswith(("/api/users/", "/api/orders/")) and r.path.count("/") == 4]
        assert len(ids) >= 50, cid
        assert ids == list(range(ids[0], ids[0] + len(ids))), cid


def test_scanner_probes_sensitive_paths_with_payloads_in_query_and_body(attack_day):
    for cid, recs in of_label(attack_day, "vuln_scanner").items():
        paths = {r.path for r in recs}
        assert any(p.lower().startswith(tuple(DEFAULT_SENSITIVE_PATHS)) for p in paths), cid
        assert paths & set(PROBE_PATHS)
        assert any(any(x in unquote_plus(r.query) for x in PAYLOADS) for r in recs), cid
        assert any(any(x in _decoded_body(r) for x in PAYLOADS) for r in recs), cid
    scanned = {r.path for r in attack_day if r.label == "vuln_scanner"}
    assert any(p.endswith(".php") for p in scanned)


def _decoded_body(rec: TrafficRecord) -> str:
    if rec.content_type == "application/json":
        return " ".join(str(v) for v in json.loads(rec.body).values())
    return unquote_plus(rec.body)


def test_scanners_sometimes_send_no_user_agent():
    recs = generate(start=DEFAULT_START, duration=HOUR, seed=1, humans=0, scenarios={"vuln_scanner": 1},
                    params={"vuln_scanner": {"tool": "bare", "requests": 200}})
    assert any(r.user_agent == "" for r in recs) and any(r.user_agent for r in recs)


def test_distributed_spreads_over_many_ips(attack_day):
    for cid, recs in of_label(attack_day, "distributed").items():
        per_ip = Counter(r.ip for r in recs)
        assert len(per_ip) >= 20, cid
        assert max(per_ip.values()) <= 10, cid


def test_scrapers_are_fast_and_mostly_look_like_browsers(attack_day):
    for cid, recs in of_label(attack_day, "scraper").items():
        products = {r.path for r in recs if "/products/" in r.path}
        assert len(products) >= 300, cid
        duration = recs[-1].ts - recs[0].ts
        assert len(recs) / duration > 0.2, cid  # > 12 a minute, sustained
    scrapers = [r for r in attack_day if r.label == "scraper"]
    assert sum(r.user_agent in BROWSER_UAS for r in scrapers) / len(scrapers) > 0.5


def test_credential_stuffing_hammers_the_login_from_few_ips(attack_day):
    site = SiteMap()
    for cid, recs in of_label(attack_day, "credential_stuffing").items():
        posts = [r for r in recs if r.method == "POST" and r.path in (site.login_path, site.api_login_path)]
        assert len(posts) >= 100, cid
        assert len({r.ip for r in recs}) <= 3
        failed = sum(r.status in (200, 401, 403) and r.status != 302 for r in posts)
        if posts[0].path == site.api_login_path:
            failed = sum(r.status == 401 for r in posts)
        assert failed / len(posts) > 0.9, cid


def test_burst_comes_after_a_long_idle(attack_day):
    for cid, recs in of_label(attack_day, "burst").items():
        found = False
        for i, r in enumerate(recs):
            window = [x for x in recs[i:i + 60] if x.ts - r.ts <= 10.0]
            if len(window) >= 15 and len({x.path for x in window}) == 1:
                idle = r.ts - recs[i - 1].ts if i else float("inf")
                found = idle >= 40 * 60
                break
        assert found, cid


def test_slow_drip_stays_slow_for_hours(attack_day):
    for cid, recs in of_label(attack_day, "slow_drip").items():
        assert recs[-1].ts - recs[0].ts >= 2 * HOUR, cid
        gaps = [b.ts - a.ts for a, b in pairwise(recs)]
        assert min(gaps) >= 30.0
        assert any(r.path in PROBE_PATHS for r in recs)


def test_hostile_is_not_separable_by_user_agent_alone(attack_day):
    benign_library = any(r.label == "api_client" and "python" in r.user_agent.lower() or
                         r.label == "api_client" and "http" in r.user_agent.lower() for r in attack_day)
    hostile_browser = Counter(r.label for r in attack_day if r.label in HOSTILE_LABELS and r.user_agent in BROWSER_UAS)
    assert benign_library
    assert len(hostile_browser) >= 5


# ── the site's answers ────────────────────────────────────────────────────
@pytest.mark.parametrize(("method", "path", "kwargs", "status"), [
    ("GET", "/", {}, 200),
    ("GET", "/.env", {}, 404),
    ("GET", "/wp-admin/", {}, 404),
    ("GET", "/about", {}, 301),
    ("GET", "/products/12/", {}, 200),
    ("GET", "/products/47/", {}, 404),            # deleted: stale links are real 404s
    ("GET", "/products/999999/", {}, 404),
    ("GET", "/account/", {}, 302),
    ("GET", "/account/", {"authenticated": True}, 200),
    ("POST", "/accounts/login/", {}, 200),        # failed form login re-renders
    ("POST", "/accounts/login/", {"login_ok": True}, 302),
    ("POST", "/accounts/login/", {"login_ok": True, "csrf": False}, 403),
    ("POST", "/api/login/", {}, 401),
    ("GET", "/api/users/3/", {}, 401),
    ("GET", "/api/users/3/", {"authenticated": True}, 200),
    ("GET", "/api/users/99999/", {"authenticated": True}, 404),
    ("POST", "/api/orders/", {"authenticated": True}, 201),
    ("GET", "/admin/", {}, 302),
    ("GET", "/admin/", {"authenticated": True, "staff": True}, 200),
    ("GET", "/admin/nope/", {"authenticated": True, "staff": True}, 404),
    ("GET", "/static/css/site.css", {"cached": True}, 304),
    ("POST", "/about/", {}, 405),
])
def test_sitemap_statuses(method, path, kwargs, status):
    assert SiteMap().status(method, path, **kwargs) == status


def test_sitemap_is_configurable():
    site = SiteMap(n_products=10, login_path="/login/", categories=("a", "b"))
    assert site.status("GET", "/products/11/") == 404
    assert site.status("POST", "/login/", login_ok=True) == 302
    assert site.status("GET", "/category/b/") == 200
    assert site.status("GET", "/category/shoes/") == 404


# ── files ─────────────────────────────────────────────────────────────────
def test_jsonl_round_trip(attack_day):
    odd = TrafficRecord(ts=1.5, ip="2001:db8::1", method="POST", path="/ü", query="q=\"x\"", status=200,
                        user_agent="tab\there \\ \"quote\"", response_ms=0.1, body='{"a": "é"}',
                        content_type="application/json", user_id="7", label="scraper", client_id="scraper-0001")
    records = [odd] + attack_day[:3000] + [r for r in attack_day if r.body][:500]
    buf = io.StringIO()
    assert to_jsonl(records, buf) == len(records)
    buf.seek(0)
    assert read_jsonl(buf) == records


# ── browser automation, a site with telemetry, drift ──────────────────────
@pytest.fixture(scope="module")
def automation_day() -> list[TrafficRecord]:
    from smartlayer.sim import generate_automation_day, with_telemetry

    return generate_automation_day(21, humans=60, sitemap=with_telemetry(SiteMap()),
                                   bots={"moderate_bot": 12, "advanced_bot": 12})


def _sessions(records: list[TrafficRecord], gap: float = 1800.0) -> list[list[TrafficRecord]]:
    out: list[list[TrafficRecord]] = []
    for recs in by_client(records).values():
        current = [recs[0]]
        for a, b in pairwise(recs):
            if b.ts - a.ts > gap:
                out.append(current)
                current = []
            current.append(b)
        out.append(current)
    return out


def _pages(recs: list[TrafficRecord]) -> list[TrafficRecord]:
    return [r for r in recs if r.method == "GET" and not r.path.startswith(("/static/", "/media/", "/favicon"))]


def test_moderate_bots_look_like_browsers_and_work_down_a_list(automation_day):
    sessions = _sessions([r for r in automation_day if r.label == "moderate_bot"])
    assert len(sessions) >= 12
    for recs in sessions:
        assert {r.user_agent for r in recs} <= set(BROWSER_UAS)
        pages = _pages(recs)
        span = pages[-1].ts - pages[0].ts
        assert span <= 111 + 7 and all(r.referer == "" for r in pages)   # direct navigation
        assert all(2.0 <= b.ts - a.ts <= 6.0 + 0.5 for a, b in pairwise(pages) if b.ts - a.ts < 30)
        assert not any(r.path == "/t/collect/" for r in recs)              # nobody moves a mouse
    assets = sum(1 for r in automation_day if r.label == "moderate_bot" and r.path.startswith("/media/"))
    pages_all = sum(len(_pages(s)) for s in sessions)
    assert assets < 0.3 * pages_all                                        # few or no assets
    assert 25 <= statistics.median(len(_pages(s)) * 4 for s in sessions) <= 111 * 2


def test_advanced_bots_follow_links_with_assets_but_keep_a_tell(automation_day):
    bots = of_label(automation_day, "advanced_bot")
    assert len(bots) == 12
    for recs in bots.values():
        pages = _pages(recs)
        assert sum(1 for r in pages if r.referer.startswith("https://shop.example.com/")) >= 0.8 * (len(pages) - 3)
        assert any(r.path.startswith(("/media/", "/static/")) for r in recs)
        gaps = [b.ts - a.ts for a, b in pairwise(pages) if b.ts - a.ts < 600]
        beacons = sum(1 for r in recs if r.path == "/t/collect/")
        cv = statistics.pstdev(gaps) / statistics.mean(gaps)
        # at least one tell: no telemetry, too even or too short a pause, or a listing crawled in order
        breadth = sum(1 for r in pages if r.path.startswith("/products/")) > 0.8 * len(pages)
        assert beacons == 0 or cv < 0.5 or statistics.mean(gaps) < 5 or breadth


def test_people_of_a_site_with_telemetry_post_beacons_while_they_read(automation_day):
    people = of_label(automation_day, "human")
    with_beacons = [recs for recs in people.values() if any(r.path == "/t/collect/" for r in recs)]
    assert len(with_beacons) > 0.8 * len(people)
    for recs in with_beacons[:10]:
        for r in recs:
            if r.path == "/t/collect/":
                assert r.method == "POST" and r.status == 204 and r.referer.startswith("https://shop.example.com/")
    # the default site has none: the ready-made days are as they were
    assert not any(r.path == "/t/collect/" for r in generate(start=DEFAULT_START, duration=6 * HOUR, seed=3,
                                                             humans=10, diurnal=False))


def test_drift_adds_an_endpoint_and_doubles_the_telemetry_rate():
    from smartlayer.sim import drifted, with_telemetry

    site = with_telemetry(SiteMap())
    before = generate(start=DEFAULT_START, duration=6 * HOUR, seed=8, humans=40, diurnal=False, sitemap=site)
    after = generate(start=DEFAULT_START, duration=6 * HOUR, seed=8, humans=40, diurnal=False, sitemap=drifted(site))
    beacons = lambda recs: [r for r in recs if r.method == "POST" and r.path.startswith("/t/")]  # noqa: E731
    assert {r.path for r in beacons(before)} == {"/t/collect/"}
    assert {r.path for r in beacons(after)} == {"/t/collect/", "/t/vitals/"}
    pages = lambda recs: len(_pages(recs))  # noqa: E731
    rate_before, rate_after = len(beacons(before)) / pages(before), len(beacons(after)) / pages(after)
    assert 1.5 < rate_after / rate_before < 2.5
