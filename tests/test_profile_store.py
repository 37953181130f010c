"""The site profile learned by train_smartlayer, stored and activated with the model, and what WatchLog records for it."""
from __future__ import annotations

import json
import os
from io import StringIO

import pytest
from django.core.management import call_command

from smartlayer.ml import registry, runtime
from smartlayer.ml.store import PROFILE_FILE, ModelStore
from smartlayer.models import ModelVersion, RequestLog
from smartlayer.sim import DEFAULT_START, generate
from smartlayer.sim.requestlog import write_requestlog

pytestmark = pytest.mark.django_db
FAST = ["--since", "2024-01-01", "--until", "2024-01-04", "--n-estimators", "20", "--random-state", "0"]


@pytest.fixture
def store(tmp_path, sl):
    # the profile's storage is what is tested here, not the shadow bound (tests/test_shadow.py): on this
    # two-day site one crawler is 12 % of the traffic, and the model refusing it would hold activation back
    sl(MODEL_STORE=str(tmp_path / "store"), MODEL_RELOAD_INTERVAL=0.001, MODEL_ENABLED=True, MODEL_MIN_SAMPLES=200,
       MODEL_BOUND_FACTOR=100.0)
    runtime.reset_runtime()
    yield ModelStore()
    runtime.reset_runtime()


@pytest.fixture
def site_log(store):
    return write_requestlog(generate(start=DEFAULT_START, duration=2 * 86400, seed=11, humans=25,
                                     scenarios={"crawler": 1, "api_client": 1, "telemetry": 4}))


def train(*args: str) -> str:
    out = StringIO()
    call_command("train_smartlayer", *FAST, *args, stdout=out)
    return out.getvalue()


def active_profile():
    runtime.reset_runtime()
    return runtime.get_active_profile()


def test_training_learns_stores_and_activates_the_profile_with_the_model(store, site_log):
    out = train("--activate")
    assert "site profile:" in out
    mv = ModelVersion.objects.get(status="active")
    manifest = store.read_manifest(mv.version)
    assert PROFILE_FILE in manifest["artifacts"] and manifest["profile"]["endpoints"] > 10
    assert mv.metrics["profile"]["classes"]["page"] > 0
    profile = active_profile()
    assert profile is not None and profile.version == mv.version
    assert profile.endpoint_class("/products/12/") == "page"
    assert profile.endpoint_class("/t/collect/") == "telemetry"
    assert profile.endpoint_class("/static/css/site.css") == "asset"
    assert profile.anomalies("GET", "/products/12/", [["q", "precioA", "int:4:d:0000"]]) == ["param:unknown_name"]


def test_a_version_without_a_profile_means_none_and_rollback_brings_it_back(store, site_log):
    train("--activate")
    with_profile = ModelVersion.objects.get(status="active").version
    train("--activate", "--no-profile")
    assert active_profile() is None            # cold start: the version has no profile
    registry.rollback(store=store)
    assert active_profile().version == with_profile


def test_a_tampered_profile_costs_the_profile_not_the_model(store, site_log):
    train("--activate")
    version = ModelVersion.objects.get(status="active").version
    path = store.path(version) / PROFILE_FILE
    os.chmod(path, 0o644)
    path.write_text(json.dumps({"format": 1, "endpoints": {}}))
    assert active_profile() is None
    assert runtime.get_active_model() is not None


def test_owner_overrides_reach_the_active_profile(store, site_log):
    train("--activate")
    assert active_profile().endpoint_class("/api/stock/") != "telemetry"
    store.write_overrides({"class": {"/api/stock/": "telemetry"}, "exempt_params": {"/search/": ["q"]}})
    profile = active_profile()
    assert profile.endpoint_class("/api/stock/") == "telemetry"
    assert profile.anomalies("GET", "/search/", [["q", "q", "text:900:x:"]]) == []


