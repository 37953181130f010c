"""Model store (immutable versions, ACTIVE pointer, verification) and the runtime."""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path

import pytest

from smartlayer.ml import runtime
from smartlayer.ml.features import FEATURE_NAMES, extract
from smartlayer.ml.store import (
    FOREST_FILE,
    MANIFEST_FILE,
    MODEL_FILE,
    ModelStore,
    ModelStoreError,
    StoreLocked,
    store_root,
)


@pytest.fixture(scope="module")
def fitted():
    """One small real model (generated traffic through the real pipeline)."""
    from smartlayer.ml.training.frames import records_frame
    from smartlayer.ml.training.train import fit_frame
    from smartlayer.sim import generate_attack_day

    df = records_frame(generate_attack_day(3, humans=12))
    return fit_frame(df, params={"n_estimators": 25, "max_samples": 128, "contamination": 0.02,
                                 "random_state": 0}, min_samples=50)


@pytest.fixture
def store(tmp_path, sl):
    sl(MODEL_STORE=str(tmp_path / "store"), MODEL_RELOAD_INTERVAL=0, MODEL_ENABLED=True)
    runtime.reset_runtime()
    yield ModelStore()
    runtime.reset_runtime()


def save(store: ModelStore, fitted, version: str = "v1", **manifest_changes) -> Path:
    manifest = {**fitted.manifest, **manifest_changes}
    return store.save(version, estimator=fitted.model.forest_, forest=fitted.model.compiled_, manifest=manifest)


def flip_byte(path: Path, offset: int = 200) -> None:
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[offset % len(data)] ^= 0x01
    path.write_bytes(bytes(data))


# ── store ────────────────────────────────────────────────────────────────────

def test_save_writes_an_immutable_complete_version(store, fitted):
    path = save(store, fitted)
    assert sorted(p.name for p in path.iterdir()) == sorted([MODEL_FILE, FOREST_FILE, MANIFEST_FILE])
    manifest = json.loads((path / MANIFEST_FILE).read_text())
    assert manifest["version"] == "v1"
    assert manifest["feature_set"] == "fs3" and manifest["feature_names"] == list(FEATURE_NAMES)
    assert set(manifest["libraries"]) >= {"python", "numpy", "sklearn", "smartlayer"}
    assert set(manifest["artifacts"]) == {MODEL_FILE, FOREST_FILE}
    assert all(len(a["sha256"]) == 64 for a in manifest["artifacts"].values())
    for key in ("threshold", "params", "training", "samples", "clients", "metrics", "score_histogram",
                "feature_stats", "created"):
        assert key in manifest
    assert all(not os.access(p, os.W_OK) or os.geteuid() == 0 for p in path.iterdir())
    assert oct(path.joinpath(FOREST_FILE).stat().st_mode & 0o777) == "0o444"
    assert store.versions() == ["v1"]
    assert [p.name for p in store.root.iterdir() if p.name.startswith(".tmp")] == []
    with pytest.raises(ModelStoreError, match="already exists"):
        save(store, fitted)


def test_load_verifies_and_scores_like_the_estimator(store, fitted):
    save(store, fitted)
    loaded = store.load("v1")
    x = fitted.X[:50]
    assert abs(loaded.forest.anomaly_scores(x) - fitted.model.anomaly_scores(x)).max() < 1e-9
    est = store.load_estimator("v1")
    assert abs(-est.score_samples(x) - fitted.model.anomaly_scores(x)).max() < 1e-12


def test_a_flipped_byte_in_the_forest_is_refused(store, fitted):
    path = save(store, fitted)
    flip_byte(path / FOREST_FILE)
    with pytest.raises(ModelStoreError, match="forest.npz does not match its sha256"):
        store.load("v1")


