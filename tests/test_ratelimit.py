"""RateLimiter: every window, lifetime counts, plan-only routes, headers."""
from __future__ import annotations

import threading

import pytest

from smartlayer.detectors.ratelimit import check, user_plan
from smartlayer.models import UsageCounter
from smartlayer.request.client import Client
from smartlayer.request.decision import Action

T0 = 1_699_920_040.0  # 40 s into a minute, at the start of a UTC day


class U:
    def __init__(self, plan):
        self.plan = plan
        self.is_authenticated = True


def client(key="u:1"):
    return Client(key=key, ip="203.0.113.1", user_id=key[2:], authenticated=True)


PLANS = {
    "free": {"/api/generate/": {"per_minute": 2, "per_hour": 3, "per_day": 4}},
    "premium": {"/api/generate/": {"per_minute": 50}, "/api/analytics/": {"per_minute": 100},
                "/api/export/*": {"per_hour": 5}},
}


@pytest.fixture
def plans(sl):
    sl(RATE_LIMIT_PLANS=PLANS)


def outcomes(n, plan="free", path="/api/generate/", start=T0, step=0.0, key="u:1"):
    return [check(client(key), U(plan), path, start + i * step) for i in range(n)]


def test_per_minute_boundary(plans):
    results = outcomes(3)
    assert results[0] is None and results[1] is None
    assert results[2].action is Action.THROTTLE and results[2].reason == "ratelimit:per_minute"
    assert results[2].status == 429


def test_retry_after_counts_to_the_end_of_the_window(plans):
    decision = outcomes(3)[2]
    assert decision.headers["Retry-After"] == "20"  # 40 s into the minute


def test_next_minute_starts_fresh_but_hour_still_counts(plans):
    assert all(d is None for d in outcomes(2))
    later = outcomes(2, start=T0 + 60)
    assert later[0] is None
    assert later[1].reason == "ratelimit:per_hour"  # 4th request this hour, limit 3


def test_per_day_window(sl):
    sl(RATE_LIMIT_PLANS={"free": {"/x": {"per_day": 2}}})
    results = [check(client(), U("free"), "/x", T0 + i * 3600) for i in range(3)]
    assert results[0] is None and results[1] is None
    assert results[2].reason == "ratelimit:per_day"


def test_refused_requests_do_not_use_up_quota(plans):
    outcomes(2)
    for _ in range(10):  # hammering while throttled
        assert outcomes(1)[0].action is Action.THROTTLE
    # next minute: the hour limit (3) has only seen the 2 allowed requests
    assert outcomes(1, start=T0 + 60)[0] is None


@pytest.mark.django_db
def test_lifetime_limit_in_the_database(sl):
    sl(RATE_LIMIT_PLANS={"free": {"/x": {"lifetime": 3}}})
    results = [check(client(), U("free"), "/x", T0 + i * 86400) for i in range(5)]
    assert [r is None for r in results] == [True, True, True, False, False]
    assert results[3].reason == "ratelimit:lifetime" and results[3].headers["Retry-After"]
    assert UsageCounter.objects.get(client_key="u:1", plan="free", route="/x").count == 3


@pytest.mark.django_db(transaction=True)
def test_lifetime_limit_is_exact_under_concurrency(sl):
    sl(RATE_LIMIT_PLANS={"free": {"/x": {"lifetime": 10}}})
    allowed = []
    lock = threading.Lock()

    def worker():
        from django.db import connection

        for _ in range(5):
            ok = check(client(), U("free"), "/x", T0) is None
            with lock:
                allowed.append(ok)
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sum(allowed) == 10
    assert UsageCounter.objects.get().count == 10


def test_each_plan_has_its_own_counters(plans):
    assert outcomes(3, plan="free")[2].action is Action.THROTTLE
    assert all(d is None for d in outcomes(3, plan="premium"))  # upgrading starts fresh


def test_route_only_in_higher_plan_is_403_for_lower(plans):
    decision = outcomes(1, path="/api/analytics/")[0]
    assert decision.action is Action.DENY and decision.status == 403
    assert decision.details["required"] == "premium"


