"""The site's own bar for a sustained anomaly (smartlayer.ml.training.sustained): the lowest score
at which no served client of the training week had ``MODEL_SUSTAINED_ALONE`` vectors within
``MODEL_SUSTAINED_WINDOW`` — and online, only requests at or above it count toward the flags alone.
"""
from __future__ import annotations

import numpy as np

from smartlayer.ml.runtime import ModelScore
from smartlayer.ml.training.sustained import sustained_threshold
from smartlayer.policy.decisions import combine
from smartlayer.request.decision import Evidence
from tests.helpers import first_refusal_in_grace

T0 = 1_700_000_040.0


def _week(reader_scores: list[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """People scoring 0.3 now and then, and one fast reader whose visit scores as given, 4 s apart."""
    scores = [0.3] * 200 + list(reader_scores)
    clients = [f"ip:10.0.0.{i % 50}" for i in range(200)] + ["ip:10.9.9.9"] * len(reader_scores)
    ts = [T0 + 60.0 * i for i in range(200)] + [T0 + 4.0 * i for i in range(len(reader_scores))]
    return np.array(scores), np.array(clients), np.array(ts)


def test_a_week_whose_long_visits_stay_below_the_count_learns_the_threshold():
    s, c, t = _week([0.65] * 14)          # 14 flags in a row: one short of the count
    assert sustained_threshold(s, c, t, 0.6, alone=15, window=600.0) == 0.6


def test_a_served_visit_flagged_page_after_page_raises_the_bar_just_above_it():
    s, c, t = _week([0.62] * 5 + [0.66] * 10 + [0.64] * 5)   # 20 flags, 10 of them at 0.66
    bar = sustained_threshold(s, c, t, 0.6, alone=15, window=600.0)
    assert 0.64 < bar <= 0.6400001                            # 10 at 0.66 stay under the count
    assert sustained_threshold(s, c, t, 0.6, alone=10, window=600.0) > 0.66
    # spread over more than the window, the same flags never make the count: nothing to learn
    t_slow = t.copy()
    t_slow[200:] = T0 + 100.0 * np.arange(20)
    assert sustained_threshold(s, c, t_slow, 0.6, alone=15, window=600.0) == 0.6
    # only every 4th request became a vector: 15 flags are 4 vectors
    assert sustained_threshold(*_week([0.65] * 4), 0.6, alone=15, window=600.0, sample_every=4) > 0.65


def test_the_combiner_counts_the_flags_alone_from_the_bar_and_the_rest_from_the_threshold():
    base = dict(rule_score=0, model_score=0.65, model_threshold=0.6, model_flags=15)
    assert combine(Evidence("anomaly", **base)).reason == "model:sustained"            # no bar: every flag
    assert not combine(Evidence("anomaly", **base, model_sustained=14)).refuses
    assert combine(Evidence("anomaly", **base, model_sustained=15)).reason == "model:sustained"
    # a rule agreeing still counts every flag above the threshold
    agreed = combine(Evidence("anomaly", **{**base, "rule_score": 2, "model_flags": 5}, model_sustained=0))
    assert agreed.reason == "model:sustained"


class _Stub:
    """Above the threshold on every request, at ``score``, with the version's bar at ``bar``."""

    def __init__(self, score: float, bar: float | None) -> None:
        self.version, self.threshold = "stub-1", 0.6
        self.manifest = {"params": {"contamination": 0.01}}
        self.value, self.bar = score, bar

    def score(self, snap) -> ModelScore:
        return ModelScore(self.value, self.threshold, self.version, [], False, self.bar)


def _first_refusal(model) -> int | None:
    found = first_refusal_in_grace(model)
    return None if found is None else found[0]


def test_through_the_detector_flags_below_the_bar_do_not_end_the_grace_period():
    assert _first_refusal(_Stub(0.65, None)) == 16          # an older version: every flag counts
    assert _first_refusal(_Stub(0.65, 0.6)) == 16           # a bar at the threshold: the same
    assert _first_refusal(_Stub(0.65, 0.7)) is None         # the week's readers went this far
    assert _first_refusal(_Stub(0.75 - 1e-9, 0.7)) == 16    # beyond them: counted again
