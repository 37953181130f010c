"""The single-vector scorer (top block, float32 thresholds, fused last level) agrees with
scikit-learn and with the batch path on the vectors where a shortcut could slip: values on and
next to thresholds, infinities, values beyond float32, NaN, shallow and many-tree forests."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import IsolationForest

from smartlayer.ml.forest import CompiledForest, _floor32


def _fit(n_features=6, n_estimators=50, max_samples=256, seed=0, X=None):
    rng = np.random.default_rng(seed)
    if X is None:
        X = rng.normal(size=(2000, n_features)) * [1, 10, 1e-3, 1e5, 1, 3][:n_features]
    est = IsolationForest(n_estimators=n_estimators, max_samples=max_samples, random_state=seed).fit(X)
    return est, CompiledForest.from_estimator(est)


def _three_ways(est, forest, T):
    """scikit-learn, the batch path and the single path on the same rows."""
    ref = -est.score_samples(T)
    batch = forest.anomaly_scores(T)
    single = np.array([forest.anomaly_score(row.tolist()) for row in T])
    return ref, batch, single


@pytest.mark.filterwarnings("ignore:overflow encountered in cast")
def test_floor32_keeps_every_float32_comparison():
    rng = np.random.default_rng(5)
    t = np.concatenate([rng.normal(size=5000) * 10.0 ** rng.integers(-40, 40, 5000),
                        [0.0, -0.0, np.inf, -np.inf, 3.5e38, -3.5e38, 1e-46, -1e-46, 1.0 + 2 ** -30]])
    t32 = _floor32(t)
    assert t32.dtype == np.float32
    assert (t32.astype(np.float64) <= t).all()
    # the float32 values around each threshold: the one below, its rounding, the one above
    near = t.astype(np.float32)
    xs = np.concatenate([near, np.nextafter(near, np.float32(np.inf)), np.nextafter(near, np.float32(-np.inf)),
                         np.array([np.inf, -np.inf, 0.0], dtype=np.float32)])
    for x in xs[:, None][::7]:
        assert ((x > t) == (x > t32)).all()


def test_inputs_on_and_beside_the_thresholds():
    est, forest = _fit()
    # for each node: its feature set to exactly its threshold, and to the float32 values beside it
    rng = np.random.default_rng(1)
    base = rng.normal(size=(1, 6))
    internal = np.flatnonzero(forest.feature >= 0)[:400]
    rows = []
    for node in internal:
        t32 = np.float32(forest.threshold[node])
        for v in (t32, np.nextafter(t32, np.float32(np.inf)), np.nextafter(t32, np.float32(-np.inf))):
            row = base.copy()
            row[0, forest.feature[node]] = v
            rows.append(row[0])
    T = np.array(rows)
    ref, batch, single = _three_ways(est, forest, T)
    assert np.abs(batch - ref).max() < 1e-9
    assert np.abs(single - ref).max() < 1e-9
    assert np.abs(single - batch).max() < 1e-12


@pytest.mark.filterwarnings("ignore:overflow encountered in cast")
def test_infinities_and_values_beyond_float32():
    est, forest = _fit()
    T = np.array([
        [np.inf] * 6, [-np.inf] * 6, [1e39, -1e39, 1e300, -1e300, 3.4e38, 1e-46],
        [np.inf, -np.inf, 0.0, -0.0, 5e-324, 1e6],
    ])
    ref, batch, single = _three_ways(est, forest, T)
    assert np.abs(batch - ref).max() < 1e-9
    assert np.abs(single - ref).max() < 1e-9


def test_nan_takes_the_batch_path_exactly():
    est, forest = _fit(seed=3)
    rng = np.random.default_rng(4)
    T = rng.normal(size=(60, 6))
    T[::2, 0] = np.nan
    T[1::3, 3] = np.nan
    T[5] = np.nan
    ref, batch, single = _three_ways(est, forest, T)
    nan = np.isnan(T).any(axis=1)
    assert 0 < nan.sum() < len(T)
    assert np.array_equal(single[nan], batch[nan])
    assert np.abs(single - batch).max() < 1e-12
    assert np.abs(single - ref).max() < 1e-9


def test_inf_minus_inf_is_not_mistaken_for_a_score():
    """The NaN check sums the vector: +inf and -inf sum to NaN and send the vector down the batch
    path, which scores it as the single path would have."""
    est, forest = _fit()
    row = [np.inf, -np.inf, 0.5, 0.1, -2.0, 1.0]
    ref = -est.score_samples(np.array([row]))[0]
    assert abs(forest.anomaly_score(row) - ref) < 1e-9


@pytest.mark.parametrize(("max_samples", "n_estimators"), [(2, 7), (4, 9), (8, 300), (16, 3)])
def test_shallow_and_many_tree_forests(max_samples, n_estimators):
    """Trees shallower than the levels walked at once (leaves stand in for their missing
    descendants), and more trees than fit a byte of tree numbers."""
    est, forest = _fit(n_estimators=n_estimators, max_samples=max_samples, seed=2)
    T = np.random.default_rng(6).normal(size=(200, 6)) * [1, 10, 1e-3, 1e5, 1, 3]
    ref, batch, single = _three_ways(est, forest, T)
    assert np.abs(batch - ref).max() < 1e-9
    assert np.abs(single - ref).max() < 1e-9


def test_a_single_training_sample():
    """c(1) = 0: scikit-learn scores 2 ** -1 whatever the input."""
    est, forest = _fit(X=np.array([[1.0, 2.0]]), max_samples=1, n_estimators=4)
    ref, batch, single = _three_ways(est, forest, np.array([[1.0, 2.0], [5.0, -1.0]]))
    assert np.abs(batch - ref).max() < 1e-9 and np.abs(single - ref).max() < 1e-9


def test_integers_and_numpy_scalars_score_like_floats():
    est, forest = _fit()
    row = [1, np.float32(2.5), np.float64(-0.25), True, 0, 7]
    expected = forest.anomaly_scores(np.array([row], dtype=np.float64))[0]
    assert abs(forest.anomaly_score(row) - expected) < 1e-12
    assert abs(forest.anomaly_score(np.array(row, dtype=np.float64)) - expected) < 1e-12
