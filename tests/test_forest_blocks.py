"""The single-vector scorer walks the trees three levels at a time from the roots to the leaves:
one block of comparisons per three levels (a depth-12 forest, the production model's with
``max_samples`` 4096, in 4 blocks), never a level on its own — each level walked alone costs six
NumPy calls where a block of three costs about eight.  And it scores as scikit-learn does at every
depth (a forest shallower than a block, one ending inside a block, one ending on a block's edge)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.ensemble import IsolationForest

import smartlayer.ml.forest as forest_module
from smartlayer.ml.forest import CompiledForest


def _fit(max_samples: int, seed: int = 0, n_estimators: int = 30):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(max(4 * max_samples, 64), 5)) * [1, 10, 1e-3, 1e5, 1]
    est = IsolationForest(n_estimators=n_estimators, max_samples=max_samples, random_state=seed).fit(X)
    return est, CompiledForest.from_estimator(est), rng


class _CountingNumpy:
    """``np`` as the forest module sees it, counting the block steps (one ``packbits`` each)."""

    def __init__(self) -> None:
        self.blocks = 0

    def __getattr__(self, name):
        if name == "packbits":
            def packbits(*args, **kwargs):
                self.blocks += 1
                return np.packbits(*args, **kwargs)
            return packbits
        return getattr(np, name)


@pytest.mark.parametrize("max_samples", [2, 5, 16, 64, 256, 4096])
def test_every_depth_scores_as_scikit_learn(max_samples):
    est, forest, rng = _fit(max_samples)
    T = np.vstack([rng.normal(size=(300, 5)) * [1, 10, 1e-3, 1e5, 1] * s for s in (1, 3, 30)])
    single = np.array([forest.anomaly_score(row.tolist()) for row in T])
    assert np.abs(single + est.score_samples(T)).max() < 1e-9
    assert np.abs(single - forest.anomaly_scores(T)).max() < 1e-12


def test_a_depth_twelve_forest_is_walked_in_four_blocks_and_no_level_alone(monkeypatch):
    est, forest, rng = _fit(4096, n_estimators=20)
    assert forest.max_depth == 12
    counting = _CountingNumpy()
    monkeypatch.setattr(forest_module, "np", counting)
    x = (rng.normal(size=5) * [1, 10, 1e-3, 1e5, 1]).tolist()
    expected = -est.score_samples(np.array([x]))[0]
    # the per-level arrays (the batch path's) are not read by the single-vector walk
    for name in ("_feat2", "_thr2", "_child2", "_child_value2"):
        monkeypatch.setattr(forest, name, None)
    assert abs(forest.anomaly_score(x) - expected) < 1e-9
    assert counting.blocks == math.ceil(12 / 3)
