"""Corroborated anomalies: the model flags a request *and* a tell of automation in its vector is
beyond what the site's training week ever showed (smartlayer.ml.training.tells).

The ceilings are the site's own (a site whose visitors do open pages seconds apart without a
referer learns a ceiling they stay under); ``MODEL_CORROBORATED_COUNT`` such requests block, the
grace period included, while the live guard is green.  The figures on generated traffic are in
training/README.md (``training/targets.py``).
"""
from __future__ import annotations

import numpy as np
import pytest

from smartlayer.ml.features import FEATURE_NAMES, N_FEATURES
from smartlayer.ml.runtime import ActiveModel, ModelScore
from smartlayer.ml.tells import TELLS
from smartlayer.ml.training.tells import tell_ceilings
from smartlayer.policy.decisions import combine
from smartlayer.request.decision import Action, Evidence
from tests.helpers import first_refusal_in_grace

HD = FEATURE_NAMES.index("hurried_direct_pages")
PAGES, EVEN = FEATURE_NAMES.index("page_views"), FEATURE_NAMES.index("even_page_gaps")
SILENT = FEATURE_NAMES.index("silent_pages")


def ev(**kw) -> Evidence:
    return Evidence("anomaly", **kw)


# ── the ceilings ─────────────────────────────────────────────────────────
def test_ceilings_are_the_quantile_of_each_tell_over_the_training_vectors():
    X = np.zeros((1000, N_FEATURES))
    X[:, HD] = np.arange(1000) % 3          # people: 0, 1 or 2 hurried direct pages
    X[-1, HD] = 40                          # one odd vector: above the 0.999 quantile, not the ceiling
    ceilings = tell_ceilings(X, quantile=0.999)
    assert set(ceilings) == set(TELLS)
    assert ceilings["hurried_direct_pages"] == pytest.approx(2.0, abs=0.1)
    # no window of 8 page views in that week: the shares' floors, not a ceiling of 0 learned from nothing
    assert ceilings["silent_share"] == 0.5 and ceilings["even_gap_share"] == 0.5
    assert tell_ceilings(X, quantile=1.0)["hurried_direct_pages"] == 40.0
    assert tell_ceilings(np.zeros((0, N_FEATURES))) == {}


def test_a_week_without_a_hurried_direct_page_still_allows_one():
    ceilings = tell_ceilings(np.zeros((500, N_FEATURES)), quantile=1.0)
    assert ceilings["hurried_direct_pages"] == 1.0          # the floor, not the week's 0
    x = [0.0] * N_FEATURES
    x[HD] = 1.0
    assert _model(ceilings).score_vector(x).corroborated is False
    x[HD] = 2.0
    assert _model(ceilings).score_vector(x).corroborated is True


def test_even_gaps_are_a_share_of_the_page_gaps_from_eight_page_views():
    X = np.zeros((4, N_FEATURES))
    X[:, PAGES] = [7, 8, 12, 40]
    X[:, EVEN] = [5, 3, 5, 12]          # 7 page views: too few; then 3/6, 5/10, 12/38
    assert tell_ceilings(X, quantile=1.0)["even_gap_share"] == 0.5
    x = [0.0] * N_FEATURES
    x[PAGES], x[EVEN] = 30.0, 20.0       # a fixed wait: 20 of 28 pairs even
    assert _model({"even_gap_share": 0.5}).score_vector(x).corroborated is True
    x[EVEN] = 12.0                       # a fast reader's long visit: many even pairs, not most
    assert _model({"even_gap_share": 0.5}).score_vector(x).corroborated is False


class _Forest:
    def __init__(self, score: float) -> None:
        self.score = score

    def anomaly_score(self, x) -> float:
        return self.score


def _model(ceilings: dict[str, float] | None, score: float = 0.7) -> ActiveModel:
    manifest = {"threshold": 0.6, "feature_stats": {"median": [0.0] * N_FEATURES, "scale": [1.0] * N_FEATURES}}
    if ceilings is not None:
        manifest["tell_ceilings"] = ceilings
    return ActiveModel("t-1", _Forest(score), manifest)


def test_a_vector_beyond_a_ceiling_is_corroborated_an_older_version_never():
    x = [0.0] * N_FEATURES
    x[HD] = 3.0
    assert _model({"hurried_direct_pages": 3.0}).score_vector(x).corroborated is False   # at the ceiling: normal
    x[HD] = 4.0
    assert _model({"hurried_direct_pages": 3.0}).score_vector(x).corroborated is True
    assert _model(None).score_vector(x).corroborated is False          # a version trained without ceilings
    assert _model({"no_such_feature": 0.0}).score_vector(x).corroborated is False


