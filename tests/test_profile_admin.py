"""The site profile in the admin: shown with its version, the owner's overrides applied to the active one."""
from __future__ import annotations

import importlib

import pytest
from django.urls import NoReverseMatch, clear_url_caches, reverse

from smartlayer.admin import model_versions as ml_admin  # noqa: F401 - registers ModelVersionAdmin
from smartlayer.ml import registry, runtime
from smartlayer.ml.store import ModelStore
from smartlayer.models import ModelVersion
from tests.helpers import small_fitted_model

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def fitted():
    return small_fitted_model()


@pytest.fixture
def profile_url():
    try:
        return reverse("admin:smartlayer_modelversion_profile")
    except NoReverseMatch:
        import tests.urls

        importlib.reload(tests.urls)
        clear_url_caches()
        return reverse("admin:smartlayer_modelversion_profile")


def _profile():
    from smartlayer.profile.learn import learn_profile, rows_from_records
    from smartlayer.sim import generate

    return learn_profile(rows_from_records(generate(start=1704067200.0, duration=86400, seed=3, humans=20)),
                         resolver=False)


@pytest.fixture
def profiled(tmp_path, sl, fitted):
    sl(MODEL_STORE=str(tmp_path / "store"), MODEL_ENABLED=True, MODEL_RELOAD_INTERVAL=0.001)
    runtime.reset_runtime()
    store = ModelStore()
    name = "20250103-000000-cccccc"
    store.save(name, estimator=fitted.model.forest_, forest=fitted.model.compiled_, manifest=fitted.manifest,
               profile=_profile())
    registry.register(store.read_manifest(name), sha256=store.manifest_sha256(name))
    registry.activate(name, store=store)
    yield store, ModelVersion.objects.get(version=name)
    runtime.reset_runtime()


def test_the_change_page_shows_the_versions_profile(admin_client, profile_url, profiled):
    _, mv = profiled
    page = admin_client.get(reverse("admin:smartlayer_modelversion_change", args=[mv.pk])).content.decode()
    assert "/products/{int}/" in page and "per client / 10 s" in page and profile_url in page


def test_the_owner_pins_a_class_and_exempts_a_parameter(admin_client, profile_url, profiled):
    store, _ = profiled
    assert "/category/{slug}/" in admin_client.get(profile_url).content.decode()
    r = admin_client.post(profile_url, {"template": "/search/", "pin": "api", "exempt": "q"})
    assert r.status_code == 302
    assert store.read_overrides() == {"class": {"/search/": "api"}, "exempt_params": {"/search/": ["q"]}}
    runtime.reset_runtime()
    profile = runtime.get_active_profile()
    assert profile.endpoint_class("/search/") == "api"
    assert profile.anomalies("GET", "/search/", [["q", "q", "text:5000:x:"]]) == []
    assert "pinned" in admin_client.get(profile_url).content.decode()
    admin_client.post(profile_url, {"template": "/search/", "pin": "", "unexempt": "q"})
    assert store.read_overrides() == {"class": {}, "exempt_params": {}}
    assert "pinned" not in admin_client.get(profile_url).content.decode()


def test_an_unknown_class_is_refused(admin_client, profile_url, profiled):
    store, _ = profiled
    admin_client.post(profile_url, {"template": "/search/", "pin": "<script>"})
    assert store.read_overrides()["class"] == {}


def test_view_only_staff_see_the_profile_but_cannot_override_it(client, profile_url, profiled, django_user_model):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_modelversion"))
    client.force_login(user)
    page = client.get(profile_url)
    assert page.status_code == 200 and "parameter to exempt" not in page.content.decode()
    assert client.post(profile_url, {"template": "/search/", "pin": "api"}).status_code == 403


def test_without_a_profile_the_page_says_so(admin_client, profile_url, tmp_path, sl):
    sl(MODEL_STORE=str(tmp_path / "empty"))
    assert "No active version has a site profile" in admin_client.get(profile_url).content.decode()
