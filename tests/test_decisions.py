"""The one combiner (smartlayer.policy.decisions.combine), step by step, without HTTP,
and the two detector additions built on it: the login flood and the sustained
elevated rate, driven through :class:`~smartlayer.detectors.behaviour.detector.Detector` with
in-memory bans on a fake clock (the replay's configuration)."""
from __future__ import annotations

import pytest

from smartlayer.detectors.behaviour.detector import Detector
from smartlayer.policy.decisions import combine, escalate
from smartlayer.request.client import Client
from smartlayer.request.context import RequestContext
from smartlayer.request.decision import Action, Evidence
from smartlayer.state.ban_backends import MemoryBans
from smartlayer.state.windows.window import LocalWindowStore

T0 = 1_700_000_000.0
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0"


def ev(**kw) -> Evidence:
    return Evidence("anomaly", **kw)


# ── combine ───────────────────────────────────────────────────────────────
def test_black_rule_blocks_and_login_flood_bans():
    d = combine(ev(black=["request_flood"], rule_score=3, rules_fired=["elevated_rate"]))
    assert d.action is Action.BLOCK and d.reasons == ["black:request_flood", "grey:elevated_rate"]
    d = combine(ev(black=["login_flood"]))
    assert d.action is Action.BAN and d.reason == "black:login_flood" and d.ban_ttl == 3600


def test_grace_allows_even_a_high_model_score():
    assert combine(ev(in_grace=True, model_score=0.99, model_threshold=0.6)).action is Action.ALLOW


@pytest.mark.parametrize("score, llm, action", [
    (3, False, Action.ALLOW), (4, False, Action.RECORD), (4, True, Action.ASK_LLM),
    (7, True, Action.ASK_LLM), (8, False, Action.BLOCK),
])
def test_rule_score_zones(score, llm, action):
    assert combine(ev(rule_score=score, llm_available=llm)).action is action


def test_llm_block_verdict_bans_only_in_the_grey_zone():
    assert combine(ev(rule_score=5, llm_verdict="BLOCK")).action is Action.BAN
    assert combine(ev(rule_score=2, llm_verdict="BLOCK")).action is Action.ALLOW


def test_model_ban_assist_and_sustained():
    assert combine(ev(rule_score=0, model_score=0.80, model_threshold=0.6)).action is Action.BAN
    # assist: 6 + 2 = 8 → block; 5 + 2 = 7 → grey
    assert combine(ev(rule_score=6, model_score=0.65, model_threshold=0.6, model_flags=1)).action is Action.BLOCK
    assert combine(ev(rule_score=5, model_score=0.65, model_threshold=0.6, model_flags=1)).action is Action.RECORD
    d = combine(ev(rule_score=2, model_score=0.65, model_threshold=0.6, model_flags=5))
    assert d.action is Action.BLOCK and d.reason == "model:sustained" and d.details["model_flags"] == 5
    assert not combine(ev(rule_score=1, model_score=0.65, model_threshold=0.6, model_flags=14)).refuses
    assert combine(ev(rule_score=0, model_score=0.65, model_threshold=0.6, model_flags=15)).action is Action.BLOCK


@pytest.mark.parametrize("flags, llm, action", [
    (4, False, Action.RECORD), (4, True, Action.ASK_LLM), (5, False, Action.BLOCK), (5, True, Action.BLOCK),
])
def test_sustained_elevated_rate_blocks_at_the_fifth_grey_request(flags, llm, action):
    d = combine(ev(rule_score=5, rules_fired=["elevated_rate", "burst_after_idle"], grey_flags=flags,
                   llm_available=llm))
    assert d.action is action
    if action is Action.BLOCK:
        assert d.reason == "grey:sustained_rate"
        assert d.details["grey_flags"] == flags


def test_sustained_elevated_rate_can_be_switched_off(sl):
    sl(GREY_SUSTAINED_COUNT=0)
    assert combine(ev(rule_score=5, grey_flags=50)).action is Action.RECORD


def test_payload_scores():
    assert combine(ev(payload_score=3, payload_hits=["sqli"])).action is Action.BLOCK
    assert combine(ev(payload_score=1, payload_hits=["sqli"])).action is Action.RECORD
    assert combine(ev(payload_score=1, payload_hits=["sqli"], llm_available=True)).action is Action.ASK_LLM
    assert combine(ev(payload_score=1, payload_hits=["sqli"], llm_confidence=86)).action is Action.BLOCK
    assert combine(ev(payload_score=1, payload_hits=["sqli"], llm_confidence=85)).action is Action.RECORD


def test_escalate_turns_the_fifth_block_into_a_ban():
    assert escalate(combine(ev(rule_score=8)), 4).action is Action.BLOCK
    d = escalate(combine(ev(rule_score=8)), 5)
    assert d.action is Action.BAN and "repeat:blocks" in d.reasons and d.details["blocks"] == 5