def test_prefix_routes(plans):
    results = outcomes(6, plan="premium", path="/api/export/csv/1")
    assert [r is None for r in results] == [True] * 5 + [False]
    assert outcomes(1, plan="free", path="/api/export/anything")[0].action is Action.DENY


def test_unlimited_path_and_missing_plan_pass(plans):
    assert outcomes(1, path="/elsewhere/")[0] is None
    assert check(client(), U(None), "/api/generate/", T0) is None
    assert check(client(), object(), "/api/generate/", T0) is None  # no plan attribute at all
    assert check(client(), U("unknown-plan"), "/api/generate/", T0) is None


def test_anonymous_plan_counts_by_ip(sl):
    sl(RATE_LIMIT_PLANS={"anon": {"/api/": {"per_minute": 1}}, "free": {"/api/": {"per_minute": 5}}},
       ANONYMOUS_PLAN="anon")
    anon = Client(key="ip:203.0.113.5", ip="203.0.113.5", user_id=None, authenticated=False)
    assert check(anon, None, "/api/", T0) is None
    assert check(anon, None, "/api/", T0).action is Action.THROTTLE
    other = Client(key="ip:203.0.113.6", ip="203.0.113.6", user_id=None, authenticated=False)
    assert check(other, None, "/api/", T0) is None


def test_anonymous_without_anonymous_plan_is_not_limited(plans):
    anon = Client(key="ip:203.0.113.5", ip="203.0.113.5", user_id=None, authenticated=False)
    assert all(check(anon, None, "/api/generate/", T0) is None for _ in range(5))


def test_ietf_headers(sl):
    sl(RATE_LIMIT_PLANS=PLANS, RATELIMIT_HEADERS=True)
    first = outcomes(1)[0]
    assert first.action is Action.ALLOW
    assert first.headers["RateLimit-Policy"] == '"per_minute";q=2;w=60, "per_hour";q=3;w=3600, "per_day";q=4;w=86400'
    assert first.headers["RateLimit"] == '"per_minute";r=1;t=20'


def test_dotted_plan_field(sl):
    sl(PLAN_FIELD="profile.subscription")

    class P:
        subscription = "premium"

    class V:
        profile = P()

    assert user_plan(V()) == "premium"


def test_concurrent_per_minute_counting_is_exact(sl):
    sl(RATE_LIMIT_PLANS={"free": {"/x": {"per_minute": 50}}})
    allowed = []
    lock = threading.Lock()

    def worker():
        for _ in range(40):
            ok = check(client(), U("free"), "/x", T0) is None
            with lock:
                allowed.append(ok)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sum(allowed) == 50


# ── through HTTP ───────────────────────────────────────────────────────────
@pytest.mark.django_db
def test_429_over_http_carries_retry_after_and_json(browser, django_user_model, sl):
    sl(RATE_LIMIT_PLANS={"free": {"/api/generate/": {"per_minute": 1}}})
    user = django_user_model.objects.create_user(username="f", password="x", plan="free")
    browser.force_login(user)
    assert browser.get("/api/generate/").status_code == 200
    r = browser.get("/api/generate/", HTTP_ACCEPT="application/json")
    assert r.status_code == 429
    assert int(r["Retry-After"]) >= 1
    assert r.json() == {"error": "too_many_requests", "reason": "rate limit exceeded"}


@pytest.mark.django_db
def test_plan_only_route_over_http(browser, django_user_model, sl):
    sl(RATE_LIMIT_PLANS=PLANS)
    user = django_user_model.objects.create_user(username="f", password="x", plan="free")
    browser.force_login(user)
    r = browser.get("/api/analytics/")
    assert r.status_code == 403
    assert "premium" in r.content.decode()


@pytest.mark.django_db
def test_ratelimit_headers_on_allowed_response(browser, django_user_model, sl):
    sl(RATE_LIMIT_PLANS=PLANS, RATELIMIT_HEADERS=True)
    user = django_user_model.objects.create_user(username="f", password="x", plan="free")
    browser.force_login(user)
    r = browser.get("/api/generate/")
    assert r.status_code == 200 and r["RateLimit-Policy"].startswith('"per_minute";q=2')
