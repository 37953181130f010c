"""Admin actions change state only for users allowed to change that state.

A staff user who may only *view* bans or model versions must neither be
offered an action that lifts a ban or switches the active model, nor be able
to run it by POSTing the action's name to the changelist.  A user holding the
matching permission can.
"""
from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import reverse

from smartlayer.ml import registry
from smartlayer.models import Ban, ModelVersion
from smartlayer.state import bans
from tests.conftest import BROWSER_UA
from tests.test_ml_admin import fitted, urls, versions  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def staff_client(client_class, django_user_model, username: str, *codenames: str):
    """A logged-in staff user holding exactly the smartlayer permissions ``codenames``."""
    user = django_user_model.objects.create_user(username=username, password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="smartlayer",
                                                        codename__in=codenames))
    c = client_class(HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR="192.0.2.50")
    c.force_login(user)
    return c


def post_action(c, url: str, name: str, pks: list) -> object:
    return c.post(url, {"action": name, "_selected_action": [str(pk) for pk in pks]})


def offered(c, url: str, name: str) -> bool:
    page = c.get(url)
    assert page.status_code == 200
    return f'value="{name}"' in page.content.decode()


# ── every action declares a permission ─────────────────────────────────────
def _smartlayer_admins():
    import smartlayer.admin  # noqa: F401 - registers the model admins

    return [(model.__name__, ma) for model, ma in admin.site._registry.items()
            if model._meta.app_label == "smartlayer"]


@pytest.mark.parametrize("name,model_admin", _smartlayer_admins(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_action_declares_the_permission_it_needs(name, model_admin):
    """Django offers an action without declared permissions to anyone who can
    see the changelist — a view-only user included."""
    for func, action_name, _ in model_admin._get_base_actions():
        assert getattr(func, "allowed_permissions", None), f"{name}.{action_name} declares no permission"


# ── bans: lift ─────────────────────────────────────────────────────────────
@pytest.fixture
def banned():
    bans.ban("ip:203.0.113.9", reason="probing", source="rule")
    return Ban.objects.get(client_key="ip:203.0.113.9")


def test_view_only_staff_cannot_lift_a_ban(client, django_user_model, banned):
    viewer = staff_client(type(client), django_user_model, "viewer", "view_ban")
    url = reverse("admin:smartlayer_ban_changelist")
    assert not offered(viewer, url, "lift_bans")
    post_action(viewer, url, "lift_bans", [banned.pk])
    banned.refresh_from_db()
    assert banned.lifted_at is None and banned.is_active
    assert bans.lookup(_anon("203.0.113.9")) is not None  # still enforced


def test_staff_with_change_permission_lifts_a_ban(client, django_user_model, banned):
    changer = staff_client(type(client), django_user_model, "changer", "view_ban", "change_ban")
    url = reverse("admin:smartlayer_ban_changelist")
    assert offered(changer, url, "lift_bans")
    assert post_action(changer, url, "lift_bans", [banned.pk]).status_code == 302
    banned.refresh_from_db()
    assert banned.lifted_at is not None and banned.lifted_by == "changer"
    assert bans.lookup(_anon("203.0.113.9")) is None


def _anon(ip: str):
    from smartlayer.request.client import Client

    return Client(key=f"ip:{ip}", ip=ip, user_id=None, authenticated=False)


# ── model versions: activate, roll back ────────────────────────────────────
def test_view_only_staff_cannot_activate_a_version(client, django_user_model, urls, versions):  # noqa: F811
    store, (a, _) = versions
    viewer = staff_client(type(client), django_user_model, "viewer", "view_modelversion")
    assert not offered(viewer, urls["list"], "activate_version")
    post_action(viewer, urls["list"], "activate_version", [a.pk])
    assert not ModelVersion.objects.filter(status="active").exists() and store.active_version() is None


def test_staff_with_change_permission_activates_a_version(client, django_user_model, urls, versions):  # noqa: F811
    store, (a, _) = versions
    changer = staff_client(type(client), django_user_model, "changer", "view_modelversion", "change_modelversion")
    assert offered(changer, urls["list"], "activate_version")
    assert post_action(changer, urls["list"], "activate_version", [a.pk]).status_code == 302
    assert ModelVersion.objects.get(pk=a.pk).status == "active" and store.active_version() == a.version


def test_view_only_staff_cannot_roll_back(client, django_user_model, urls, versions):  # noqa: F811
    store, (a, b) = versions
    registry.activate(a.version)
    registry.activate(b.version)
    viewer = staff_client(type(client), django_user_model, "viewer", "view_modelversion")
    assert not offered(viewer, urls["list"], "rollback_previous")
    post_action(viewer, urls["list"], "rollback_previous", [b.pk])
    assert ModelVersion.objects.get(pk=b.pk).status == "active" and store.active_version() == b.version


def test_staff_with_change_permission_rolls_back(client, django_user_model, urls, versions):  # noqa: F811
    store, (a, b) = versions
    registry.activate(a.version)
    registry.activate(b.version)
    changer = staff_client(type(client), django_user_model, "changer", "view_modelversion", "change_modelversion")
    assert offered(changer, urls["list"], "rollback_previous")
    assert post_action(changer, urls["list"], "rollback_previous", [b.pk]).status_code == 302
    assert ModelVersion.objects.get(pk=a.pk).status == "active" and store.active_version() == a.version


# ── Django's own bulk delete: needs the delete permission, spares the active model ──
def test_view_only_staff_cannot_bulk_delete_bans(client, django_user_model, banned):
    viewer = staff_client(type(client), django_user_model, "viewer", "view_ban")
    url = reverse("admin:smartlayer_ban_changelist")
    assert not offered(viewer, url, "delete_selected")
    viewer.post(url, {"action": "delete_selected", "_selected_action": [banned.pk], "post": "yes"})
    assert Ban.objects.filter(pk=banned.pk).exists()


def test_the_active_version_survives_a_bulk_delete(client, django_user_model, urls, versions):  # noqa: F811
    _, (a, b) = versions
    registry.activate(a.version)
    deleter = staff_client(type(client), django_user_model, "deleter", "view_modelversion",
                           "delete_modelversion")
    assert offered(deleter, urls["list"], "delete_selected")
    deleter.post(urls["list"], {"action": "delete_selected", "_selected_action": [a.pk, b.pk], "post": "yes"})
    assert ModelVersion.objects.filter(pk=a.pk, status="active").exists()
