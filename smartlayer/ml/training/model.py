"""The estimator: an Isolation Forest over window feature vectors, plus what scoring needs.

scikit-learn conventions: parameters in ``__init__``, learned attributes end
in ``_``, and one score direction — higher means more anomalous.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.ensemble import IsolationForest

from ..forest import CompiledForest
from .errors import TrainingError

#: The fewest vectors a tree is fitted on when the training set is small (see ``fit``).
SUBSAMPLE_FLOOR = 256


class WindowAnomalyModel(BaseEstimator):
    """Isolation Forest over window feature vectors, plus what scoring needs.

    Parameters are those of :class:`sklearn.ensemble.IsolationForest` that
    smartlayer exposes.  Fitted attributes:

    ``forest_``            the fitted IsolationForest (stored as ``model.joblib``)
    ``compiled_``          its :class:`~.forest.CompiledForest` (``forest.npz``)
    ``threshold_``         anomaly score above which a vector is flagged
    ``feature_median_``, ``feature_iqr_``, ``feature_scale_``
                           robust centre and spread per feature (``top_features``)
    ``training_scores_``   anomaly scores of the training vectors

    Scores follow the package convention: higher = more anomalous.
    """

    def __init__(self, n_estimators: int = 100, max_samples: int | float | str = 256,
                 contamination: float | str = 0.01, max_features: int | float = 1.0,
                 random_state: int | None = None, n_jobs: int | None = None) -> None:
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.contamination = contamination
        self.max_features = max_features
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X: np.ndarray, y: Any = None) -> WindowAnomalyModel:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or len(X) < 2:
            raise ValueError("need a 2-D array with at least two vectors")
        max_samples = self.max_samples
        if isinstance(max_samples, int):
            # each tree sees at most a quarter of the vectors (256 at least, as scikit-learn's default):
            # a tree fitted on all of them has every training vector in its bag, and the threshold set on
            # their scores is too low for the next day (a small site's next day: 22 % flagged at 4096)
            max_samples = min(max_samples, max(SUBSAMPLE_FLOOR, len(X) // 4), len(X))
        self.forest_ = IsolationForest(
            n_estimators=self.n_estimators, max_samples=max_samples, contamination=self.contamination,
            max_features=self.max_features, random_state=self.random_state, n_jobs=self.n_jobs,
        ).fit(X)
        self.n_features_in_ = X.shape[1]
        self.compiled_ = CompiledForest.from_estimator(self.forest_)
        self.training_scores_ = self.anomaly_scores(X)
        self.threshold_ = float(-self.forest_.offset_)
        self._check_compiled(X)
        q25, med, q75 = np.percentile(X, [25, 50, 75], axis=0)
        p01, p99 = np.percentile(X, [1, 99], axis=0)
        iqr = q75 - q25
        spread = p99 - p01
        self.feature_median_ = med
        self.feature_iqr_ = iqr
        # IQR, else the 1–99 % range (binary or mostly-constant features), else 1
        self.feature_scale_ = np.where(iqr > 0, iqr, np.where(spread > 0, spread, 1.0))
        self.feature_p01_, self.feature_p99_ = p01, p99
        return self

    def calibrate(self, scores: np.ndarray) -> None:
        """Set the threshold on the ``scores`` of the traffic it judges rather
        than on the vectors it was fitted on.  With ``contamination`` "auto"
        the threshold stays the paper's 0.5."""
        if self.contamination != "auto" and len(scores):
            self.threshold_ = float(np.quantile(scores, 1.0 - float(self.contamination)))
            self.forest_.offset_ = -self.threshold_   # so the pickled estimator's predict agrees

    def _check_compiled(self, X: np.ndarray, n: int = 2000) -> None:
        """Never ship a compiled forest that disagrees with scikit-learn."""
        rng = np.random.default_rng(0)
        idx = rng.choice(len(X), size=min(n, len(X)), replace=False)
        diff = np.abs(self.compiled_.anomaly_scores(X[idx]) - self.training_scores_[idx]).max()
        if not diff <= 1e-9:
            raise TrainingError(f"compiled forest disagrees with scikit-learn by {diff:g}; not storing it")

    def anomaly_scores(self, X: np.ndarray) -> np.ndarray:
        """Anomaly scores in (0, 1), higher = more anomalous (``-score_samples``)."""
        return -self.forest_.score_samples(np.asarray(X, dtype=np.float64))

    def feature_stats(self) -> dict[str, list[float]]:
        return {
            "median": [float(v) for v in self.feature_median_],
            "iqr": [float(v) for v in self.feature_iqr_],
            "scale": [float(v) for v in self.feature_scale_],
            "p01": [float(v) for v in self.feature_p01_],
            "p99": [float(v) for v in self.feature_p99_],
        }

    def effective_params(self) -> dict[str, Any]:
        params = {k: v for k, v in self.get_params().items() if k != "n_jobs"}
        params["max_samples_"] = int(self.forest_.max_samples_)
        return params
