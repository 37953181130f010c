"""train_smartlayer, the registry (activate / roll back) and the end-to-end detection."""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pandas as pd
import pytest
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError

from smartlayer.ml import registry, runtime
from smartlayer.ml.store import FOREST_FILE, ModelStore
from smartlayer.ml.training.frames import frame_to_vectors, records_frame
from smartlayer.models import ModelVersion
from smartlayer.sim import DEFAULT_START, generate
from smartlayer.sim.requestlog import write_requestlog

pytestmark = pytest.mark.django_db

WEEK_START = "2024-01-01"
WEEK_END = "2024-01-08"  # the generated traffic starts 2024-01-01 00:00 UTC
FAST = ["--n-estimators", "30", "--random-state", "0"]


@pytest.fixture
def store(tmp_path, sl):
    # a positive interval (the system checks refuse 0); active_model() resets the timer
    sl(MODEL_STORE=str(tmp_path / "store"), MODEL_RELOAD_INTERVAL=0.001, MODEL_ENABLED=True, MODEL_MIN_SAMPLES=200)
    runtime.reset_runtime()
    yield ModelStore()
    runtime.reset_runtime()


def active_model():
    runtime.reset_runtime()
    return runtime.get_active_model()


def load_requestlog(records) -> int:
    """Write generated requests as the middleware would have logged them."""
    return write_requestlog(records, batch_size=2000)


@pytest.fixture
def small_log(store):
    """Two days of a small site: a few thousand rows, a few hundred scored requests."""
    return load_requestlog(generate(start=DEFAULT_START, duration=2 * 86400, seed=11, humans=20,
                                    scenarios={"crawler": 1, "api_client": 1}))


def run(*args: str) -> int:
    """Run the command the way manage.py does; return its exit status.

    ``run_from_argv`` closes every database connection when the command ends
    (right for a process about to exit); the test's own connection holds its
    transaction, so it is kept open here.
    """
    from unittest import mock

    try:
        with mock.patch("django.core.management.base.connections.close_all"):
            ManagementUtility(["manage.py", "train_smartlayer", *args]).execute()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def train(*args: str, **kwargs) -> str:
    from io import StringIO

    out = StringIO()
    call_command("train_smartlayer", "--since", WEEK_START, "--until", WEEK_END, *FAST, *args, stdout=out, **kwargs)
    return out.getvalue()


# ── refusing to train ────────────────────────────────────────────────────────

def test_too_little_data_exits_non_zero_and_writes_nothing(store, capsys):
    load_requestlog(generate(start=DEFAULT_START, duration=3600, seed=1, humans=3))
    status = run("--since", WEEK_START, "--until", WEEK_END, "--min-samples", "100000")
    assert status == 1
    err = capsys.readouterr().err
    assert "too little data to train" in err and "Nothing was written" in err
    assert not ModelVersion.objects.exists()
    assert store.versions() == [] and store.active_version() is None


def test_an_empty_window_is_too_little_data(store, capsys):
    assert run("--since", "2030-01-01", "--until", "2030-01-02") == 1
    assert "too little data" in capsys.readouterr().err
    assert run("--since", "2030-01-02", "--until", "2030-01-01") == 1
    assert "empty training window" in capsys.readouterr().err


def test_dry_run_writes_nothing(store, small_log):
    out = train("--dry-run")
    assert "dry run (nothing written)" in out and "threshold" in out
    assert not ModelVersion.objects.exists()
    assert not store.root.exists()  # not even the lock file


# ── a normal run, activation policy ──────────────────────────────────────────

def test_first_version_activates_later_ones_wait(store, small_log):
    received = []

    def on_activated(sender, version, previous, **kw):
        received.append((version, previous))

    from smartlayer.signals import model_activated

    model_activated.connect(on_activated)
    try:
        out1 = train()
        v1 = ModelVersion.objects.get()
        assert "activated" in out1 and v1.status == "active" and v1.activated_at is not None
        assert store.active_version() == v1.version and received == [(v1.version, None)]
        assert v1.samples >= 200 and v1.clients > 3 and v1.feature_set == "fs3"
        assert v1.sha256 == store.manifest_sha256(v1.version)
        assert 0 < v1.threshold < 1 and 0 < v1.metrics["share_above_threshold"] < 0.1
        assert active_model().version == v1.version

        out2 = train()
        v2 = ModelVersion.objects.exclude(pk=v1.pk).get()
        assert "not activated" in out2 and v2.status == "candidate"
        assert store.active_version() == v1.version

        train("--activate")
        v3 = ModelVersion.objects.filter(status="active").get()
        assert v3.version not in (v1.version, v2.version)
        assert store.active_version() == v3.version
        assert ModelVersion.objects.get(pk=v1.pk).status == "retired"
        assert received[-1] == (v3.version, v1.version)
        train("--no-activate")
        assert ModelVersion.objects.filter(status="active").get().version == v3.version
    finally:
        model_activated.disconnect(on_activated)


