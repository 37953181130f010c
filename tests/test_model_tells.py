"""Two additions to the tells (smartlayer.ml.tells): the steadiness of the time between page
views, and tells that block page after page whether the model flagged the request or not.

A fixed wait plus jitter is automation's (people's reading times spread over an order of
magnitude), and a visit whose page views show a tell beyond everything the site's training week
showed, ``MODEL_TELL_COUNT`` times within ``MODEL_SUSTAINED_WINDOW``, is refused (``model:tells``)
while the live guard is green.  Figures on generated traffic: training/README.md.
"""
from __future__ import annotations

import numpy as np
import pytest

from smartlayer.ml.features import FEATURE_NAMES, N_FEATURES
from smartlayer.ml.runtime import ActiveModel, ModelScore
from smartlayer.ml.tells import TELL_FLOORS, TELLS
from smartlayer.ml.training.tells import tell_ceilings
from smartlayer.policy.decisions import combine
from smartlayer.request.decision import Action, Evidence
from smartlayer.request.reasons import entry
from tests.helpers import first_refusal_in_grace

PAGES = FEATURE_NAMES.index("page_views")
CV = FEATURE_NAMES.index("page_gap_cv")
GAP = FEATURE_NAMES.index("log_page_gap_mean_s")


class _Forest:
    def __init__(self, score: float) -> None:
        self.score = score

    def anomaly_score(self, x) -> float:
        return self.score


def _model(ceilings: dict[str, float], score: float = 0.5) -> ActiveModel:
    manifest = {"threshold": 0.6, "feature_stats": {"median": [0.0] * N_FEATURES, "scale": [1.0] * N_FEATURES},
                "tell_ceilings": ceilings}
    return ActiveModel("t-1", _Forest(score), manifest)


def _paced(pages: float, cv: float, gap_s: float = 3.5) -> list[float]:
    x = [0.0] * N_FEATURES
    x[PAGES], x[CV], x[GAP] = pages, cv, float(np.log1p(gap_s))
    return x


# ── steady dwell ─────────────────────────────────────────────────────────
def test_steady_dwell_is_one_minus_the_cv_of_the_page_gaps_from_eight_page_views():
    steady = TELLS["steady_dwell"]
    assert steady(_paced(12, 0.1)) == pytest.approx(0.9)
    assert steady(_paced(7, 0.1)) == 0.0                  # too few page views to say
    assert steady(_paced(12, 1.4)) == 0.0                 # a reader: never below 0
    assert steady(_paced(12, 0.0, gap_s=0.0)) == 0.0      # page views in one instant: cv undefined, not even


def test_the_ceiling_is_the_steadiest_visit_of_the_week_never_below_the_floor():
    X = np.zeros((4, N_FEATURES))
    X[:, PAGES] = [7, 8, 12, 40]
    X[:, CV] = [0.01, 0.16, 0.6, 1.2]                     # 7 page views: too few to count
    X[:, GAP] = np.log1p(5.0)
    assert tell_ceilings(X, quantile=1.0)["steady_dwell"] == pytest.approx(0.84)
    X[1, CV] = 0.5                                        # a week whose steadiest visit is a reader's
    assert tell_ceilings(X, quantile=1.0)["steady_dwell"] == TELL_FLOORS["steady_dwell"]


def test_a_fixed_wait_corroborates_a_fast_reader_does_not():
    model = _model({"steady_dwell": 0.84}, score=0.7)
    assert model.score_vector(_paced(15, 0.12)).corroborated is True      # 2.5-4 s on every page
    assert model.score_vector(_paced(15, 0.35)).corroborated is False     # "next product" every 2-9 s


