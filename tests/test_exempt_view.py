"""``@smartlayer_exempt``: a view opts out of every inspection, or of named
middlewares; each of the four middlewares honours it, the others still run.

This module is also the URLconf of its tests (``ROOT_URLCONF``)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.http import HttpResponse
from django.test import Client as HttpClient
from django.urls import path
from django.views import View

from smartlayer.decorators import smartlayer_exempt
from smartlayer.models import RequestLog
from smartlayer.request.exempt import reset_view_exemptions, view_exemptions
from smartlayer.state import bans

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

ATTACK = "/{}?q=1%27%20OR%20%271%27%3D%271%20UNION%20SELECT%20password%20FROM%20users--"


def _ok(request, *args, **kwargs):
    return HttpResponse("ok")


@smartlayer_exempt
def bare(request):
    return HttpResponse("ok")


@smartlayer_exempt()
def everything(request):
    return HttpResponse("ok")


@smartlayer_exempt("validator")
def code_upload(request):
    return HttpResponse("ok")


@smartlayer_exempt("ratelimit")
def unmetered(request):
    return HttpResponse("ok")


@smartlayer_exempt("watchlog")
def unlogged(request):
    return HttpResponse("ok")


@smartlayer_exempt("anomaly")
class Probe(View):
    def get(self, request):
        return HttpResponse("ok")


urlpatterns = [
    path("plain/", _ok),
    path("bare/", bare),
    path("everything/", everything),
    path("code/", code_upload),
    path("api/unmetered/", unmetered),
    path("api/metered/", _ok),
    path("unlogged/", unlogged),
    path("probe/", Probe.as_view()),
]


@pytest.fixture(autouse=True)
def _fresh():
    reset_view_exemptions()
    yield
    reset_view_exemptions()


def test_names_are_checked_at_decoration():
    with pytest.raises(ValueError, match="anomalie"):
        smartlayer_exempt("anomalie")


@pytest.mark.parametrize("url", ["/bare/", "/everything/"])
def test_exempt_view_is_never_inspected_but_logged(client, flush_logs, url):
    # an empty user agent is a BLACK rule, the query a payload block: neither applies
    assert client.get(ATTACK.format(url.strip("/") + "/"), REMOTE_ADDR="203.0.113.20").status_code == 200
    flush_logs()
    row = RequestLog.objects.get()
    assert row.path == url and not row.was_blocked and row.blocked_by == ""


def test_banned_client_still_reaches_an_exempt_view(browser):
    bans.ban("ip:203.0.113.10", reason="test", source="admin")
    assert browser.get("/plain/").status_code == 403
    assert browser.get("/bare/").status_code == 200


def test_validator_only_exemption_keeps_the_other_components(browser):
    assert browser.get(ATTACK.format("code/")).status_code == 200
    assert browser.get(ATTACK.format("plain/")).status_code == 403
    # the behaviour rules still run on the view that skips the validator
    assert HttpClient().get("/code/", REMOTE_ADDR="203.0.113.21").status_code == 403


def test_ratelimit_exemption(browser, sl):
    sl(RATE_LIMIT_PLANS={"anon": {"/api/*": {"per_minute": 1}}}, ANONYMOUS_PLAN="anon")
    assert [browser.get("/api/metered/").status_code for _ in range(2)] == [200, 429]
    assert [browser.get("/api/unmetered/").status_code for _ in range(3)] == [200, 200, 200]


def test_watchlog_exemption_keeps_the_view_out_of_the_log_only(browser, flush_logs):
    browser.get("/unlogged/")
    browser.get("/plain/")
    flush_logs()
    assert list(RequestLog.objects.values_list("path", flat=True)) == ["/plain/"]
    # still inspected: an empty user agent is refused there
    assert HttpClient().get("/unlogged/", REMOTE_ADDR="203.0.113.22").status_code == 403


def test_class_based_view(client):
    assert client.get("/probe/", REMOTE_ADDR="203.0.113.23").status_code == 200  # anomaly skipped
    assert client.get(ATTACK.format("probe/"), REMOTE_ADDR="203.0.113.23").status_code == 403  # validator not


def test_unknown_path_and_undecorated_view_cost_no_exemption(rf):
    assert view_exemptions(rf.get("/no/such/path")) == frozenset()
    assert view_exemptions(rf.get("/plain/")) == frozenset()
    assert view_exemptions(rf.get("/code/")) == {"validator"}


def test_asgi_honours_it_too(async_client):
    import asyncio

    async def go():
        r1 = await async_client.get("/bare/", REMOTE_ADDR="203.0.113.24")
        r2 = await async_client.get("/plain/", REMOTE_ADDR="203.0.113.24")
        return r1.status_code, r2.status_code

    assert asyncio.run(go()) == (200, 403)


FIRST_REQUEST = """
import os
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
import django
django.setup()
from django.conf import settings
settings.ROOT_URLCONF = "tests.test_exempt_view"
from django.test import Client
print(Client(REMOTE_ADDR="203.0.113.25").get("/bare/").status_code)
"""


def test_known_from_the_first_request_of_a_process():
    """Django imports the URLconf after the middlewares ran; the decoration must count anyway."""
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", FIRST_REQUEST], cwd=root, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "200"


