"""The live guard (smartlayer.ml.guard): a model whose flagged share stays above its bound is
demoted to record-only, on the caller's clock (a fake one here: no wall-clock assertion).

Driven through the detector with a stub model whose share of flagged requests the test
sets, so the guard's arithmetic is what is tested; the end-to-end figure on generated
traffic is in training/README.md (tests/benchmarks/drift.py).
"""
from __future__ import annotations

import logging

import pytest

from smartlayer import signals
from smartlayer.detectors.behaviour.detector import Detector
from smartlayer.ml import guard as guard_mod
from smartlayer.ml.guard import Guard, demotion_state, guard_bound_for
from smartlayer.ml.runtime import ModelScore
from smartlayer.policy.decisions import combine
from smartlayer.request.client import Client
from smartlayer.request.context import RequestContext
from smartlayer.request.decision import Action, Evidence
from smartlayer.state.ban_backends import MemoryBans
from smartlayer.state.windows.window import LocalWindowStore

T0 = 1_700_000_040.0   # a minute boundary + 0
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0"
PAGES = ["/", "/shop/", "/shop/shoes/", "/cart/", "/about/", "/shop/hats/", "/help/"]


class StubModel:
    """Flags a chosen share of the requests it scores (every n-th), whatever the window."""

    def __init__(self, version: str = "stub-1", contamination: float = 0.01) -> None:
        self.version = version
        self.threshold = 0.6
        self.manifest = {"params": {"contamination": contamination}}
        self.share = 0.0
        self._n = 0
        self.scored = 0

    def score(self, snap) -> ModelScore:
        self.scored += 1
        self._n += 1
        every = round(1 / self.share) if self.share else 0
        flagged = bool(every) and self._n % every == 0
        return ModelScore(0.65 if flagged else 0.4, self.threshold, self.version, [])


class Site:
    """``clients`` people, each asking for a page every ``gap`` seconds, on a fake clock."""

    def __init__(self, model, guard: Guard, clients: int = 30, gap: float = 10.0) -> None:
        self.model, self.guard = model, guard
        self.detector = Detector(LocalWindowStore(), MemoryBans(), use_llm=False, model=model, guard=guard)
        self.clients = [Client(key=f"ip:198.51.100.{i}", ip=f"198.51.100.{i}", user_id=None, authenticated=False)
                        for i in range(clients)]
        self.gap = gap
        self.now = T0
        self.decisions: list = []

    def run(self, seconds: float) -> None:
        end = self.now + seconds
        step = self.gap / len(self.clients)
        i = 0
        while self.now < end:
            client = self.clients[i % len(self.clients)]
            ctx = RequestContext(client=client, method="GET", path=PAGES[i % len(PAGES)], user_agent=BROWSER,
                                 started=self.now, t0=0.0)
            d = self.detector.inspect(ctx, self.now)
            self.detector.record_outcome(ctx, 200, 5.0, d.refuses, now=self.now)
            self.decisions.append((self.now, d))
            self.now += step
            i += 1


@pytest.fixture
def demotions():
    seen: list[dict] = []

    def receiver(sender, **kwargs):
        seen.append(kwargs)

    signals.model_demoted.connect(receiver)
    yield seen
    signals.model_demoted.disconnect(receiver)