def test_a_chance_steady_stretch_of_a_next_product_walk_is_not_a_tell_a_fixed_wait_is():
    """A walk clicking "next product" every 2-9 s (cv about 0.37) shows now and then a stretch of 9-11
    gaps as steady as 0.15, just beyond a ceiling of 0.83 that is itself the week's steadiest chance
    stretch; a reading off so few gaps varies by about cv / sqrt(2 n), and only a steadiness beyond
    the ceiling by that much is a tell.  A fixed wait ± 15 % (cv about 0.09) stays one."""
    model = _model({"steady_dwell": 0.833}, score=0.5)
    for pages, cv in ((10, 0.154), (11, 0.158), (12, 0.162)):     # the clicker's readings, 7-9 s apart
        assert TELLS["steady_dwell"](_paced(pages, cv, gap_s=7.5)) > 0.833     # beyond the ceiling as read
        assert model.score_vector(_paced(pages, cv, gap_s=7.5)).corroborated is False
    for pages in (8, 12, 20):
        assert model.score_vector(_paced(pages, 0.09, gap_s=7.5)).corroborated is True
    # the noise shrinks with the evidence: the same steadiness over a long visit is a tell
    assert model.score_vector(_paced(200, 0.154, gap_s=7.5)).corroborated is True


def test_the_ceiling_is_learned_from_the_plain_reading():
    """Training learns what the week showed (1 - cv), the margin is the request's own."""
    X = np.zeros((2, N_FEATURES))
    X[:, PAGES] = [9, 40]
    X[:, CV] = [0.15, 0.9]
    X[:, GAP] = np.log1p(5.0)
    assert tell_ceilings(X, quantile=1.0)["steady_dwell"] == pytest.approx(0.85)


# ── tells, flagged or not ────────────────────────────────────────────────
def test_tells_block_below_the_threshold_too_but_not_while_demoted(sl):
    sl(MODEL_TELL_COUNT=8)
    base = dict(rule_score=0, model_score=0.5, model_threshold=0.6)
    assert not combine(Evidence("anomaly", **base, model_tells=7)).refuses
    d = combine(Evidence("anomaly", **base, model_tells=8))
    assert d.action is Action.BLOCK and d.reason == "model:tells" and d.details["model_tells"] == 8
    assert entry("model:tells") is not None
    assert not combine(Evidence("anomaly", **base, model_tells=20, model_demoted=True)).refuses
    sl(MODEL_TELL_COUNT=0)
    assert not combine(Evidence("anomaly", **base, model_tells=20)).refuses


class _Stub:
    """Never above the threshold; a tell beyond the ceiling as told."""

    def __init__(self, tell: bool) -> None:
        self.version, self.threshold = "stub-1", 0.6
        self.manifest = {"params": {"contamination": 0.01}}
        self.tell = tell

    def score(self, snap) -> ModelScore:
        return ModelScore(0.5, self.threshold, self.version, [], self.tell)


def _first_refusal(model) -> tuple[int, str] | None:
    found = first_refusal_in_grace(model)
    return None if found is None else (found[0], found[1].reason)


def test_tells_end_the_grace_period_without_a_single_flag(sl):
    sl(MODEL_TELL_COUNT=8)
    # scored from the 2nd request: the 8th tell is the 9th request
    assert _first_refusal(_Stub(tell=True)) == (9, "model:tells")
    assert _first_refusal(_Stub(tell=False)) is None
    sl(MODEL_TELL_COUNT=0)
    assert _first_refusal(_Stub(tell=True)) is None


def test_ceilings_learned_without_the_profiles_classes_never_refuse_on_their_own():
    """Trained without a site profile every GET is a bare, silent page view: the ceilings are floors
    learned from nothing, and a site served with a profile would show 'no beacon' on every page."""
    manifest = {"threshold": 0.6, "feature_stats": {"median": [0.0] * N_FEATURES, "scale": [1.0] * N_FEATURES},
                "tell_ceilings": {"steady_dwell": 0.75}}
    unprofiled = ActiveModel("t-1", _Forest(0.5), manifest).score_vector(_paced(15, 0.1))
    assert unprofiled.corroborated is True and unprofiled.tells_alone is False
    profiled = ActiveModel("t-2", _Forest(0.5), {**manifest, "tells_profiled": True}).score_vector(_paced(15, 0.1))
    assert profiled.tells_alone is True


class _Unprofiled(_Stub):
    def score(self, snap) -> ModelScore:
        return ModelScore(0.5, self.threshold, self.version, [], True, None, False)


def test_through_the_detector_unprofiled_tells_only_corroborate(sl):
    sl(MODEL_TELL_COUNT=8)
    assert _first_refusal(_Unprofiled(tell=True)) is None
