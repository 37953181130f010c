"""The one enforcement step: a cache fault never turns a block into a pass,
and operators cannot lock themselves out (staff, loopback)."""
from __future__ import annotations

import pytest

from smartlayer import state
from smartlayer.models import Ban
from smartlayer.policy import enforce
from smartlayer.request.client import Client
from smartlayer.request.context import RequestContext
from smartlayer.request.decision import Action, Evidence
from smartlayer.state.ban_backends import CacheBans, MemoryBans
from tests.conftest import BROWSER_UA

pytestmark = pytest.mark.django_db

SQLI = "/page/1?q=1%27%20OR%20%271%27%3D%271"


def _ctx(key="ip:203.0.113.50", ip="203.0.113.50", *, staff=False, user=None) -> RequestContext:
    client = Client(key=key, ip=ip, user_id=user, authenticated=user is not None, is_staff=staff)
    return RequestContext(client=client, method="GET", path="/", user_agent=BROWSER_UA, started=0.0, t0=0.0)


@pytest.fixture
def broken_counters(monkeypatch):
    """The cache raises on every counter (Redis away)."""
    def fail(*args, **kwargs):
        raise ConnectionError("cache is away")

    monkeypatch.setattr(state, "incr", fail)
    monkeypatch.setattr("smartlayer.state.ban_backends.incr", fail)


def test_sqli_is_refused_when_the_cache_fails_while_counting_blocks(browser, broken_counters):
    r = browser.get(SQLI)
    assert r.status_code == 403
    assert state.metrics["failure.counters"] == 1  # the escalation was lost, and counted


def test_a_failing_ban_write_still_refuses_the_request(monkeypatch):
    class Exploding(MemoryBans):
        def ban(self, ctx, decision, now):
            raise ConnectionError("cache is away")

    ev = Evidence("anomaly", black=["login_flood"])
    decision = enforce.decide(ev, _ctx(), bans=Exploding(), now=100.0)
    assert decision.action is Action.BAN and decision.refuses
    assert state.metrics["failure.ban"] == 1


def test_repeat_blocks_escalate_through_the_one_step_for_every_component(sl):
    sl(BAN_AFTER_BLOCKS=2)
    bans = MemoryBans()
    ctx = _ctx()
    first = enforce.decide(Evidence("validator", payload_score=3, payload_hits=["x@query"]), ctx, bans=bans, now=1.0)
    second = enforce.decide(Evidence("anomaly", black=["request_flood"]), ctx, bans=bans, now=2.0)
    assert (first.action, second.action) == (Action.BLOCK, Action.BAN)
    assert ctx.client.key in bans.bans


def test_staff_payload_block_stands_but_never_becomes_a_ban(sl):
    sl(BAN_AFTER_BLOCKS=1)
    bans = MemoryBans()
    ctx = _ctx("u:7", "203.0.113.51", staff=True, user="7")
    decision = enforce.decide(Evidence("validator", payload_score=5, payload_hits=["x@query"]), ctx, bans=bans,
                              now=1.0)
    assert decision.action is Action.BLOCK and not bans.bans


def test_staff_are_not_refused_by_the_behaviour_rules():
    ctx = _ctx("u:7", "203.0.113.51", staff=True, user="7")
    decision = enforce.decide(Evidence("anomaly", black=["request_flood"]), ctx, bans=MemoryBans(), now=1.0)
    assert decision.action is Action.RECORD and "staff_exempt" in decision.reasons


def test_staff_exempt_can_be_turned_off(sl):
    sl(STAFF_EXEMPT=False)
    ctx = _ctx("u:7", "203.0.113.51", staff=True, user="7")
    decision = enforce.decide(Evidence("anomaly", black=["login_flood"]), ctx, bans=MemoryBans(), now=1.0)
    assert decision.action is Action.BAN


@pytest.mark.parametrize("ip", ["127.0.0.1", "::1", "127.8.9.10"])
def test_loopback_addresses_are_blocked_but_never_banned(ip):
    bans = MemoryBans()
    decision = enforce.decide(Evidence("anomaly", black=["login_flood"]), _ctx(f"ip:{ip}", ip), bans=bans, now=1.0)
    assert decision.action is Action.BLOCK and "ban_withheld:loopback" in decision.reasons
    assert not bans.bans


def test_a_developers_curl_from_loopback_is_never_banned(client, sl):
    """60 quick requests from 127.0.0.1 used to ban the address for an hour, /admin/ included."""
    sl(BAN_AFTER_BLOCKS=3, GREY_SUSTAINED_COUNT=0)
    codes = [client.get("/page/1", REMOTE_ADDR="127.0.0.1", HTTP_USER_AGENT="curl/8.5.0").status_code
             for _ in range(60)]
    assert 403 in codes  # the flood rule still answers the flood itself
    assert not Ban.objects.exists()


def test_a_staff_user_browsing_fast_is_never_refused_nor_banned(client, django_user_model, sl):
    sl(BAN_AFTER_BLOCKS=2)
    staff = django_user_model.objects.create_user(username="ops", password="pw", is_staff=True)
    client.force_login(staff)
    codes = [client.get(f"/page/{i % 3}", REMOTE_ADDR="203.0.113.52", HTTP_USER_AGENT=BROWSER_UA).status_code
             for i in range(80)]
    assert set(codes) == {200}
    assert not Ban.objects.exists()


def test_staff_are_not_locked_out_by_a_ban_of_their_address(client, django_user_model):
    from smartlayer.state import bans

    bans.ban("ip:203.0.113.53", reason="office flood", source="rule")
    staff = django_user_model.objects.create_user(username="ops2", password="pw", is_staff=True)
    client.force_login(staff)
    assert client.get("/page/1", REMOTE_ADDR="203.0.113.53", HTTP_USER_AGENT=BROWSER_UA).status_code == 200


def test_cache_bans_is_the_default_backend_of_the_validator():
    from smartlayer.detectors.payload import validator

    class Scan:
        score, hits, excerpt = 3, ["x@query"], "x"

    decision = validator.decide(_ctx(), Scan(), now=1.0)
    assert decision.action is Action.BLOCK
    assert all(callable(getattr(CacheBans, m)) for m in ("lookup", "ban", "note_block", "note_flag"))


def test_incr_and_read_on_the_local_cache_counts_and_reads_the_other_counter():
    from smartlayer.state.cache import get_cache, incr_and_read, make_key

    key, other = make_key("flag", "unit", 1), make_key("flag", "unit", 0)
    get_cache().delete_many([key, other])
    assert incr_and_read(key, 30, other) == (1, 0)
    get_cache().set(other, 5, timeout=30)
    assert incr_and_read(key, 30, other) == (2, 5)


def test_cache_bans_counts_flags_in_the_clients_window_not_in_the_cache():
    """With windows in this process (local or replicated) a flag costs no cache round trip."""
    from smartlayer.state.cache import get_cache, make_key
    from smartlayer.state.windows import get_window_store

    ctx, bans = _ctx(), CacheBans()
    assert bans.note_flag(ctx, 1000.0) == 1  # no window yet for this client: the cache counter
    assert get_cache().get(make_key("flag", "model", ctx.client.key, 3)) == 1
    get_window_store().arrive(ctx.client.key, (1000.0, "GET", "/", 0))
    assert [bans.note_flag(ctx, 1000.0 + i) for i in range(3)] == [1, 2, 3]
    assert bans.note_flag(ctx, 1000.0, "profile") == 1
    assert get_cache().get(make_key("flag", "model", ctx.client.key, 3)) == 1  # untouched
