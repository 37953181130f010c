"""Work done once per request, not once per component: counted, never timed.

The request path outside the payload engine and the model is mostly bookkeeping — the
client, the settings, the context, the components' hooks — and each repeated look is a cost
every request pays.  These tests count the looks on requests through the documented stack.
"""
from __future__ import annotations

import sys

import pytest

from tests.conftest import BROWSER_UA

pytestmark = pytest.mark.django_db


def test_an_anonymous_visitor_is_resolved_into_one_client(client, monkeypatch):
    """A visitor's requests share one immutable Client: it is built once, not per request."""
    from smartlayer.request import client as client_mod

    built: list[str] = []
    real = client_mod.Client

    def counting(**fields):
        built.append(fields["key"])
        return real(**fields)

    monkeypatch.setattr(client_mod, "Client", counting)
    keys = set()
    for i in range(4):
        response = client.get(f"/?page={i}", HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR="203.0.113.9")
        assert response.status_code == 200
        keys.add(response.wsgi_request._smartlayer_client.key)
    assert keys == {"ip:203.0.113.9"}
    assert built == ["ip:203.0.113.9"]
    client.get("/", HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR="203.0.113.10")
    assert built == ["ip:203.0.113.9", "ip:203.0.113.10"]


def test_a_settings_change_builds_anonymous_clients_anew(client, sl):
    """The key depends on the settings (IPv6 prefix): a change forgets the remembered clients."""
    ip = "2001:db8:1:2:3:4:5:6"
    first = client.get("/", REMOTE_ADDR=ip, HTTP_USER_AGENT=BROWSER_UA).wsgi_request._smartlayer_client
    sl(IPV6_PREFIX_LENGTH=48)
    second = client.get("/", REMOTE_ADDR=ip, HTTP_USER_AGENT=BROWSER_UA).wsgi_request._smartlayer_client
    assert first.key != second.key
    assert second.key == "ip:2001:db8:1::/48"


def test_smartlayer_reads_no_django_setting_per_request(client, monkeypatch):
    """The root URLconf (asked for each request's view exemptions) is read once, not per request:
    Django's lazy settings answer each read through a Python ``__getattribute__``."""
    from django.conf import LazySettings

    reads: list[str] = []
    original = LazySettings.__getattribute__

    def counting(self, name):
        if name.isupper() and sys._getframe(1).f_globals.get("__name__", "").startswith("smartlayer"):
            reads.append(name)
        return original(self, name)

    client.get("/", HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR="203.0.113.11")   # first request: read once
    monkeypatch.setattr(LazySettings, "__getattribute__", counting)
    for i in range(3):
        client.get(f"/?page={i}", HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR="203.0.113.11")
    assert reads == []


def test_a_changed_root_urlconf_is_followed(settings):
    from smartlayer.request.exempt import root_urlconf

    assert root_urlconf() == settings.ROOT_URLCONF
    settings.ROOT_URLCONF = "tests.test_exempt_view"
    assert root_urlconf() == "tests.test_exempt_view"


def test_only_components_with_a_decision_are_asked(client, monkeypatch):
    """The one pass asks the three deciding components, not WatchLog (it records, never decides),
    and calls the after-hooks of the two components that have one (the detector's robots.txt
    reading, the rate limiter's quota headers)."""
    from smartlayer.http import middleware as mw

    asked: list[str] = []
    real_decide = mw._decide

    def counting(member, request, ctx):
        asked.append(member.component)
        return real_decide(member, request, ctx)

    monkeypatch.setattr(mw, "_decide", counting)
    after: list[str] = []
    for cls in (mw.AIAnomalyDetector, mw.AIRequestValidator, mw.RateLimiter, mw.WatchLog):
        hook = cls.after

        def spy(self, request, ctx, response, hook=hook):
            after.append(self.component)
            return hook(self, request, ctx, response)

        if "after" in cls.__dict__:
            monkeypatch.setattr(cls, "after", spy)
    response = client.get("/", HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR="203.0.113.12")
    assert response.status_code == 200
    assert asked == ["anomaly", "validator", "ratelimit"]
    assert after == ["ratelimit", "anomaly"]
