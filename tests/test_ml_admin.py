"""The ModelVersion admin: list, charts, activate and roll back through the UI."""
from __future__ import annotations

import importlib

import pytest
from django.urls import NoReverseMatch, clear_url_caches, reverse

from smartlayer.admin import model_versions as ml_admin  # noqa: F401 - registers ModelVersionAdmin
from smartlayer.ml import registry, runtime
from smartlayer.ml.plots import bars_svg, histogram_svg
from smartlayer.ml.store import ModelStore
from smartlayer.models import ModelVersion
from tests.helpers import small_fitted_model

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def fitted():
    return small_fitted_model()


@pytest.fixture
def urls():
    """The admin URLs include ModelVersion even if the URLconf was built before
    smartlayer.admin.model_versions was imported (smartlayer/admin.py will import it)."""
    try:
        reverse("admin:smartlayer_modelversion_changelist")
    except NoReverseMatch:
        import tests.urls

        importlib.reload(tests.urls)
        clear_url_caches()
    return {
        "list": reverse("admin:smartlayer_modelversion_changelist"),
        "change": lambda pk: reverse("admin:smartlayer_modelversion_change", args=[pk]),
        "add": reverse("admin:smartlayer_modelversion_add"),
        "delete": lambda pk: reverse("admin:smartlayer_modelversion_delete", args=[pk]),
    }


@pytest.fixture
def versions(tmp_path, sl, fitted):
    sl(MODEL_STORE=str(tmp_path / "store"), MODEL_ENABLED=True)
    runtime.reset_runtime()
    store = ModelStore()
    rows = []
    for name in ("20250101-000000-aaaaaa", "20250102-000000-bbbbbb"):
        store.save(name, estimator=fitted.model.forest_, forest=fitted.model.compiled_, manifest=fitted.manifest)
        rows.append(registry.register(store.read_manifest(name), sha256=store.manifest_sha256(name)))
    yield store, rows
    runtime.reset_runtime()


@pytest.fixture
def admin_client(browser, django_user_model):
    """A superuser with a browser user agent (an empty one is a BLACK rule)."""
    user = django_user_model.objects.create_superuser(username="root", email="root@example.com", password="pw")
    browser.force_login(user)
    return browser


def action(client, url, name, pks):
    return client.post(url, {"action": name, "_selected_action": [str(pk) for pk in pks]}, follow=True)


def test_changelist_shows_versions_and_key_metrics(admin_client, urls, versions):
    _, rows = versions
    page = admin_client.get(urls["list"])
    assert page.status_code == 200
    html = page.content.decode()
    for mv in rows:
        assert mv.version in html
    assert "candidate" in html.lower()
    assert f"{rows[0].threshold:.4f}" in html
    assert "flagged in training" in html.lower() and "%" in html


def test_change_page_draws_histogram_and_medians(admin_client, urls, versions):
    _, rows = versions
    page = admin_client.get(urls["change"](rows[0].pk))
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count("<svg") >= 2
    assert "threshold " in html and "anomaly score (higher = more anomalous)" in html
    assert "count_60s" in html and "IQR" in html
    assert 'name="version"' not in html  # read-only, not an input
    assert admin_client.get(urls["add"]).status_code == 403


def test_activate_and_roll_back_from_the_admin(admin_client, urls, versions):
    store, (a, b) = versions
    page = action(admin_client, urls["list"], "activate_version", [a.pk, b.pk])
    assert "Select exactly one version" in page.content.decode()
    assert not ModelVersion.objects.filter(status="active").exists()

    page = action(admin_client, urls["list"], "activate_version", [a.pk])
    assert f"Version {a.version} is now active" in page.content.decode()
    action(admin_client, urls["list"], "activate_version", [b.pk])
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.status, b.status) == ("retired", "active") and store.active_version() == b.version
    assert "by root" in b.notes
    assert admin_client.get(urls["delete"](b.pk)).status_code == 403  # never delete the active one

    page = action(admin_client, urls["list"], "rollback_previous", [b.pk])
    assert f"Rolled back: version {a.version} is active again" in page.content.decode()
    assert store.active_version() == a.version
    assert ModelVersion.objects.get(pk=a.pk).status == "active"


def test_a_failed_activation_is_reported_not_raised(admin_client, urls, versions):
    store, (a, _) = versions
    ModelVersion.objects.filter(pk=a.pk).update(sha256="0" * 64)  # registry and store disagree
    page = action(admin_client, urls["list"], "activate_version", [a.pk])
    assert "Not activated" in page.content.decode()
    assert store.active_version() is None
    page = action(admin_client, urls["list"], "rollback_previous", [a.pk])
    assert "nothing to roll back to" in page.content.decode()


def test_anonymous_users_are_sent_to_the_login(browser, urls, versions):
    page = browser.get(urls["list"])
    assert page.status_code == 302 and "/login/" in page["Location"]


def test_svg_text_is_escaped_and_degenerate_input_is_safe():
    svg = bars_svg(["<script>alert(1)</script>", "ok"], [1.0, -2.0], notes=["a&b", None])
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "a&amp;b" in svg
    assert histogram_svg([], []).startswith("<svg") and "no histogram" in histogram_svg([], [])
    assert "no scores" in histogram_svg([0, 0.5, 1], [0, 0])
    svg = histogram_svg([i / 10 for i in range(11)], [0, 0, 0, 5, 9, 4, 1, 0, 0, 0], threshold=0.65, title="<t>")
    assert svg.count("<rect") == 4 and "threshold 0.65" in svg and "&lt;t&gt;" in svg