def test_model_options_reach_the_estimator(store, small_log):
    train("--contamination", "0.03", "--max-samples", "64", "--max-features", "0.5", "--n-estimators", "7")
    mv = ModelVersion.objects.get()
    assert mv.params["contamination"] == 0.03 and mv.params["max_samples"] == 64
    assert mv.params["max_features"] == 0.5 and mv.params["n_estimators"] == 7
    est = store.load_estimator(mv.version)
    assert len(est.estimators_) == 7 and est.max_samples_ == 64
    assert mv.metrics["share_above_threshold"] == pytest.approx(0.03, abs=0.01)
    with pytest.raises(CommandError):
        call_command("train_smartlayer", "--contamination", "0.9")


# ── registry ─────────────────────────────────────────────────────────────────

def test_activate_and_roll_back(store, small_log):
    from smartlayer.signals import model_activated
    from smartlayer.state.cache import get_cache

    for _ in range(3):
        train("--no-activate")
    a, b, c = ModelVersion.objects.order_by("created_at", "pk").values_list("version", flat=True)
    with pytest.raises(registry.RegistryError, match="nothing to roll back to"):
        registry.rollback()
    events = []
    handler = lambda sender, version, previous, **kw: events.append((version, previous))  # noqa: E731
    model_activated.connect(handler)
    try:
        registry.activate(a, by="alice")
        registry.activate(b)
        registry.activate(c)
        assert events == [(a, None), (b, a), (c, b)]
        rolled = registry.rollback(by="bob")
        assert rolled.version == b and events[-1] == (b, c)
        statuses = dict(ModelVersion.objects.values_list("version", "status"))
        assert statuses == {a: "retired", b: "active", c: "retired"}
        assert store.active_version() == b
        assert get_cache().get(runtime.active_cache_key())["version"] == b
        assert active_model().version == b
        assert "bob (rollback)" in ModelVersion.objects.get(version=b).notes
        registry.rollback()  # an undo of the rollback
        assert store.active_version() == c
    finally:
        model_activated.disconnect(handler)


def test_a_tampered_version_is_not_activated(store, small_log):
    train()
    train("--no-activate")
    good, bad = ModelVersion.objects.order_by("created_at", "pk").values_list("version", flat=True)
    path = store.path(bad) / FOREST_FILE
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(registry.RegistryError, match="sha256"):
        registry.activate(bad)
    assert store.active_version() == good
    assert ModelVersion.objects.get(version=good).status == "active"
    assert ModelVersion.objects.get(version=bad).status == "candidate"
    with pytest.raises(registry.RegistryError, match="no registered model version"):
        registry.activate("20990101-000000-abcdef")


def test_a_failed_run_leaves_the_active_model_untouched(store, small_log, monkeypatch):
    train()
    active = store.active_version()
    before = set(store.versions())

    def broken_register(*a, **k):
        raise RuntimeError("database went away")

    monkeypatch.setattr(registry, "register", broken_register)
    with pytest.raises(RuntimeError, match="database went away"):
        train("--activate")
    assert set(store.versions()) == before  # the half-done version was removed
    assert store.active_version() == active
    assert ModelVersion.objects.get().status == "active"


# ── cron safety ──────────────────────────────────────────────────────────────

@contextlib.contextmanager
def lock_held_by_another_process(store: ModelStore, seconds: float):
    """A separate process that holds the training flock for ``seconds``."""
    store.root.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import fcntl, os, time
        fd = os.open({str(store.root / '.train.lock')!r}, os.O_RDWR | os.O_CREAT)
        fcntl.flock(fd, fcntl.LOCK_EX)
        print("locked", flush=True)
        time.sleep({seconds})
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield holder
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