def test_a_tampered_pickle_is_never_unpickled(store, fitted, monkeypatch):
    import joblib

    path = save(store, fitted)
    flip_byte(path / MODEL_FILE, offset=50)
    monkeypatch.setattr(joblib, "load", lambda *a, **k: pytest.fail("unpickled a tampered file"))
    with pytest.raises(ModelStoreError, match="model.joblib does not match"):
        store.load_estimator("v1")
    store.load("v1")  # the runtime artifact is intact and still loads


def test_an_incompatible_feature_set_is_refused(store, fitted):
    save(store, fitted, "old", feature_set="fs0")
    with pytest.raises(ModelStoreError, match="feature set 'fs0'"):
        store.load("old")
    save(store, fitted, "renamed", feature_names=list(FEATURE_NAMES[::-1]))
    with pytest.raises(ModelStoreError, match="feature names"):
        store.load("renamed")


def test_missing_files_and_bad_names(store, fitted):
    with pytest.raises(ModelStoreError, match="no manifest.json"):
        store.load("nope")
    path = save(store, fitted)
    os.unlink(path / FOREST_FILE)
    with pytest.raises(ModelStoreError, match="forest.npz is missing"):
        store.load("v1")
    for bad in ("../etc", ".hidden", "a/b", "", "x" * 80):
        with pytest.raises(ModelStoreError, match="invalid model version"):
            store.path(bad)


def test_active_pointer_is_replaced_atomically(store):
    assert store.active_version() is None
    store.set_active("v1")
    store.set_active("v2")
    assert store.active_path.read_text() == "v2\n"
    assert [p.name for p in store.root.iterdir() if p.name.startswith(".ACTIVE")] == []
    store.clear_active()
    assert store.active_version() is None


def test_store_root_defaults(settings, sl, tmp_path):
    sl(MODEL_STORE=None)
    settings.BASE_DIR = tmp_path
    assert store_root() == tmp_path / "models_store"
    import smartlayer

    sl(MODEL_STORE=str(Path(smartlayer.__file__).parent / "models_store"))
    with pytest.raises(ModelStoreError, match="inside the smartlayer package"):
        store_root()


def test_training_lock_is_exclusive(store):
    with store.lock():
        with pytest.raises(StoreLocked, match="another training run is in progress"):
            with store.lock():
                pass
    # released: can be taken again; and wait=True queues behind a holder
    got = []

    def waiter():
        with store.lock(wait=True):
            got.append(time.monotonic())

    with store.lock():
        t = threading.Thread(target=waiter)
        t.start()
        time.sleep(0.2)
        assert got == []
        released = time.monotonic()
    t.join(5)
    assert got and got[0] >= released


# ── runtime ──────────────────────────────────────────────────────────────────

def snapshot_of(paths: list[str]):
    from smartlayer.request.facts import arrival_flags
    from smartlayer.state.windows.window import ClientWindow

    win = ClientWindow(200)
    snap = None
    for i, p in enumerate(paths):
        snap = win.arrive((1.7e9 + i * 0.3, "GET", p, arrival_flags(authenticated=False, user_agent="curl/8", path=p)),
                          600)
        win.complete((1.7e9 + i * 0.3, 404, 3.0, False))
    return snap


def test_no_model_until_one_is_active(store, fitted):
    assert runtime.get_active_model() is None
    save(store, fitted)
    assert runtime.get_active_model() is None  # stored, not active
    store.set_active("v1")
    model = runtime.get_active_model()
    assert model is not None and model.version == "v1"
    snap = snapshot_of([f"/users/{i}" for i in range(60)])
    scored = model.score(snap)
    assert scored.version == "v1" and scored.threshold == pytest.approx(fitted.model.threshold_)
    assert scored.score == pytest.approx(fitted.model.anomaly_scores([extract(snap)])[0], abs=1e-12)
    assert 0.0 < scored.score < 1.0
    assert len(scored.top_features) == 3 and all(name in FEATURE_NAMES for name, _ in scored.top_features)
    top = dict(scored.top_features)
    assert "sequential_run_60s" in top or "share_404" in top or "share_4xx" in top


