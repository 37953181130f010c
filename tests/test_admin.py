"""The admin: every smartlayer page renders, filters work, lifting a ban lifts it."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from smartlayer.models import Ban, DailyReport, RequestLog, UsageCounter, Verdict
from smartlayer.request.client import Client
from smartlayer.state import bans

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    from tests.conftest import BROWSER_UA

    user = django_user_model.objects.create_superuser(username="root", password="pw", email="r@example.com")
    client.defaults.update(HTTP_USER_AGENT=BROWSER_UA)  # smartlayer refuses empty user agents, admins too
    client.force_login(user)
    return client


@pytest.fixture
def rows():
    RequestLog.objects.create(client_key="ip:203.0.113.9", method="GET", path="/.env", status_code=403,
                              response_time_ms=1.0, was_blocked=True, blocked_by="anomaly", action="block",
                              reason="grey:score", details={"decisions": []})
    DailyReport.objects.create(date=timezone.now().date(), report="all quiet")
    UsageCounter.objects.create(client_key="u:1", plan="free", route="/api/", count=3)
    Verdict.objects.create(kind="grey", client_key="ip:203.0.113.9", verdict="BLOCK")
    bans.ban("ip:203.0.113.9", reason="probing", source="rule")
    Ban.objects.create(client_key="ip:198.51.100.1", source="admin", expires_at=timezone.now() - timedelta(hours=1))


@pytest.mark.parametrize("model", ["requestlog", "ban", "dailyreport", "usagecounter", "verdict", "modelversion"])
def test_changelists_render(admin_client, rows, model):
    response = admin_client.get(reverse(f"admin:smartlayer_{model}_changelist"))
    assert response.status_code == 200


def test_request_log_filters_and_search(admin_client, rows):
    url = reverse("admin:smartlayer_requestlog_changelist")
    assert "/.env" in admin_client.get(url, {"blocked_by": "anomaly"}).content.decode()
    assert "/.env" not in admin_client.get(url, {"blocked_by": "ratelimit"}).content.decode()
    assert "/.env" in admin_client.get(url, {"q": "203.0.113.9"}).content.decode()


def test_request_log_is_read_only(admin_client, rows):
    row = RequestLog.objects.get()
    assert admin_client.get(reverse("admin:smartlayer_requestlog_add")).status_code == 403
    response = admin_client.post(reverse("admin:smartlayer_requestlog_change", args=[row.pk]), {"path": "/x"})
    assert RequestLog.objects.get().path == "/.env" and response.status_code in (200, 403)


def test_ban_state_filter(admin_client, rows):
    url = reverse("admin:smartlayer_ban_changelist")
    active = admin_client.get(url, {"state": "active"}).content.decode()
    expired = admin_client.get(url, {"state": "expired"}).content.decode()
    assert "203.0.113.9" in active and "198.51.100.1" not in active
    assert "198.51.100.1" in expired


def test_lift_action_lifts_and_unblocks(admin_client, rows, client):
    from tests.conftest import BROWSER_UA

    url = reverse("admin:smartlayer_ban_changelist")
    ban = Ban.objects.get(client_key="ip:203.0.113.9")
    admin_client.post(url, {"action": "lift_bans", "_selected_action": [ban.pk]})
    ban.refresh_from_db()
    assert ban.lifted_at is not None and ban.lifted_by == "root"
    assert bans.lookup(Client(key="ip:203.0.113.9", ip="203.0.113.9", user_id=None, authenticated=False)) is None
    visitor = type(client)(HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR="203.0.113.9")
    assert visitor.get("/").status_code == 200


def test_ban_added_in_the_admin_is_enforced_at_once(admin_client, client):
    from tests.conftest import BROWSER_UA

    response = admin_client.post(reverse("admin:smartlayer_ban_add"), {
        "client_key": "ip:203.0.113.77", "reason": "manual", "source": "admin", "expires_at_0": "", "expires_at_1": "",
    })
    assert response.status_code == 302, response.content.decode()[:500]
    visitor = type(client)(HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR="203.0.113.77")
    assert visitor.get("/").status_code == 403
