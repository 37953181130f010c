"""The features that explain a model score are worked out only when a decision reads them.

Most scored requests score below the threshold with no tell: nothing reads why.  Where the
model's evidence counts (a flag, a tell, a corroboration, the grey zone), the log row carries
the pairs, the same ones :meth:`ActiveModel.top_features` gives.
"""
from __future__ import annotations

from smartlayer.ml.runtime import ModelScore, TopFeatures
from smartlayer.request.decision import Evidence


class Explainer:
    """Stands for an ActiveModel: counts how often it is asked to explain a vector."""

    def __init__(self) -> None:
        self.calls = 0

    def top_features(self, x):
        self.calls += 1
        return [("share_404", round(x[0], 2)), ("page_views", round(x[1], 2))]


def scored(model: Explainer, x=(3.0, 1.5)) -> ModelScore:
    return ModelScore(0.7, 0.6, "v1", TopFeatures(model, list(x)))


def test_nothing_is_worked_out_until_read_and_then_once():
    model = Explainer()
    s = scored(model)
    assert model.calls == 0
    assert list(s.top_features) == [("share_404", 3.0), ("page_views", 1.5)]
    assert len(s.top_features) == 2 and s.top_features[0] == ("share_404", 3.0)
    assert dict(s.top_features)["page_views"] == 1.5 and s.top_features == [("share_404", 3.0), ("page_views", 1.5)]
    assert model.calls == 1


def test_an_unflagged_score_is_logged_without_explaining_it():
    model = Explainer()
    ev = Evidence("anomaly", model_score=0.3, model_threshold=0.6, model_version="v1",
                  top_features=scored(model).top_features)
    d = ev.details()
    assert d["model_score"] == 0.3 and "top_features" not in d
    assert model.calls == 0


def test_a_flag_a_tell_a_corroboration_or_the_grey_zone_records_why():
    for extra in ({"model_flags": 2}, {"model_tells": 1}, {"model_corroborated": 1}, {"grey_flags": 3}):
        model = Explainer()
        ev = Evidence("anomaly", model_score=0.7, model_threshold=0.6, model_version="v1",
                      top_features=scored(model).top_features, **extra)
        assert ev.details()["top_features"] == [("share_404", 3.0), ("page_views", 1.5)], extra
        assert model.calls == 1


def test_a_plain_list_still_serves():
    ev = Evidence("anomaly", model_score=0.7, model_threshold=0.6, model_flags=1, top_features=[("a", 1.0)])
    assert ev.details()["top_features"] == [("a", 1.0)]
    assert "top_features" not in Evidence("anomaly", model_score=0.7, model_flags=1).details()
