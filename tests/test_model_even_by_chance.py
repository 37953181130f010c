"""A shopper's walk whose few first gaps come out even by chance is no tell; evenness beyond chance is.

"Next product" every 2–9 s makes about one pair of consecutive gaps in three even (within
``EVEN_RATIO``), and now and then five of the first six: a clicker on the plain site was refused by
``model:tells`` for an even share of 0.83 read off 8 page views against the week's ceiling of 0.67.
On a walk through a listing the share is read beyond chance (:func:`smartlayer.ml.tells.even_vouched`);
off a walk, or when the pairs stay even page after page, it corroborates as before.
"""
from __future__ import annotations

from smartlayer.ml.features import FEATURE_NAMES, N_FEATURES, extract
from smartlayer.ml.runtime import ActiveModel
from smartlayer.ml.tells import even_vouched
from tests.helpers import product_walk

EVEN = FEATURE_NAMES.index("even_page_gaps")
PAGES = FEATURE_NAMES.index("page_views")
#: the refused clicker's gaps: the first five near 9 s, then a shopper's spread
_CLICKER = (9.49, 8.45, 8.95, 8.59, 8.38, 4.15, 3.82, 8.44, 8.83, 8.82, 4.95, 6.34, 3.2, 5.34, 2.63, 4.07,
            6.93, 8.1, 2.2, 3.02)
#: gaps growing 10 % a page: every pair even, the spread wide (no steadiness)
_EVEN_DRIFT = tuple(2.0 * 1.1 ** i for i in range(20))


class _Forest:
    def anomaly_score(self, x) -> float:
        return 0.65


def _model() -> ActiveModel:
    manifest = {"threshold": 0.6, "feature_stats": {"median": [0.0] * N_FEATURES, "scale": [1.0] * N_FEATURES},
                "tell_ceilings": {"steady_dwell": 0.833, "even_gap_share": 0.667}, "tells_profiled": True}
    return ActiveModel("t-1", _Forest(), manifest)


def test_the_clickers_first_pairs_read_even_and_beyond_the_ceiling():
    """What refused it: the share itself, 5 of 6 pairs at 8 page views."""
    x = extract(product_walk(_CLICKER)[7])
    assert x[PAGES] == 8 and x[EVEN] / (x[PAGES] - 2) > 0.667


def test_on_its_walk_they_corroborate_nothing():
    scored = [_model().score(s) for s in product_walk(_CLICKER)]
    assert not any(s.corroborated for s in scored)


def test_off_a_walk_the_same_pace_still_corroborates():
    """Ids all over the shop: the share is read as it is."""
    scored = [_model().score(s) for s in product_walk(_CLICKER, walk=False)]
    assert scored[7].corroborated


def test_pairs_even_page_after_page_stand_beyond_chance_on_a_walk_too():
    scored = [_model().score(s) for s in product_walk(_EVEN_DRIFT)]
    assert scored[-1].corroborated
    assert even_vouched(extract(product_walk(_EVEN_DRIFT)[-1])) > 0.667


def test_the_margin_shrinks_with_the_pairs_read():
    """All pairs even: 0.6 read off 6 pairs, nearer 1 the more there are."""
    def x(pages: int, even: int) -> list[float]:
        v = [0.0] * N_FEATURES
        v[PAGES], v[EVEN] = float(pages), float(even)
        return v
    lows = [even_vouched(x(p, p - 2)) for p in (8, 12, 20, 40)]
    assert lows == sorted(lows) and abs(lows[0] - 0.6) < 1e-9 and lows[-1] > 0.9
    assert even_vouched(x(7, 5)) == 0.0