def test_a_model_drifting_live_is_demoted_within_five_minutes(demotions, caplog):
    model = StubModel()
    site = Site(model, Guard(publish=True))
    model.share = 0.01
    site.run(30 * 60)                       # half an hour at its trained share: green
    assert site.guard.green and model.scored > 1000
    drift_at = site.now
    model.share = 0.5                       # the site changed under the model
    with caplog.at_level(logging.WARNING, logger="smartlayer"):
        site.run(10 * 60)
    demotion = site.guard.demoted
    assert demotion is not None and demotion.version == "stub-1"
    assert drift_at < demotion.since <= drift_at + 5 * 60
    assert demotions == [{"signal": signals.model_demoted, "version": "stub-1", "share": demotion.share,
                          "bound": guard_bound_for(model.manifest), "minutes": demotion.minutes}]
    assert demotion.share > demotion.bound == pytest.approx(0.25)
    lines = [r.getMessage() for r in caplog.records if "demoted" in r.getMessage()]
    assert len(lines) == 1 and "stub-1" in lines[0] and "record-only" in lines[0]
    # the other workers and the admin learn it from the cache
    assert demotion_state()["version"] == "stub-1" and demotion_state()["state"] == "record-only"
    # demoted, the model alone refuses nobody any more (it did before: sustained flags); the bans
    # it made before the demotion run their course
    after = [d for t, d in site.decisions if t > demotion.since]
    before = [d for t, d in site.decisions if drift_at < t <= demotion.since]
    assert any(d.component == "anomaly" and d.refuses for d in before)
    assert after and not any(d.component == "anomaly" and d.refuses for d in after)
    assert any(d.action is Action.ALLOW for d in after)
    assert any(d.details.get("model_guard") == "record-only" for d in after)
    assert any("model:record_only" in " ".join(d.reasons) for d in after)


def test_before_the_demotion_the_drifting_model_refused_on_its_own():
    """What the guard is for: the same drift, with a guard that never demotes, refuses people."""
    model = StubModel()
    site = Site(model, Guard(publish=False))
    model.share = 0.5
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(site.guard, "note", lambda *a: True)
        site.run(10 * 60)
    assert any(d.refuses and d.reason.startswith("model:") for _, d in site.decisions)


def test_a_model_at_its_trained_share_is_never_demoted(demotions):
    model = StubModel()
    model.share = 0.05                      # five times the contamination: lumpy, but far below 25 %
    site = Site(model, Guard(publish=True))
    site.run(60 * 60)
    assert site.guard.green and demotions == []


def test_one_client_flagged_on_every_request_does_not_tip_the_guard():
    """A busy odd client (or an attacker) counts at most three requests a minute."""
    guard = Guard()
    model = StubModel()
    t = T0
    for _ in range(20 * 60 * 4):            # 20 minutes, 4 requests a second
        guard.note(model, "ip:203.0.113.66", True, t)
        for k in range(6):                  # and six people, one request each per 10 s
            if int(t * 4) % 40 == 0:
                guard.note(model, f"ip:198.51.100.{k}", False, t)
        t += 0.25
    assert guard.green


def test_a_quiet_site_is_not_judged_on_a_handful_of_requests():
    guard = Guard()
    model = StubModel()
    for minute in range(30):                # 3 scored requests a minute, all flagged
        for k in range(3):
            guard.note(model, f"ip:198.51.100.{k}", True, T0 + 60 * minute + k)
    assert guard.green


def test_a_demotion_lasts_until_a_version_is_activated_and_other_workers_follow_it():
    model = StubModel()
    first = Guard(publish=True)
    model.share = 1.0
    for second in range(8 * 60):
        for k in range(10):
            first.note(model, f"ip:198.51.100.{k}", True, T0 + second)
    assert not first.green
    other = Guard()                          # another worker: learns it at its reload check
    other.adopt(demotion_state(), "stub-1")
    assert not other.green and other.demoted.version == "stub-1"
    other.adopt(demotion_state(), "stub-2")  # a demotion of another version is not ours
    assert other.demoted.version == "stub-1"
    guard_mod.clear_demotion()               # what registry.activate does
    assert demotion_state() is None
    other.adopt(demotion_state(), "stub-1")
    assert other.green
    # a new version starts green and is judged afresh
    first.note(StubModel("stub-2"), "ip:198.51.100.1", False, T0 + 9 * 60)
    assert first.green and first.version == "stub-2"


# ── the combiner: demoted, the model counts only where a rule agrees ───────
def ev(**kw) -> Evidence:
    return Evidence("anomaly", **kw)


