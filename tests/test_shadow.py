"""Shadow scoring before activation (smartlayer.ml.training.shadow) and the bound it enforces.

The drift case: a candidate trained on two normal days of a small generated site, while on
the most recent day the site changed (every page view of its people now sends two telemetry
beacons).  Shadow scoring on that day shows the candidate refusing people the rules serve;
activation is refused — by ``--activate``, by the registry, by the admin's plain action —
until forced, and the forced activation is recorded with who did it.
"""
from __future__ import annotations

import dataclasses
import json
import random
from io import StringIO

import pytest
from django.core.management import call_command

from smartlayer import signals
from smartlayer.ml import registry, runtime
from smartlayer.ml.store import SHADOW_FILE, ModelStore
from smartlayer.models import ModelVersion
from smartlayer.sim import DEFAULT_START, generate
from smartlayer.sim.requestlog import write_requestlog

pytestmark = pytest.mark.django_db

DAY = 86400.0
FAST = ["--n-estimators", "30", "--random-state", "0", "--since", "2024-01-01", "--until", "2024-01-03"]


@pytest.fixture
def store(tmp_path, sl):
    sl(MODEL_STORE=str(tmp_path / "store"), MODEL_RELOAD_INTERVAL=0.001, MODEL_ENABLED=True, MODEL_MIN_SAMPLES=200)
    runtime.reset_runtime()
    yield ModelStore()
    runtime.reset_runtime()


def site(day: int, *, beacons: int = 0):
    records = generate(start=DEFAULT_START + day * DAY, duration=DAY if day == 2 else 2 * DAY, seed=11 + day,
                       humans=20, scenarios={"crawler": 1, "api_client": 1})
    if not beacons:
        return records
    rng = random.Random(day)
    out = []
    for r in records:
        out.append(r)
        if r.label == "human" and r.method == "GET":
            out += [dataclasses.replace(r, ts=r.ts + rng.uniform(0.5, 4.0), method="POST", path="/api/beacon/",
                                        status=204, response_ms=2.0) for _ in range(beacons)]
    return sorted(out, key=lambda r: r.ts)


@pytest.fixture
def normal_site(store):
    write_requestlog(site(0), batch_size=2000)           # days 0-1: what the model is trained on
    write_requestlog(site(2), batch_size=2000)           # day 2: the most recent traffic, as before


@pytest.fixture
def drifted_site(store):
    write_requestlog(site(0), batch_size=2000)
    write_requestlog(site(2, beacons=2), batch_size=2000)  # day 2: the site changed


def train(*args: str) -> str:
    out = StringIO()
    call_command("train_smartlayer", *FAST, *args, stdout=out)
    return out.getvalue()


def test_a_sound_candidate_is_scored_and_activated(normal_site, store):
    out = train("--activate")
    mv = ModelVersion.objects.get()
    assert mv.status == "active" and "within the bound" in out and "shadow scoring on 2024-01-0" in out
    report = store.read_report(mv.version)
    assert report == json.loads((store.path(mv.version) / SHADOW_FILE).read_text())
    assert SHADOW_FILE in store.read_manifest(mv.version)["artifacts"]    # hashed like the model
    c = report["candidate"]
    assert report["window"]["requests"] > 1000 and report["window"]["clients"] >= 20
    assert c["scored_requests"] > 0 and 0 <= c["flagged_share"] < 0.1
    assert report["refused_share"] == c["refused_share"] <= report["bound"] == pytest.approx(0.03)
    assert report["within_bound"] and "active" not in report
    assert mv.metrics["shadow"]["refused_share"] == report["refused_share"]   # the admin reads the row
    # the next candidate is compared with the active version
    out = train("--no-activate")
    second = ModelVersion.objects.get(status="candidate")
    report = store.read_report(second.version)
    assert report["active"]["version"] == mv.version and "change" in report
    assert f"vs active {mv.version}" in out


def test_the_drift_case_a_bad_candidate_is_refused_at_activation(drifted_site, store):
    received = []
    handler = lambda sender, **kw: received.append(kw)  # noqa: E731
    signals.model_activated.connect(handler)
    try:
        out = train("--activate")
        mv = ModelVersion.objects.get()
        report = store.read_report(mv.version)
        c = report["candidate"]
        assert not report["within_bound"] and report["refused_share"] > report["bound"]
        assert c["refused_clients"] >= 3 and c["overlap"]["clients_model_only"] >= 3
        assert c["top_endpoints"][0][0] == "/api/beacon/"
        assert "OUTSIDE the bound" in out and "NOT activated" in out
        assert mv.status == "candidate" and store.active_version() is None and received == []
        with pytest.raises(registry.OutsideBound, match="shadow scoring"):
            registry.activate(mv.version, by="alice")
        assert ModelVersion.objects.get().status == "candidate"

        registry.activate(mv.version, by="alice", force=True)
        mv.refresh_from_db()
        assert mv.status == "active" and "by alice" in mv.notes and "FORCED past the bound" in mv.notes
        event = store.history()[-1]
        assert event["version"] == mv.version and event["by"] == "alice" and event["forced"] is True
        assert received[-1]["forced"] is True and received[-1]["by"] == "alice"
    finally:
        signals.model_activated.disconnect(handler)


