"""What is normal for a site, run live: gunicorn with 4 sync workers on Redis + PostgreSQL.

* A premium customer bursting past its per-minute quota gets exactly its quota
  and 429s with ``Retry-After`` — never a 403, never a ban (measured before:
  35 × 200, 85 × 403 and a one-hour ban for 120 requests at once).
* An office behind one address — 20 people, each with the site's cookie, a
  page a second each — is served throughout (measured before: everyone
  refused within 15 s as one flooding client, then banned for an hour).

Both run with the default rules (flood at 50 requests in 10 s, bans on), the
settings an owner starts from; only the quota and the proxy count are set.
"""
from __future__ import annotations

import random
import secrets
import threading
import time
from collections import Counter

import pytest

from tests.integration.live import parallel, request, wait_for_minute_room

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def sign_in(server, username: str, ip: str) -> dict[str, str]:
    """The session cookie of ``username``, signed in through a worker."""
    r = request(server, "POST", f"/_debug/login?username={username}", ip)
    assert r.status_code == 200, r.text
    return {"sessionid": r.cookies["sessionid"]}


def why_refused() -> Counter:
    """Refused log rows by client kind and reason (written within a second by the workers' log threads)."""
    from smartlayer.models import RequestLog

    time.sleep(1.5)
    rows = RequestLog.objects.filter(was_blocked=True).values_list("client_key", "reason", "details")
    return Counter(("cookie" if "~c:" in key else key, reason,
                    ",".join(r for d in (details or {}).get("decisions", []) for r in d.get("reasons", [])))
                   for key, reason, details in rows)


def test_a_premium_customer_bursting_past_its_quota_gets_429s_not_a_ban(gunicorn, django_user_model):
    from smartlayer.models import Ban

    django_user_model.objects.create_user(username="acme", password="x", plan="premium")
    server = gunicorn({"RATE_LIMIT_PLANS": {"free": {"/api/limited": {"per_minute": 5}},
                                            "premium": {"/api/limited": {"per_minute": 50}}}})
    ip = "198.51.100.90"
    cookies = sign_in(server, "acme", ip)
    wait_for_minute_room()
    responses = parallel(16, lambda _: request(server, "GET", "/api/limited", ip, cookies=cookies), range(120))
    codes = Counter(r.status_code for r in responses)
    print(f"premium customer, 120 requests at once over {len(server.workers)} workers: {dict(codes)}")
    assert codes == {200: 50, 429: 70}
    assert all(r.headers.get("Retry-After") for r in responses if r.status_code == 429)
    assert {int(r.headers["X-Worker-Pid"]) for r in responses} == server.workers  # all four took part
    assert not Ban.objects.exists()
    # the customer is still welcome elsewhere on the site, and so is its address
    assert request(server, "GET", "/page/1", ip, cookies=cookies).status_code == 200
    assert request(server, "GET", "/page/1", ip).status_code == 200


def test_an_office_behind_one_address_browsing_a_page_a_second_each_is_served(gunicorn):
    from smartlayer.models import Ban

    server = gunicorn({})
    office = "198.51.100.95"
    people = [{"csrftoken": secrets.token_hex(16)} for _ in range(20)]
    seconds = 30
    rng = random.Random(7)
    tours = [rng.sample(range(1, 100_000), seconds) for _ in people]
    codes: Counter = Counter()
    refused: list[tuple[int, str, int]] = []
    lock = threading.Lock()

    def browse(n: int) -> None:
        start = time.monotonic() + n * 0.05  # people do not start in the same millisecond
        for i in range(seconds):
            time.sleep(max(0.0, start + i - time.monotonic()))
            # each person its own reading of a large site (ids in order are the product-order case, apart)
            r = request(server, "GET", f"/page/{tours[n][i]}", office, cookies=people[n])
            with lock:
                codes[r.status_code] += 1
                if r.status_code != 200:
                    refused.append((n, r.headers.get("X-Worker-Pid", "?"), r.status_code))

    threads = [threading.Thread(target=browse, args=(n,)) for n in range(len(people))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"office of {len(people)} behind {office}, a page a second each for {seconds} s: {dict(codes)}")
    assert refused == [], why_refused()
    assert codes[200] == len(people) * seconds
    assert not Ban.objects.exists()
    # the address is not a free pass: a cookieless flood from it is still refused
    flood = parallel(16, lambda _: request(server, "GET", "/page/1", office), range(120))
    assert any(r.status_code == 403 for r in flood)
