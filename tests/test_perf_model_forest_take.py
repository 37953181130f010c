"""The single-vector walk reads its tables with ``take`` on flat arrays, never with NumPy's
array-indexed subscript (``table[rows, columns]`` or ``table[index]``): that path prepares a
general "map iterator" on each call and cost ~10,000 instructions where a ``take`` of the same
100 elements costs ~5,000 (2026-12-06, callgrind: 220 k → 204 k instructions a vector on the
production-sized forest).  Counted, not timed: every array the forest holds is swapped for one
that counts the subscripts made with an index array."""
from __future__ import annotations

import numpy as np
from sklearn.ensemble import IsolationForest

from smartlayer.ml.forest import CompiledForest


class _Counted(np.ndarray):
    """An array that counts the subscripts made with an index array (scalars and slices pass)."""

    fancy = 0

    def __getitem__(self, key):
        keys = key if isinstance(key, tuple) else (key,)
        if any(isinstance(k, np.ndarray) and k.ndim > 0 for k in keys):
            _Counted.fancy += 1
        return super().__getitem__(key)


def _counted(value):
    if isinstance(value, np.ndarray):
        return value.view(_Counted)
    if isinstance(value, list):
        return [_counted(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_counted(v) for v in value)
    return value


def test_the_single_vector_walk_indexes_no_table_with_an_array():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(8192, 6)) * [1, 10, 1e-3, 1e5, 1, 3]
    est = IsolationForest(n_estimators=25, max_samples=4096, random_state=3).fit(X)
    forest = CompiledForest.from_estimator(est)
    assert forest.max_depth == 12  # four blocks: the top one, two in the middle, the last one
    rows = rng.normal(size=(50, 6)) * [1, 10, 1e-3, 1e5, 1, 3] * rng.choice([1, 5, 50], size=(50, 1))
    expected = -est.score_samples(rows)
    for name, value in list(vars(forest).items()):
        setattr(forest, name, _counted(value))
    _Counted.fancy = 0
    scores = [forest.anomaly_score(row.tolist()) for row in rows]
    assert _Counted.fancy == 0
    assert np.abs(np.array(scores) - expected).max() < 1e-9
