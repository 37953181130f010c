"""A loaded forest builds the batch path's arrays (the doubled layout) only when a batch is first scored.

A request scores one vector and the replay one line at a time: neither reads them, and they were most
of a loaded forest's memory and a third of its load in start-up.  Built on demand they give the batch
path the same arrays, so the batch scores stay those of the single walk and of scikit-learn."""
from __future__ import annotations

import numpy as np
from sklearn.ensemble import IsolationForest

from smartlayer.ml.forest import CompiledForest

_BATCH = ("_feat2", "_thr2", "_miss_right2", "_child2", "_child_value2", "_roots2")


def _loaded(tmp_path):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(600, 5)) * [1, 10, 1e-3, 1e5, 1]
    est = IsolationForest(n_estimators=25, max_samples=256, random_state=3).fit(X)
    CompiledForest.from_estimator(est).to_npz(tmp_path / "forest.npz")
    return est, CompiledForest.from_npz(tmp_path / "forest.npz"), rng


def test_a_loaded_forest_scores_one_vector_without_the_batch_arrays(tmp_path):
    est, forest, rng = _loaded(tmp_path)
    built = {name for name in _BATCH if name in vars(forest)}
    assert built == set()
    x = (rng.normal(size=5) * [1, 10, 1e-3, 1e5, 1]).tolist()
    assert abs(forest.anomaly_score(x) + est.score_samples(np.array([x]))[0]) < 1e-9
    assert {name for name in _BATCH if name in vars(forest)} == set()


def test_the_batch_arrays_built_on_first_batch_score_as_the_single_walk(tmp_path):
    est, forest, rng = _loaded(tmp_path)
    T = rng.normal(size=(200, 5)) * [1, 10, 1e-3, 1e5, 1]
    batch = forest.anomaly_scores(T)
    assert all(name in vars(forest) for name in _BATCH)
    single = np.array([forest.anomaly_score(row.tolist()) for row in T])
    assert np.abs(batch - single).max() < 1e-12
    assert np.abs(batch + est.score_samples(T)).max() < 1e-9
    # a NaN takes the batch path from the single-vector call, which builds them as well
    fresh = CompiledForest.from_npz(tmp_path / "forest.npz")
    x = [float("nan"), 1.0, 0.0, 0.0, 0.0]
    assert fresh.anomaly_score(x) == forest.anomaly_scores(np.array([x]))[0]


def test_a_missing_attribute_is_still_an_attribute_error(tmp_path):
    _, forest, _ = _loaded(tmp_path)
    assert not hasattr(forest, "_no_such_table")
