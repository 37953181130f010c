"""The compiled forest scores exactly like scikit-learn, and loads only sane files."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest
from sklearn.ensemble import IsolationForest

from smartlayer.ml.forest import CompiledForest, ForestFormatError, average_path_length

SETTINGS = [
    # (max_samples, n_estimators, max_features)
    (256, 100, 1.0),
    ("auto", 40, 1.0),
    (64, 25, 0.5),
    (1000, 10, 3),
    (0.4, 15, 0.8),
    (2, 5, 1.0),
]


def reference(est: IsolationForest, X: np.ndarray) -> np.ndarray:
    return -est.score_samples(X)


@pytest.mark.parametrize(("max_samples", "n_estimators", "max_features"), SETTINGS)
def test_parity_on_random_data(max_samples, n_estimators, max_features):
    rng = np.random.default_rng(11)
    X = rng.normal(size=(2500, 7))
    X[:, 2] = np.round(X[:, 2])          # ties and repeated thresholds
    X[:, 5] = rng.integers(0, 2, 2500)   # a binary feature
    est = IsolationForest(n_estimators=n_estimators, max_samples=max_samples, max_features=max_features,
                          random_state=3).fit(X)
    forest = CompiledForest.from_estimator(est)
    T = np.vstack([rng.normal(size=(300, 7)) * 3, X[:100], np.full((1, 7), 1e6), np.full((1, 7), -1e6)])
    ref = reference(est, T)
    assert np.abs(forest.anomaly_scores(T) - ref).max() < 1e-9
    singles = np.array([forest.anomaly_score(list(row)) for row in T])
    assert np.abs(singles - ref).max() < 1e-9
    assert ((ref > 0) & (ref < 1)).all()


def test_parity_with_missing_values():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(1500, 4))
    est = IsolationForest(n_estimators=30, random_state=0).fit(X)
    forest = CompiledForest.from_estimator(est)
    T = rng.normal(size=(200, 4))
    T[::3, 1] = np.nan
    T[::7, 3] = np.nan
    ref = reference(est, T)
    assert np.abs(forest.anomaly_scores(T) - ref).max() < 1e-9
    assert np.abs(np.array([forest.anomaly_score(list(r)) for r in T]) - ref).max() < 1e-9


def test_parity_on_real_feature_vectors():
    from smartlayer.ml.features import N_FEATURES
    from smartlayer.ml.training.frames import frame_to_vectors, records_frame
    from smartlayer.sim import generate_attack_day

    X, _ = frame_to_vectors(records_frame(generate_attack_day(5, humans=15)))
    assert X.shape[1] == N_FEATURES and len(X) > 1000
    for max_samples, max_features in ((256, 1.0), (512, 0.6)):
        est = IsolationForest(n_estimators=60, max_samples=max_samples, max_features=max_features,
                              random_state=1).fit(X[::2])
        forest = CompiledForest.from_estimator(est)
        ref = reference(est, X[1::2])
        assert np.abs(forest.anomaly_scores(X[1::2]) - ref).max() < 1e-9
        idx = np.random.default_rng(0).choice(len(X) // 2, 300, replace=False)
        single = np.array([forest.anomaly_score(X[1::2][i].tolist()) for i in idx])
        assert np.abs(single - ref[idx]).max() < 1e-9


def test_average_path_length_matches_the_paper():
    n = np.array([0, 1, 2, 3, 10, 256, 10_000])
    c = average_path_length(n)
    assert list(c[:3]) == [0.0, 0.0, 1.0]
    assert (np.diff(c[2:]) > 0).all()
    # the paper's ln + Euler-gamma approximation of the harmonic number is close for large n
    exact = [2 * sum(1 / i for i in range(1, k - 1 + 1)) - 2 * (k - 1) / k for k in (256, 10_000)]
    assert np.allclose(c[5:], exact, atol=0.01)


@pytest.fixture
def fitted():
    X = np.random.default_rng(4).normal(size=(800, 5))
    est = IsolationForest(n_estimators=20, random_state=0).fit(X)
    return est, CompiledForest.from_estimator(est), X


def test_npz_round_trip(tmp_path, fitted):
    est, forest, X = fitted
    path = tmp_path / "forest.npz"
    forest.to_npz(path)
    again = CompiledForest.from_npz(path)
    assert again.n_trees == 20 and again.n_features == 5 and again.max_depth == forest.max_depth
    assert np.array_equal(again.anomaly_scores(X), forest.anomaly_scores(X))
    with zipfile.ZipFile(path) as zf:  # plain arrays, nothing pickled
        assert all(name.endswith(".npy") for name in zf.namelist())


def test_wrong_input_shapes(fitted):
    _, forest, _ = fitted
    with pytest.raises(ValueError, match="expected 5 features"):
        forest.anomaly_score([0.0] * 4)
    with pytest.raises(ValueError, match="expected shape"):
        forest.anomaly_scores(np.zeros((3, 6)))


def test_damaged_or_malicious_files_are_refused(tmp_path, fitted):
    _, forest, _ = fitted
    good = tmp_path / "good.npz"
    forest.to_npz(good)
    with np.load(good) as data:
        arrays = {k: data[k] for k in data.files}

    def write(name, **changes):
        path = tmp_path / name
        np.savez(path, **{**arrays, **changes})
        return path

    left = arrays["left"].copy()
    left[arrays["feature"] >= 0] = len(left) + 5
    with pytest.raises(ForestFormatError, match="child index"):
        CompiledForest.from_npz(write("oob.npz", left=left))
    feature = arrays["feature"].copy()
    feature[0] = 99
    with pytest.raises(ForestFormatError, match="feature index"):
        CompiledForest.from_npz(write("feat.npz", feature=feature))
    cyc = arrays["left"].copy()
    cyc[0] = 0  # root is its own child
    with pytest.raises(ForestFormatError, match="cycle"):
        CompiledForest.from_npz(write("cycle.npz", left=cyc))
    with pytest.raises(ForestFormatError, match="missing arrays"):
        CompiledForest.from_npz(_without(tmp_path, arrays, "meta"))
    (tmp_path / "junk.npz").write_bytes(b"not a zip file at all")
    with pytest.raises(ForestFormatError, match="unreadable"):
        CompiledForest.from_npz(tmp_path / "junk.npz")
    obj = tmp_path / "pickled.npz"
    np.savez(obj, **{**arrays, "value": np.array([{"x": 1}], dtype=object)})
    with pytest.raises(ForestFormatError):
        CompiledForest.from_npz(obj)  # allow_pickle=False


def _without(tmp_path, arrays, key):
    path = tmp_path / f"without-{key}.npz"
    np.savez(path, **{k: v for k, v in arrays.items() if k != key})
    return path


def test_not_a_fitted_forest():
    with pytest.raises(ForestFormatError, match="not a fitted"):
        CompiledForest.from_estimator(IsolationForest())


def test_request_path_modules_do_not_import_sklearn_or_pandas():
    code = textwrap.dedent("""
        import os, sys
        os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
        import django
        django.setup()
        from smartlayer.ml import runtime  # noqa: F401
        from smartlayer.detectors.behaviour import detector  # noqa: F401
        bad = sorted(m for m in sys.modules if m.split(".")[0] in ("sklearn", "pandas", "joblib", "scipy"))
        print(",".join(bad))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    assert out.stdout.strip() == "", out.stdout
