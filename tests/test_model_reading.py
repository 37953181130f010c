"""A visit paced like a person's reading is flagged for its length, not for automation.

People's long visits (a shopper clicking through products, a reader following link after link,
images and all) leave the training week's range by their length, and the model flags them request
after request; ``MODEL_SUSTAINED_ALONE`` such flags refused them on generated traffic
(training/README.md).  A version trained with the profile's classes says, per request, whether the
window's page views are spread in time as reading is (:func:`smartlayer.ml.tells.paced_like_reading`);
such flags do not count toward the flags alone.  A rule agreeing, a tell and a corroborated flag still
count them; an older version counts every flag as before.
"""
from __future__ import annotations

import math

from smartlayer.detectors.behaviour.detector import Detector
from smartlayer.ml.features import FEATURE_NAMES, N_FEATURES
from smartlayer.ml.runtime import ActiveModel, ModelScore
from smartlayer.ml.tells import EVEN_MIN_PAGES, READING_CV, paced_like_reading
from smartlayer.request.client import Client
from smartlayer.request.context import RequestContext
from smartlayer.state.ban_backends import MemoryBans
from smartlayer.state.windows.window import LocalWindowStore
from tests.helpers import first_refusal_in_grace

PAGES = FEATURE_NAMES.index("page_views")
CV = FEATURE_NAMES.index("page_gap_cv")
GAP = FEATURE_NAMES.index("log_page_gap_mean_s")
T0 = 1_700_000_040.0
#: A person's think times (seconds): spread over an order of magnitude, cv ≈ 0.9.
READER_GAPS = (3.0, 11.0, 4.5, 2.0, 17.0, 6.0, 2.5, 9.0, 3.5, 24.0)


class _Forest:
    def __init__(self, score: float) -> None:
        self.score = score

    def anomaly_score(self, x) -> float:
        return self.score


def _model(profiled: bool, score: float = 0.65) -> ActiveModel:
    manifest = {"threshold": 0.6, "feature_stats": {"median": [0.0] * N_FEATURES, "scale": [1.0] * N_FEATURES},
                "tells_profiled": profiled}
    return ActiveModel("t-1", _Forest(score), manifest)


def _paced(pages: float, cv: float, gap_s: float = 6.0) -> list[float]:
    x = [0.0] * N_FEATURES
    x[PAGES], x[CV], x[GAP] = pages, cv, math.log1p(gap_s)
    return x


def test_reading_is_a_spread_of_page_gaps_from_eight_page_views():
    assert paced_like_reading(_paced(12, 1.0))
    assert paced_like_reading(_paced(EVEN_MIN_PAGES, READING_CV))
    assert not paced_like_reading(_paced(12, 0.3))            # a task list's 2–6 s
    assert not paced_like_reading(_paced(12, 0.1))            # a fixed wait ± 15 %
    assert not paced_like_reading(_paced(EVEN_MIN_PAGES - 1, 1.0))   # too few page views to say
    assert not paced_like_reading(_paced(12, 1.0, gap_s=0.0))        # page views in the same instant


def test_only_a_version_trained_with_the_profiles_classes_judges_it():
    assert _model(True).score_vector(_paced(12, 1.0)).reading is True
    assert _model(True).score_vector(_paced(12, 0.2)).reading is False
    assert _model(False).score_vector(_paced(12, 1.0)).reading is None


class _Stub:
    """Above the threshold on every request; ``reading`` as given."""

    def __init__(self, reading: bool | None, bar: float | None = None) -> None:
        self.version, self.threshold = "stub-1", 0.6
        self.manifest = {"params": {"contamination": 0.01}}
        self.reading, self.bar = reading, bar

    def score(self, snap) -> ModelScore:
        return ModelScore(0.65, self.threshold, self.version, [], False, self.bar, True, self.reading)


def test_through_the_detector_flags_on_a_reading_visit_do_not_end_the_grace_period():
    assert first_refusal_in_grace(_Stub(None))[0] == 16       # an older version: every flag counts
    assert first_refusal_in_grace(_Stub(False))[0] == 16
    assert first_refusal_in_grace(_Stub(False, bar=0.6))[0] == 16
    assert first_refusal_in_grace(_Stub(True)) is None
    assert first_refusal_in_grace(_Stub(True, bar=0.6)) is None


def _visit(model, gaps) -> list:
    """The decisions on one browser's page views ``gaps`` seconds apart (no site profile: every GET a page)."""
    detector = Detector(LocalWindowStore(), MemoryBans(), use_llm=False, model=model)
    client = Client(key="ip:203.0.113.7", ip="203.0.113.7", user_id=None, authenticated=False)
    out, now = [], T0
    for i, gap in enumerate(gaps):
        now += gap
        # named pages, not numbered ones: a run of ids would bring the probing rule in
        name = "abcdefghij"[i % 10] + "klmnopqrst"[i // 10 % 10]
        ctx = RequestContext(client=client, method="GET", path=f"/articles/{name}/",
                             user_agent="Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0", started=now, t0=0.0)
        d = detector.inspect(ctx, now)
        detector.record_outcome(ctx, 200, 5.0, d.refuses, now=now)
        out.append(d)
    return out


def test_a_long_reading_visit_flagged_throughout_is_not_refused_a_steady_one_is():
    reader = list(READER_GAPS) * 4                      # 40 page views over 5.5 minutes
    assert not any(d.refuses for d in _visit(_model(True), reader))
    steady = [4.0] * 40
    refused = [i for i, d in enumerate(_visit(_model(True), steady), 1) if d.refuses]
    assert refused and refused[0] == 16 and _visit(_model(True), steady)[15].reason == "model:sustained"
    # a version that does not judge the pace refuses the reader as before
    older = [d for d in _visit(_model(False), reader) if d.refuses]
    assert older and older[0].reason == "model:sustained"