def test_model_disabled(store, fitted, sl):
    save(store, fitted)
    store.set_active("v1")
    sl(MODEL_ENABLED=False)
    assert runtime.get_active_model() is None


def test_reload_is_cheap_until_the_interval_passes(store, fitted, sl, monkeypatch):
    save(store, fitted, "v1")
    save(store, fitted, "v2")
    store.set_active("v1")
    sl(MODEL_RELOAD_INTERVAL=60)
    clock = [1000.0]
    monkeypatch.setattr(runtime.time, "monotonic", lambda: clock[0])
    assert runtime.get_active_model().version == "v1"
    store.set_active("v2")
    calls = []
    real_wanted = runtime._Runtime.wanted
    monkeypatch.setattr(runtime._Runtime, "wanted", lambda self: calls.append(1) or real_wanted(self))
    for _ in range(100):
        assert runtime.get_active_model().version == "v1"
    assert calls == []  # no stat, no cache read between checks
    clock[0] += 61
    assert runtime.get_active_model().version == "v2"


def test_activation_on_another_host_arrives_through_the_cache(store, fitted):
    from smartlayer.state.cache import get_cache

    save(store, fitted, "v1")
    save(store, fitted, "v2")
    store.set_active("v1")
    assert runtime.get_active_model().version == "v1"
    get_cache().set(runtime.active_cache_key(), {"version": "v2", "at": time.time() + 5}, None)
    assert runtime.get_active_model().version == "v2"
    # a later local pointer change wins over an older cache entry
    time.sleep(0.01)
    get_cache().set(runtime.active_cache_key(), {"version": "v2", "at": time.time() - 100}, None)
    store.set_active("v1")
    assert runtime.get_active_model().version == "v1"


def test_a_tampered_active_model_is_not_used_and_is_reported(store, fitted, caplog, monkeypatch):
    from smartlayer import state

    path = save(store, fitted)
    flip_byte(path / FOREST_FILE)
    store.set_active("v1")
    loads = []
    real_load = ModelStore.load
    monkeypatch.setattr(ModelStore, "load", lambda self, v: loads.append(v) or real_load(self, v))
    with caplog.at_level(logging.WARNING, logger="smartlayer"):
        for _ in range(50):
            assert runtime.get_active_model() is None
    assert loads == ["v1"]  # not retried on every request
    assert state.metrics["failure.model"] == 1
    assert any("does not match its sha256" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db
def test_rules_keep_working_with_a_broken_model(store, fitted, browser, sl):
    path = save(store, fitted)
    flip_byte(path / FOREST_FILE)
    store.set_active("v1")
    sl(black_requests_10s=50, GREY_SUSTAINED_COUNT=0)  # the BLACK boundary alone (hammering one path is blocked sooner: test_decisions)
    codes = [browser.get("/").status_code for _ in range(60)]
    assert codes[:49] == [200] * 49            # served normally, past the grace period too
    assert codes[49:] == [403] * 11           # the BLACK flood rule still blocks on its own
    assert runtime.get_active_model() is None


@pytest.mark.django_db
def test_a_working_model_scores_requests_in_the_middleware(store, fitted, browser, flush_logs):
    from smartlayer.models import RequestLog

    save(store, fitted)
    store.set_active("v1")
    for i in range(25):
        browser.get(f"/page/{i}")
    flush_logs()
    scored = RequestLog.objects.exclude(model_score=None)
    assert scored.count() == 24  # requests 2..25: scored from MODEL_SCORE_FROM, the grace period included
    assert set(scored.values_list("model_version", flat=True)) == {"v1"}


def test_a_model_trained_with_another_window_is_used_with_a_warning(store, fitted, sl, caplog):
    save(store, fitted)
    store.set_active("v1")
    sl(WINDOW_SECONDS=300)
    with caplog.at_level(logging.WARNING, logger="smartlayer"):
        assert runtime.get_active_model().version == "v1"
    assert any("WINDOW_SECONDS=600.0 (now 300.0)" in r.getMessage() for r in caplog.records)