# ── the combiner ─────────────────────────────────────────────────────────
def test_corroborated_flags_block_where_plain_flags_would_not():
    base = dict(rule_score=0, model_score=0.65, model_threshold=0.6, model_flags=3)
    assert not combine(ev(**base)).refuses
    assert not combine(ev(**base, model_corroborated=2)).refuses
    d = combine(ev(**base, model_corroborated=3))
    assert d.action is Action.BLOCK and d.reason == "model:corroborated" and d.details["model_corroborated"] == 3
    # demoted by the live guard, the model refuses nobody on its own, corroborated or not
    assert not combine(ev(**base, model_corroborated=9, model_demoted=True)).refuses
    # below the threshold nothing is counted
    assert not combine(ev(rule_score=0, model_score=0.5, model_threshold=0.6, model_corroborated=9)).refuses


def test_count_zero_turns_corroboration_off(sl):
    sl(MODEL_CORROBORATED_COUNT=0)
    assert not combine(ev(rule_score=0, model_score=0.65, model_threshold=0.6, model_flags=3,
                          model_corroborated=9)).refuses


# ── through the detector: inside the grace period ────────────────────────
class _Stub:
    """Flags every request; corroborated as told."""

    def __init__(self, corroborated: bool) -> None:
        self.version, self.threshold = "stub-1", 0.6
        self.manifest = {"params": {"contamination": 0.01}}
        self.corroborated = corroborated

    def score(self, snap) -> ModelScore:
        return ModelScore(0.65, self.threshold, self.version, [], self.corroborated)


def _first_refusal(model) -> int | None:
    found = first_refusal_in_grace(model)
    if found is None:
        return None
    i, d = found
    assert d.reason == "model:corroborated" or d.reason == "model:sustained"
    return i


def test_corroborated_flags_end_the_grace_period_plain_flags_need_more():
    # scoring starts at the 2nd request: the 3rd corroborated flag is the 4th request
    assert _first_refusal(_Stub(corroborated=True)) == 4
    # plain flags: MODEL_SUSTAINED_ALONE (15) of them, the 16th request
    assert _first_refusal(_Stub(corroborated=False)) == 16


@pytest.mark.parametrize("value", [0.5, 1.01, "x", True])
def test_tell_quantile_out_of_range_is_a_check_error(sl, value):
    from smartlayer.checks.settings import check_settings

    sl(MODEL_TELL_QUANTILE=value)
    assert "smartlayer.E035" in [m.id for m in check_settings()]


def test_silent_pages_are_a_share_too_so_a_site_without_beacons_learns_a_ceiling_of_one():
    X = np.zeros((3, N_FEATURES))
    X[:, PAGES] = [10, 20, 40]
    X[:, SILENT] = [10, 20, 40]          # a site whose pages send no beacons: every page is silent
    ceilings = tell_ceilings(X, quantile=1.0)
    assert ceilings["silent_share"] == 1.0
    x = [0.0] * N_FEATURES
    x[PAGES], x[SILENT] = 30.0, 30.0
    assert _model({"silent_share": ceilings["silent_share"]}).score_vector(x).corroborated is False
    assert _model({"silent_share": 0.6}).score_vector(x).corroborated is True   # a site whose readers do send them


def test_a_week_without_long_visits_does_not_make_one_even_pair_or_one_silent_page_a_tell():
    """A training week with no window of 8 page views learns nothing about the shares: a person's
    long visit the next day, with a few even pairs and a page left before its first beacon, is
    not corroborated; a bot that sends no beacon on any page still is."""
    X = np.zeros((800, N_FEATURES))
    X[:, PAGES] = np.arange(800) % 7            # every window: at most 6 page views
    ceilings = tell_ceilings(X, quantile=1.0)
    person = [0.0] * N_FEATURES
    person[PAGES], person[EVEN], person[SILENT] = 20.0, 4.0, 2.0
    assert _model(ceilings).score_vector(person).corroborated is False
    bot = [0.0] * N_FEATURES
    bot[PAGES], bot[SILENT] = 20.0, 20.0
    assert _model(ceilings).score_vector(bot).corroborated is True