# ── through the detector ──────────────────────────────────────────────────
class Site:
    """A Detector as the replay builds it: in-memory windows and bans, the caller's clock."""

    def __init__(self):
        self.bans = MemoryBans()
        self.detector = Detector(LocalWindowStore(), self.bans, use_llm=False, model=None)

    def hit(self, ts, *, ip="198.51.100.7", user=None, method="GET", path="/", ua=BROWSER, status=200):
        client = Client(key=f"u:{user}" if user else f"ip:{ip}", ip=ip, user_id=user,
                        authenticated=bool(user))
        ctx = RequestContext(client=client, method=method, path=path, user_agent=ua, started=ts, t0=0.0)
        decision = self.detector.inspect(ctx, ts)
        self.detector.record_outcome(ctx, 403 if decision.refuses else status, 5.0, decision.refuses, now=ts)
        return decision


def test_login_flood_bans_the_ip_at_the_tenth_attempt_even_in_grace():
    site = Site()
    for i in range(9):
        site.hit(T0 + i * 20, method="POST", path="/accounts/login/")   # one every 20 s: no rate rule
        site.hit(T0 + i * 20 + 1, path="/accounts/login/")             # the GETs in between do not count
    d = site.hit(T0 + 200, method="POST", path="/accounts/login/")
    assert d.action is Action.BAN and d.reason == "black:login_flood"
    # the account it has just broken into, from the same IP, is refused too
    assert site.hit(T0 + 201, user="42", path="/account/").component == "ban"
    # another IP is not
    assert not site.hit(T0 + 202, ip="198.51.100.8", method="POST", path="/accounts/login/").refuses


def test_login_attempts_outside_the_window_do_not_count():
    site = Site()
    for i in range(9):
        site.hit(T0 + i * 60, method="POST", path="/login/")
    assert not site.hit(T0 + 600.5, method="POST", path="/login/").refuses  # the first is > 600 s old
    assert site.hit(T0 + 601, method="POST", path="/login/").refuses


def test_login_paths_and_django_login_url_are_configurable(sl, settings):
    settings.LOGIN_URL = "/members/enter/"
    sl(LOGIN_PATHS=["/api/session"], LOGIN_FLOOD_ATTEMPTS=3)
    for path in ("/members/enter/", "/api/session/new"):
        site = Site()
        site.hit(T0, method="POST", path=path)
        site.hit(T0 + 1, method="POST", path=path)
        assert site.hit(T0 + 2, method="POST", path=path).action is Action.BAN, path
    site = Site()
    for i in range(5):
        assert not site.hit(T0 + i, method="POST", path="/accounts/login/").refuses


def test_login_flood_off_at_zero(sl):
    sl(LOGIN_FLOOD_ATTEMPTS=0)
    site = Site()
    assert not any(site.hit(T0 + i * 30, method="POST", path="/login/").refuses for i in range(15))


def _warm(site, user):
    """25 calm requests long ago: past the grace period, no rule fires later."""
    for i in range(25):
        site.hit(T0 - 7200 + i * 60, user=user, path=f"/page/{i % 3}/")


def test_a_sustained_burst_on_one_endpoint_is_blocked_without_an_llm():
    site = Site()
    _warm(site, "7")
    # signed in, so the grey score is elevated_rate 3 + burst_after_idle 2 = 5: the grey zone
    decisions = [site.hit(T0 + i * 0.2, user="7", path="/api/stock/") for i in range(40)]
    first = next(i for i, d in enumerate(decisions) if d.refuses)
    grey = [i for i, d in enumerate(decisions[:first]) if d.action is Action.RECORD]
    assert len(grey) == 4, grey                     # four grey-zone requests let through …
    assert decisions[first].reason == "grey:sustained_rate"   # … the fifth is blocked
    assert decisions[first].details["grey_flags"] == 5


def test_one_fast_moment_is_not_sustained():
    site = Site()
    _warm(site, "8")
    decisions = [site.hit(T0 + i * 0.4, user="8", path="/api/stock/") for i in range(23)]
    assert not any(d.refuses for d in decisions)
    assert sum(d.action is Action.RECORD for d in decisions) == 4   # requests 20–23 in 10 s


def test_a_fast_page_fanning_out_to_many_endpoints_is_not_hammering():
    site = Site()
    for i in range(25):  # past the grace period, long ago
        site.hit(T0 - 7200 + i * 60, path=f"/page/{i % 3}/")
    # anonymous, 30 different endpoints (no IDs): elevated_rate 3 + unauthenticated 1
    # (+ endpoint_scanning 2 from the 15th) — the grey zone, never the hammering kind
    names = [f"w{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(30)]
    decisions = [site.hit(T0 + i * 0.2, path=f"/api/{name}/") for i, name in enumerate(names)]
    assert not any(d.refuses for d in decisions)
    assert sum(d.action is Action.RECORD for d in decisions) >= 10