def test_force_on_the_command_line_activates_and_is_recorded(drifted_site, store):
    out = train("--activate", "--force")
    mv = ModelVersion.objects.get()
    assert mv.status == "active" and "OUTSIDE the bound" in out
    assert store.history()[-1]["by"] == "train_smartlayer --force" and store.history()[-1]["forced"] is True


def test_a_looser_bound_lets_the_same_candidate_through(drifted_site, store, sl):
    """The bound is read at activation time: the setting decides, not the report's copy."""
    train("--no-activate")
    mv = ModelVersion.objects.get()
    report = store.read_report(mv.version)
    # both bounds loosened: the refused share's and the live guard's on the flagged share (the drifted candidate
    # flags most of the day, which the guard gate below refuses on its own)
    sl(MODEL_BOUND_FACTOR=report["refused_share"] / 0.01 + 1, MODEL_GUARD_FACTOR=100)
    registry.activate(mv.version)
    assert store.history()[-1]["forced"] is False


def test_a_candidate_the_live_guard_would_demote_is_refused_within_the_refused_bound(drifted_site, store, sl):
    """Flagging most of the recent traffic is a site the model does not know, even when it refuses little:
    the live guard would demote it minutes after activation, so activation refuses it first."""
    train("--no-activate")
    mv = ModelVersion.objects.get()
    report = store.read_report(mv.version)
    c = report["candidate"]
    assert report["guard_demotes"] and c["flagged_share"] > report["guard_bound"] == pytest.approx(0.25)
    sl(MODEL_BOUND_FACTOR=report["refused_share"] / 0.01 + 1)       # the refused share is now inside
    with pytest.raises(registry.OutsideBound, match="live guard tolerates"):
        registry.activate(mv.version)
    # the guard gate follows the guard's own settings, read at activation time
    sl(MODEL_GUARD_CLIENT_SHARE=min(1.0, c["flagged_clients_share"] + 0.01))   # a crowd of bots, not the site
    assert registry.activate(mv.version).status == "active"
    assert store.history()[-1]["forced"] is False


def test_a_tampered_shadow_report_is_refused(normal_site, store):
    import os

    train("--no-activate")
    mv = ModelVersion.objects.get()
    path = store.path(mv.version) / SHADOW_FILE
    os.chmod(path, 0o644)
    report = json.loads(path.read_text())
    report["refused_share"] = 0.0
    path.write_text(json.dumps(report))
    with pytest.raises(registry.RegistryError, match="sha256"):
        registry.activate(mv.version)


def test_a_version_without_a_report_activates_as_before(store, normal_site):
    """Versions trained before shadow scoring existed carry no report; they are not held back."""
    from smartlayer.ml.training.frames import records_frame
    from smartlayer.ml.training.train import fit_frame

    fitted = fit_frame(records_frame(site(0)), params={"n_estimators": 10, "random_state": 0}, min_samples=50)
    store.save("20240101-000000-legacy", estimator=fitted.model.forest_, forest=fitted.model.compiled_,
               manifest=fitted.manifest)
    registry.register(store.read_manifest("20240101-000000-legacy"),
                      sha256=store.manifest_sha256("20240101-000000-legacy"))
    assert store.read_report("20240101-000000-legacy") is None
    assert registry.activate("20240101-000000-legacy").status == "active"


def test_the_admin_shows_the_report_and_forces_only_when_asked(drifted_site, store, admin_client):
    from django.urls import reverse

    from smartlayer.admin import model_versions  # noqa: F401 - registers the admin

    train("--no-activate")
    mv = ModelVersion.objects.get()
    page = admin_client.get(reverse("admin:smartlayer_modelversion_change", args=[mv.pk]))
    text = page.content.decode()
    assert page.status_code == 200, text[:500]
    assert "shadow scoring on recent traffic" in text.lower() and "OUTSIDE the bound" in text and "/api/beacon/" in text
    url = reverse("admin:smartlayer_modelversion_changelist")
    page = admin_client.post(url, {"action": "activate_version", "_selected_action": [str(mv.pk)]}, follow=True)
    assert "Not activated" in page.content.decode() and "Activate despite its shadow report" in page.content.decode()
    assert ModelVersion.objects.get().status == "candidate"
    admin_client.post(url, {"action": "force_activate_version", "_selected_action": [str(mv.pk)]}, follow=True)
    mv.refresh_from_db()
    assert mv.status == "active" and store.history()[-1]["by"] == "admin" and store.history()[-1]["forced"]
