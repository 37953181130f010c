"""On a visit paced like reading, a rule counting its pages does not agree with the model's flags.

A person reading quickly through the site's links (an office colleague opening a product every few
seconds, with a pause to read one) reaches ``endpoint_scanning``'s 15 distinct pages a minute, and
the model flags the same visit for its length.  ``MODEL_SUSTAINED_COUNT`` flags with a rule score of
``MODEL_SUSTAINED_RULE_SCORE`` refused it: one piece of evidence ("many pages, quickly") counted
twice (training/README.md).  Where the model judged the window's page views paced like reading,
:data:`~smartlayer.detectors.behaviour.rules.LENGTH_RULES` are left out of the agreement; a steady
pace (a script's wait) keeps it, and the rule still fires and is recorded.
"""
from __future__ import annotations

from smartlayer.detectors.behaviour.detector import Detector
from smartlayer.detectors.behaviour.rules import LENGTH_RULES, agreeing_score, weights
from smartlayer.ml.features import N_FEATURES
from smartlayer.ml.runtime import ActiveModel, ModelScore
from smartlayer.policy.decisions import combine
from smartlayer.request.client import Client
from smartlayer.request.context import RequestContext
from smartlayer.request.decision import Evidence
from smartlayer.state.ban_backends import MemoryBans
from smartlayer.state.windows.window import LocalWindowStore

T0 = 1_700_000_040.0
#: A fast reader's page gaps (seconds): ~18 pages a minute, spread as reading is (cv ≈ 0.9).
FAST_READER = (1.5, 6.0, 1.2, 2.0, 12.0, 1.0, 1.8, 2.5, 1.1, 3.0)
#: A script's: the same mean, a near-constant pause.
FAST_STEADY = (3.2,) * 10


def test_only_the_length_rules_weight_is_left_out_and_only_on_a_reading_visit():
    fired = ["endpoint_scanning", "unauthenticated"]
    w = weights()
    score = w["endpoint_scanning"] + w["unauthenticated"]
    assert "endpoint_scanning" in LENGTH_RULES
    assert agreeing_score(fired, score, True) == w["unauthenticated"]
    assert agreeing_score(fired, score, False) is None     # a steady pace: the whole score agrees
    assert agreeing_score(fired, score, None) is None      # a version that does not judge the pace
    assert agreeing_score(["sequential_id_probing", "unauthenticated"], 6, True) is None


def _evidence(**kw) -> Evidence:
    base = dict(rule_score=3, rules_fired=["endpoint_scanning", "unauthenticated"], model_score=0.65,
                model_threshold=0.6, model_flags=6, model_sustained=0)
    base.update(kw)
    return Evidence("anomaly", **base)


def test_the_combiner_refuses_with_a_rule_agreeing_not_with_the_flags_counted_twice():
    assert combine(_evidence()).reason == "model:sustained"                    # every rule agrees
    d = combine(_evidence(rule_agreement=1))
    assert not d.refuses and "grey:endpoint_scanning" in d.reasons              # recorded, not refused
    assert d.details["rule_score"] == 3 and d.details["rule_agreement"] == 1     # and why
    assert combine(_evidence(rule_agreement=3)).reason == "model:sustained"
    # demoted by the live guard: the model counts only where a rule agrees
    assert "model:record_only" in combine(_evidence(rule_agreement=1, model_demoted=True)).reasons


class _Forest:
    def anomaly_score(self, x) -> float:
        return 0.65


def _model() -> ActiveModel:
    """Above its threshold on every request; judges the pace (trained with the profile's classes)."""
    manifest = {"threshold": 0.6, "feature_stats": {"median": [0.0] * N_FEATURES, "scale": [1.0] * N_FEATURES},
                "tells_profiled": True}
    return ActiveModel("t-1", _Forest(), manifest)


class _Stub:
    """Above the threshold, under the sustained bar (the flags alone never refuse); ``reading`` as given."""

    def __init__(self, reading: bool) -> None:
        self.version, self.threshold, self.reading = "stub-1", 0.6, reading
        self.manifest = {"params": {"contamination": 0.01}}

    def score(self, snap) -> ModelScore:
        return ModelScore(0.65, self.threshold, self.version, [], False, 0.9, True, self.reading)


def _visit(model, gaps) -> list:
    """The decisions on one browser's distinct pages ``gaps`` seconds apart (no site profile)."""
    detector = Detector(LocalWindowStore(), MemoryBans(), use_llm=False, model=model)
    client = Client(key="ip:203.0.113.9", ip="203.0.113.9", user_id=None, authenticated=False)
    out, now = [], T0
    for i, gap in enumerate(gaps):
        now += gap
        name = "abcdefghij"[i % 10] + "klmnopqrst"[i // 10 % 10]   # named pages: no run of ids
        ctx = RequestContext(client=client, method="GET", path=f"/articles/{name}/",
                             user_agent="Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0", started=now, t0=0.0)
        d = detector.inspect(ctx, now)
        detector.record_outcome(ctx, 200, 5.0, d.refuses, now=now)
        out.append(d)
    return out


def test_a_fast_reader_opening_many_pages_is_not_refused_by_the_scan_rule_and_the_flags():
    decisions = _visit(_model(), FAST_READER * 4)          # 40 distinct pages in a little over 2 minutes
    assert any("grey:endpoint_scanning" in d.reasons for d in decisions)   # the rule still fires
    assert not any(d.refuses for d in decisions)


def test_the_same_pages_at_a_scripts_steady_pace_keep_the_rules_agreement():
    refused = [d for d in _visit(_Stub(False), FAST_STEADY * 4) if d.refuses]
    assert refused and refused[0].reason == "model:sustained" and "grey:endpoint_scanning" in refused[0].reasons
    assert not any(d.refuses for d in _visit(_Stub(True), FAST_STEADY * 4))
