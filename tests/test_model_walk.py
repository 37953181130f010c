"""A flag on a walk through a listing at a shopper's pace is the walk's length, as a reader's is.

A person clicking "next product" through a category paces by the product (a glance, the photos,
next: 2–9 s, the gaps varying by about a third of their mean — below ``READING_CV``), and a long
walk leaves the training week's range by its length: page views, images, links followed, and the
distinct paths a minute that ``endpoint_scanning`` counts.  The plain site refused such a clicker
(tuning seed 62, ``model:sustained``: 5 flags with that rule agreeing; training/README.md).  On a
walk through a listing that shows no tell beyond chance (:func:`smartlayer.ml.tells.steady_by_chance`)
``ActiveModel.score`` says ``reading``: its flags do not count alone, nor does a rule counting its
pages agree with them.  A script clicking "next" on a fixed wait, or the same pace wandering the shop,
is judged as before.
"""
from __future__ import annotations

import math
import random

from smartlayer.ml.features import FEATURE_NAMES, N_FEATURES, extract
from smartlayer.ml.runtime import ActiveModel
from smartlayer.ml.tells import READING_CV, paced_like_reading
from smartlayer.policy.decisions import combine
from smartlayer.request.decision import Evidence
from tests.helpers import product_walk

CV = FEATURE_NAMES.index("page_gap_cv")
#: "next product" every 2–9 s: a shopper's pace (cv about 0.37)
_RNG = random.Random(62)
_SHOPPER = tuple(round(_RNG.uniform(2.0, 9.0), 2) for _ in range(24))


class _Forest:
    def anomaly_score(self, x) -> float:
        return 0.65


def _model(profiled: bool = True) -> ActiveModel:
    manifest = {"threshold": 0.6, "feature_stats": {"median": [0.0] * N_FEATURES, "scale": [1.0] * N_FEATURES},
                "tell_ceilings": {"steady_dwell": 0.833, "even_gap_share": 0.7}, "tells_profiled": profiled}
    return ActiveModel("t-1", _Forest(), manifest)


def test_a_shoppers_walk_is_not_paced_like_reading_by_its_gaps():
    """What left it open: the gaps alone never say reading, and they need not."""
    xs = [extract(s) for s in product_walk(_SHOPPER)[8:]]
    assert all(0.25 < x[CV] < READING_CV for x in xs)
    assert not any(paced_like_reading(x) for x in xs)


def test_a_flagged_walk_through_a_listing_at_a_shoppers_pace_is_reading():
    scored = [_model().score(s) for s in product_walk(_SHOPPER)]
    assert all(s.reading is True for s in scored[8:])          # from 8 page views: the walk is judged
    assert not any(s.corroborated for s in scored)


def test_the_same_pace_wandering_or_typed_is_not():
    """Only the walk by the site's own links: ids all over the shop, or products opened directly."""
    for snaps in (product_walk(_SHOPPER, walk=False), product_walk(_SHOPPER, navigated=False)):
        assert all(_model().score(s).reading is False for s in snaps[8:])


def test_a_fixed_wait_through_a_listing_is_not():
    """A script clicking "next" on a fixed wait ± 10 %: steady beyond chance, so its flags count."""
    gaps = [7.0 * (1.0 + 0.1 * math.sin(3.7 * i)) for i in range(24)]
    scored = [_model().score(s) for s in product_walk(gaps)[8:]]
    assert all(s.reading is False and s.corroborated for s in scored)


def test_a_version_that_does_not_judge_reading_still_does_not():
    assert all(_model(profiled=False).score(s).reading is None for s in product_walk(_SHOPPER))


def test_the_combiner_neither_counts_its_flags_alone_nor_a_page_counting_rule_with_them(sl):
    """Seed 62's refusal: 5 flags with ``endpoint_scanning`` (2) agreeing, ``unauthenticated`` (1) too little alone."""
    from smartlayer.detectors.behaviour.rules import agreeing_score

    fired = ["endpoint_scanning", "unauthenticated"]
    walk = _model().score(product_walk(_SHOPPER)[-1])

    def decide(reading):
        ev = Evidence("behaviour", rule_score=3, rules_fired=list(fired), model_score=walk.score,
                      model_threshold=walk.threshold, model_flags=5, model_sustained=0 if reading else 5)
        ev.rule_agreement = agreeing_score(fired, 3, reading)
        return combine(ev)

    assert decide(False).reason == "model:sustained"            # the walk judged by its gaps alone
    assert decide(walk.reading).reason != "model:sustained"


def test_a_visit_whose_page_views_came_mostly_without_the_sites_links_is_no_walk_read_off_the_vector():
    """Whether most page views came by the site's links is in the vector (``navigated_share``): a visit
    that opened them directly is no walk without reading its window (its arrivals are not looked at)."""
    from smartlayer.ml.features import FEATURE_NAMES
    from smartlayer.ml.tells import on_a_walk

    class _NoWindow:
        def __iter__(self):
            raise AssertionError("the window was read")

    x = [0.0] * N_FEATURES
    x[FEATURE_NAMES.index("page_views")], x[FEATURE_NAMES.index("navigated_share")] = 20, 0.3
    assert on_a_walk(_NoWindow(), x) is False
    snap = product_walk(_SHOPPER)[-1]
    assert on_a_walk(snap.arrivals, extract(snap))          # the walk itself: navigated, read from the window