def test_demoted_the_model_neither_bans_nor_blocks_alone():
    assert combine(ev(rule_score=0, model_score=0.9, model_threshold=0.6)).action is Action.BAN
    d = combine(ev(rule_score=0, model_score=0.9, model_threshold=0.6, model_demoted=True))
    assert d.action is Action.ALLOW and d.reasons == ["model:record_only"]
    assert combine(ev(rule_score=1, model_score=0.7, model_threshold=0.6, model_flags=15)).action is Action.BLOCK
    assert not combine(ev(rule_score=1, model_score=0.7, model_threshold=0.6, model_flags=15,
                          model_demoted=True)).refuses


def test_demoted_the_model_still_counts_with_a_rule_agreeing():
    # a rule score of MODEL_SUSTAINED_RULE_SCORE (2) and five flags block, demoted or not
    for demoted in (False, True):
        d = combine(ev(rule_score=2, rules_fired=["suspicious_user_agent"], model_score=0.7, model_threshold=0.6,
                       model_flags=5, model_demoted=demoted))
        assert d.action is Action.BLOCK and d.reason == "model:sustained" and d.details["model_flags"] == 5
    # and it still assists the rules: 6 + 2 reaches the hard block
    d = combine(ev(rule_score=6, model_score=0.7, model_threshold=0.6, model_demoted=True))
    assert d.action is Action.BLOCK and d.reason == "grey:score" and d.details["score"] == 8
    # the rules keep working whatever the model's state
    assert combine(ev(black=["request_flood"], model_score=0.9, model_threshold=0.6,
                      model_demoted=True)).action is Action.BLOCK


def test_the_middleware_s_detector_uses_the_process_guard_a_replay_its_own():
    from smartlayer.ml.guard import process_guard
    from smartlayer.offline.replay import Replayer

    assert Detector().guard is process_guard()
    replay = Replayer(model=StubModel())
    assert replay.detector.guard is not process_guard() and not replay.detector.guard.publish


@pytest.mark.django_db
def test_the_admin_shows_a_demotion_on_the_active_version(admin_client):
    from django.urls import reverse

    from smartlayer.admin import model_versions  # noqa: F401 - registers the admin
    from smartlayer.models import ModelVersion

    mv = ModelVersion.objects.create(version="stub-1", status="active")
    url = reverse("admin:smartlayer_modelversion_change", args=[mv.pk])
    assert "green: deciding as configured" in admin_client.get(url).content.decode()
    model = StubModel()
    model.share = 1.0
    guard = Guard(publish=True)
    for second in range(6 * 60):
        for k in range(10):
            guard.note(model, f"ip:198.51.100.{k}", True, T0 + second)
    text = admin_client.get(url).content.decode()
    assert "demoted to record-only" in text and "100.0%" in text


@pytest.mark.parametrize("key, value, code", [("MODEL_BOUND_FACTOR", 1, "smartlayer.E032"),
                                               ("MODEL_GUARD_FACTOR", "x", "smartlayer.E032"),
                                               ("MODEL_TRIM_SHARE", 0.5, "smartlayer.E033")])
def test_guard_settings_out_of_range_are_check_errors(sl, key, value, code):
    from smartlayer.checks.settings import check_settings

    sl(**{key: value})
    assert code in [m.id for m in check_settings()]


def test_two_off_minutes_an_hour_apart_are_not_a_run():
    """Minutes too quiet to judge leave a run open; a whole span of them ends it (no demotion for an hour's gap)."""
    guard = Guard()
    model = StubModel()

    def flagged_minute(minute: int) -> None:
        for k in range(40):                 # forty clients flagged at once: judged off
            guard.note(model, f"ip:198.51.100.{k}", True, T0 + 60 * minute + k)

    flagged_minute(0)
    guard.note(model, "ip:198.51.100.1", False, T0 + 60 * 1)      # closes minute 0: off
    flagged_minute(60)                                              # an hour later, once more
    guard.note(model, "ip:198.51.100.1", False, T0 + 60 * 61)     # closes minute 60: off again
    guard.note(model, "ip:198.51.100.1", False, T0 + 60 * 62)
    assert guard.green
    for minute in range(63, 66):            # three minutes off in a row: that is a run
        flagged_minute(minute)
    guard.note(model, "ip:198.51.100.1", False, T0 + 60 * 66)
    assert not guard.green