def test_training_from_an_access_log_learns_a_profile(store, tmp_path):
    from smartlayer.offline.accesslog import write_combined

    log = tmp_path / "access.log"
    with open(log, "w") as fh:
        write_combined(generate(start=DEFAULT_START, duration=86400, seed=9, humans=30, scenarios={"crawler": 1}), fh)
    out = StringIO()
    call_command("train_smartlayer", "--from-access-log", str(log), "--n-estimators", "20", stdout=out)
    mv = ModelVersion.objects.get()
    profile = store.load_profile(mv.version)
    assert "/products/{int}/" in profile["endpoints"]
    # an access log records no Sec-Fetch, Accept, X-Requested-With nor response type: said so
    assert set(profile["endpoints"]["/products/{int}/"]["missing"]) == {"fetch", "accept", "xrw", "response_type"}


def test_watchlog_records_how_the_client_asked_never_the_values(client, flush_logs):
    client.get("/page/1?q=red+shoes&id=12", HTTP_USER_AGENT="Mozilla/5.0 Firefox/128.0",
               HTTP_ACCEPT="text/html", HTTP_SEC_FETCH_DEST="document", HTTP_SEC_FETCH_MODE="navigate",
               HTTP_SEC_FETCH_SITE="same-origin", HTTP_REFERER="https://shop.example/page/0?x=secret")
    client.post("/echo/", data={"email": "ana@mail.example"}, HTTP_USER_AGENT="Mozilla/5.0 Firefox/128.0",
                HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    flush_logs()
    page, post = RequestLog.objects.order_by("timestamp", "pk")
    assert page.fetch == "document/navigate/same-origin" and page.accept == "text/html"
    assert page.referer_host == "shop.example" and page.response_type == "text/html"
    assert [p[:2] for p in page.params] == [["q", "q"], ["q", "id"]]
    assert page.params[1][2].startswith("int:2:d:")
    assert "red" not in json.dumps(page.params) and "secret" not in json.dumps(page.params)
    assert post.xrw and post.response_type == "application/json"
    assert post.params[0][:2] == ["f", "email"] and post.params[0][2].startswith("email:")


def test_an_active_profile_names_a_tampered_request_in_the_log(store, site_log, client, flush_logs):
    train("--activate")
    runtime.reset_runtime()
    for _ in range(3):
        client.get("/products/12/?precioA=4250", HTTP_USER_AGENT="Mozilla/5.0 Firefox/128.0",
                   REMOTE_ADDR="203.0.113.50")
    flush_logs()
    rows = list(RequestLog.objects.filter(ip_address="203.0.113.50").order_by("timestamp", "pk"))
    assert rows[0].reason == "param:unknown_name" and not rows[0].was_blocked and rows[0].payload_score == 2
    assert rows[2].was_blocked and rows[2].reason == "profile:sustained"


def test_the_overview_shows_the_active_profile_and_what_it_found_odd(store, site_log, client, django_user_model):
    from django.urls import reverse

    from smartlayer.admin.overview_data import gather

    assert gather("24h").model["profile"] is None  # no active version yet: no profile to show
    train("--activate")
    RequestLog.objects.create(client_key="ip:203.0.113.7", method="GET", path="/products/3/", status_code=403,
                              response_time_ms=1.0, reason="profile:sustained", was_blocked=True)
    RequestLog.objects.create(client_key="ip:203.0.113.7", method="GET", path="/products/3/", status_code=200,
                              response_time_ms=1.0, reason="param:unknown_name")
    profile = gather("24h").model["profile"]
    assert profile["endpoints"] > 10 and dict(profile["classes"])["telemetry"] >= 1
    assert (profile["odd"], profile["refused"]) == (2, 1)
    staff = django_user_model.objects.create_superuser(username="ops", password="pw", email="o@example.com")
    client.force_login(staff)
    page = client.get(reverse("admin:smartlayer_overview_changelist"), HTTP_USER_AGENT="Mozilla/5.0 Firefox/128.0")
    assert page.status_code == 200
    assert f"{profile['endpoints']} endpoints" in page.content.decode() and "2 requests odd for this site" in \
        page.content.decode()
