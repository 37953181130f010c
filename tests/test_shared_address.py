"""Know the site: several people behind one address, customers using the quota they bought.

An office behind one NAT used to be one client: twenty people browsing were
refused within seconds (request_flood) and banned.  A premium customer sending
its 120 requests at once got 403s and a ban instead of its quota and 429s.
"""
from __future__ import annotations

import secrets

import pytest
from django.test import Client as HttpClient

from smartlayer.models import Ban
from smartlayer.state import bans
from tests.conftest import BROWSER_UA

pytestmark = pytest.mark.django_db

OFFICE = "198.51.100.40"


def person(address: str = OFFICE) -> HttpClient:
    """A browser behind ``address`` holding its own session cookie from the site."""
    c = HttpClient(HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR=address)
    c.cookies["csrftoken"] = secrets.token_hex(16)  # a session cookie of an empty session Django deletes
    return c


def test_an_office_behind_one_address_browses_without_refusal(sl):
    sl(BAN_AFTER_BLOCKS=3)
    people = [person() for _ in range(20)]
    codes = [p.get(f"/page/{n}").status_code for n in range(12) for p in people]  # 240 requests in a moment
    assert set(codes) == {200}
    assert not Ban.objects.exists()


def test_the_address_flood_limit_grows_with_the_people_behind_it_and_no_further(sl):
    sl(SHARED_ADDRESS_MAX_CLIENTS=4, BAN_AFTER_BLOCKS=0, GREY_SUSTAINED_COUNT=0, grey_elevated_rate_10s=1000)
    people = [person() for _ in range(8)]
    codes = [p.get("/page/1").status_code for _ in range(30) for p in people]
    # 8 people but at most 4 counted: the address as a whole is refused past 4 × 50 requests in 10 s
    assert codes.count(200) < 4 * 50 + 8 and 403 in codes


def test_inventing_a_cookie_per_request_gains_nothing(sl):
    """A cookie seen for the first time is judged as the address: a flood stays a flood."""
    sl(GREY_SUSTAINED_COUNT=0)
    codes = [person("198.51.100.41").get("/page/1").status_code for _ in range(60)]
    assert codes[:49] == [200] * 49 and codes[49] == 403


def test_dropping_the_cookie_falls_back_to_the_address(sl):
    sl(GREY_SUSTAINED_COUNT=0)
    address = "198.51.100.42"
    cookieless = HttpClient(HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR=address)
    codes = [cookieless.get("/page/1").status_code for _ in range(50)]
    assert codes[-1] == 403  # the address's own flood limit, as before


def test_one_flooding_person_is_refused_not_the_office(sl):
    sl(GREY_SUSTAINED_COUNT=0, BAN_AFTER_BLOCKS=0)
    colleague, flooder = person("198.51.100.43"), person("198.51.100.43")
    colleague.get("/page/1")
    assert [flooder.get("/page/1").status_code for _ in range(60)][-1] == 403
    assert colleague.get("/page/2").status_code == 200


def test_an_automatic_ban_of_the_address_spares_the_established_people_behind_it(sl):
    address = "198.51.100.44"
    colleague = person(address)
    colleague.get("/page/1")
    colleague.get("/page/2")  # established: its cookie was used before
    bans.ban(f"ip:{address}", reason="cookieless scanner", source="rule")
    assert HttpClient(HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR=address).get("/page/1").status_code == 403
    assert colleague.get("/page/3").status_code == 200
    bans.ban(f"ip:{address}", reason="the operator", source="admin", ttl=0)
    assert colleague.get("/page/4").status_code == 403  # a deliberate ban refuses everyone there


def test_a_refused_person_is_logged_under_its_own_key(sl, flush_logs):
    from smartlayer.models import RequestLog

    p = person("198.51.100.45")
    p.get("/page/1")
    p.get("/page/2")
    flush_logs()
    keys = list(RequestLog.objects.order_by("timestamp").values_list("client_key", flat=True))
    assert keys[0] == "ip:198.51.100.45" and keys[1].startswith("ip:198.51.100.45~c:")


PLANS = {"free": {"/api/generate/": {"per_minute": 2}}, "premium": {"/api/generate/": {"per_minute": 50}}}


def test_a_customer_bursting_past_its_quota_gets_429s_never_403_nor_a_ban(sl, django_user_model):
    """120 requests at once from a premium customer: exactly its quota, then 429 with Retry-After."""
    sl(RATE_LIMIT_PLANS=PLANS, BAN_AFTER_BLOCKS=3)
    user = django_user_model.objects.create_user(username="acme", password="pw", plan="premium")
    c = HttpClient(HTTP_USER_AGENT="acme-sdk/2.1 python-requests/2.32", REMOTE_ADDR="203.0.113.60")
    c.force_login(user)
    responses = [c.post("/api/generate/") for _ in range(120)]
    codes = [r.status_code for r in responses]
    assert codes.count(200) == 50 and codes.count(429) == 70 and 403 not in codes
    assert all(r.headers.get("Retry-After") for r in responses if r.status_code == 429)
    assert not Ban.objects.exists()


def test_a_burst_within_the_plan_is_no_flood_on_the_customers_next_page(sl, django_user_model):
    """The plan counted the burst; the rate rules count what the plan does not govern."""
    sl(RATE_LIMIT_PLANS=PLANS, GREY_SUSTAINED_COUNT=0)
    user = django_user_model.objects.create_user(username="acme4", password="pw", plan="premium")
    c = HttpClient(HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR="203.0.113.63")
    c.force_login(user)
    assert {c.post("/api/generate/").status_code for _ in range(80)} == {200, 429}
    assert [c.get(f"/page/{i}").status_code for i in range(1, 6)] == [200] * 5


def test_a_customer_off_its_plan_routes_is_still_judged_by_the_rules(sl, django_user_model):
    sl(RATE_LIMIT_PLANS=PLANS, GREY_SUSTAINED_COUNT=0)
    user = django_user_model.objects.create_user(username="acme2", password="pw", plan="premium")
    c = HttpClient(HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR="203.0.113.61")
    c.force_login(user)
    codes = [c.get("/page/1").status_code for _ in range(50)]
    assert codes[-1] == 403  # /page/ is not a route of its plan: the flood rule answers


def test_a_customer_still_meets_every_other_rule(sl, django_user_model):
    sl(RATE_LIMIT_PLANS=PLANS)
    user = django_user_model.objects.create_user(username="acme3", password="pw", plan="premium")
    c = HttpClient(HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR="203.0.113.62")
    c.force_login(user)
    assert c.get("/api/generate/?q=1%27%20OR%20%271%27%3D%271").status_code == 403  # the payload