def test_a_second_run_exits_cleanly_while_one_holds_the_lock(store, small_log, capsys):
    with lock_held_by_another_process(store, 30):
        status = run("--since", WEEK_START, "--until", WEEK_END, *FAST)
        assert status == 75
        assert "another training run is in progress" in capsys.readouterr().err
        assert not ModelVersion.objects.exists()
    assert run("--since", WEEK_START, "--until", WEEK_END, *FAST) == 0  # the lock died with its holder


def test_wait_queues_behind_a_running_training(store, small_log):
    with lock_held_by_another_process(store, 30) as holder:
        let_go = threading.Timer(0.5, holder.kill)      # the holder lets go while train() waits
        let_go.start()
        try:
            train("--wait")
        finally:
            let_go.cancel()
        assert holder.poll() is not None  # it could only finish once the holder had let go
    assert ModelVersion.objects.count() == 1


# ── access logs, labels ──────────────────────────────────────────────────────

def test_training_from_a_labelled_access_log(store, tmp_path):
    from smartlayer.offline.accesslog import write_combined

    # fs2 scores page views and calls, not a page's assets: the two attackers are ~16 % of the vectors
    # (in-sample), so the threshold's share is set to match
    records = generate(start=DEFAULT_START, duration=86400, seed=9, humans=60,
                       scenarios={"enumeration": 1, "vuln_scanner": 1, "crawler": 1})
    log = tmp_path / "access.log"
    with open(log, "w") as fh:
        write_combined(records, fh, with_label=True, with_request_time=True)
    out = StringIO_call("--from-access-log", str(log), *FAST, "--contamination", "0.15")
    mv = ModelVersion.objects.get()
    labels = mv.metrics["labels"]
    assert {"human", "enumeration", "vuln_scanner"} <= set(labels)
    assert labels["vuln_scanner"]["recall"] > 0.5 and 0 < labels["enumeration"]["precision"] <= 1
    assert labels["human"]["benign"] and "recall" not in labels["human"]
    assert "precision" in out and "vuln_scanner" in out
    assert mv.metrics["rows"] == len(records_frame(records, key="ip"))


def StringIO_call(*args: str) -> str:  # noqa: N802 - reads like the call it wraps
    from io import StringIO

    out = StringIO()
    call_command("train_smartlayer", *args, stdout=out)
    return out.getvalue()


# ── end to end ───────────────────────────────────────────────────────────────

def scored(model, records, *, since: float = 0.0) -> pd.DataFrame:
    """Runtime scores of every scored request in ``records`` from ``since`` on (with the active
    version's site profile: the features read its request classes, as the detector does)."""
    from smartlayer.ml.runtime import get_active_profile

    X, meta = frame_to_vectors(records_frame(records), profile=get_active_profile())
    keep = (meta["ts"] >= since).to_numpy()
    scores = np.array([model.score_vector(list(x)).score for x in X[keep]])
    return pd.DataFrame({"label": meta["label"][keep].to_numpy(), "client": meta["client_key"][keep].to_numpy(),
                         "score": scores})


def test_end_to_end_normal_traffic_trains_a_model_that_catches_attackers(store, sl):
    """Train on last week of a site; this week, normal users stay below the
    threshold and an enumerator and aggressive scrapers go above it."""
    sl(MODEL_MIN_SAMPLES=500)
    week = 7 * 86400
    history = generate(start=DEFAULT_START, duration=2 * week, seed=21, humans=80,
                       scenarios={"api_client": 1, "crawler": 1})
    n = load_requestlog([r for r in history if r.ts < DEFAULT_START + week])
    assert n > 20_000
    # contamination 0.003: 0.3 % of the training week is above the threshold by construction
    train("--contamination", "0.003", "--n-estimators", "100")
    model = active_model()
    assert model is not None
    threshold = model.threshold

    this_week = scored(model, history, since=DEFAULT_START + week)
    below = (this_week["score"] < threshold).mean()
    assert len(this_week) > 10_000 and below >= 0.99, below

    attack = generate(start=DEFAULT_START + 8 * 86400, duration=86400, seed=22, humans=10,
                      scenarios={"enumeration": 2, "scraper": 2},
                      params={"scraper": {"delay": (0.1, 0.5), "requests": 800}})
    per_client = scored(model, attack).groupby(["label", "client"])["score"].median()
    for label in ("enumeration", "scraper"):
        assert len(per_client[label]) == 2
        assert (per_client[label] > threshold).all(), (label, per_client[label].to_dict(), threshold)
    assert (per_client["human"] < threshold).all()
    print("e2e", round(threshold, 4), round(below, 4), per_client.round(3).to_dict())
