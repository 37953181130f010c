"""The one client-identity resolver: REMOTE_ADDR, trusted proxies, IPv6, users."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from smartlayer.request.client import ip_key, parse_ip, resolve_client, resolve_ip


def meta(remote="198.51.100.7", xff=None):
    m = {"REMOTE_ADDR": remote}
    if xff is not None:
        m["HTTP_X_FORWARDED_FOR"] = xff
    return m


def test_spoofed_forwarded_for_is_ignored_without_trusted_proxies():
    assert resolve_ip(meta(xff="1.2.3.4")) == "198.51.100.7"


def test_proxy_count_takes_the_entry_the_proxy_appended(sl):
    sl(TRUSTED_PROXY_COUNT=1)
    # the client forged "6.6.6.6"; our one proxy appended what it saw
    assert resolve_ip(meta(remote="10.0.0.2", xff="6.6.6.6, 203.0.113.9")) == "203.0.113.9"


def test_proxy_count_two_walks_two_from_the_right(sl):
    sl(TRUSTED_PROXY_COUNT=2)
    assert resolve_ip(meta(remote="10.0.0.3", xff="6.6.6.6, 203.0.113.9, 10.0.0.2")) == "203.0.113.9"


def test_proxy_count_with_too_few_entries_falls_back_to_remote(sl):
    sl(TRUSTED_PROXY_COUNT=2)
    assert resolve_ip(meta(remote="10.0.0.3", xff="203.0.113.9")) == "10.0.0.3"


def test_trusted_networks_skip_trusted_hops_from_the_right(sl):
    sl(TRUSTED_PROXIES=["10.0.0.0/8"])
    assert resolve_ip(meta(remote="10.0.0.3", xff="6.6.6.6, 203.0.113.9, 10.1.1.1")) == "203.0.113.9"


def test_trusted_networks_ignore_header_from_untrusted_peer(sl):
    sl(TRUSTED_PROXIES=["10.0.0.0/8"])
    assert resolve_ip(meta(remote="198.51.100.7", xff="1.2.3.4")) == "198.51.100.7"


def test_garbage_in_forwarded_for_never_raises(sl):
    sl(TRUSTED_PROXIES=["10.0.0.0/8"])
    assert resolve_ip(meta(remote="10.0.0.3", xff="not-an-ip, ,%%%")) == "10.0.0.3"
    sl(TRUSTED_PROXY_COUNT=1, TRUSTED_PROXIES=[])
    assert resolve_ip(meta(remote="10.0.0.3", xff="garbage")) == "10.0.0.3"
    assert resolve_ip(meta(remote="10.0.0.3", xff="x" * 10000)) == "10.0.0.3"


@pytest.mark.parametrize("raw, expected", [
    ("203.0.113.9:5555", "203.0.113.9"),
    ("[2001:db8::1]:443", "2001:db8::1"),
    ("::ffff:203.0.113.9", "203.0.113.9"),
    ("fe80::1%eth0", "fe80::1"),
    ("999.1.1.1", None),
    ("", None),
    (None, None),
])
def test_parse_ip_forms(raw, expected):
    parsed = parse_ip(raw)
    assert (str(parsed) if parsed else None) == expected


def test_malformed_remote_addr_never_raises():
    assert resolve_ip({"REMOTE_ADDR": "garbage"}) is None
    assert resolve_ip({}) is None


def test_ipv6_clients_are_grouped_by_64():
    assert ip_key("2001:db8:1:2:aaaa::1") == ip_key("2001:db8:1:2:bbbb::2") == "ip:2001:db8:1:2::/64"
    assert ip_key("2001:db8:1:3::1") != ip_key("2001:db8:1:2::1")
    assert ip_key("203.0.113.9") == "ip:203.0.113.9"


def test_authenticated_user_is_keyed_by_primary_key(rf, django_user_model, db):
    user = django_user_model.objects.create_user(username="ann", password="x")
    request = rf.get("/", REMOTE_ADDR="203.0.113.9")
    request.user = user
    client = resolve_client(request)
    assert client.key == f"u:{user.pk}" and client.authenticated
    assert client.ip_key == "ip:203.0.113.9"


def test_anonymous_user_is_keyed_by_ip(rf):
    request = rf.get("/", REMOTE_ADDR="203.0.113.9")
    request.user = AnonymousUser()
    assert resolve_client(request).key == "ip:203.0.113.9"


def test_request_without_user_attribute_is_anonymous(rf):
    request = rf.get("/", REMOTE_ADDR="203.0.113.9")
    assert resolve_client(request).authenticated is False


def _through_auth_middleware(request):
    """``request`` as the view sees it after SessionMiddleware + AuthenticationMiddleware."""
    from django.contrib.auth.middleware import AuthenticationMiddleware
    from django.contrib.sessions.middleware import SessionMiddleware

    SessionMiddleware(lambda r: None).process_request(request)
    AuthenticationMiddleware(lambda r: None).process_request(request)
    return request


def test_anonymous_request_without_a_session_is_resolved_without_evaluating_the_user(rf, db):
    from django.utils.functional import empty

    request = _through_auth_middleware(rf.get("/", REMOTE_ADDR="198.51.100.60"))
    client = resolve_client(request)
    assert client.key == "ip:198.51.100.60" and not client.authenticated
    assert request.user._wrapped is empty  # no session or auth lookup was made for it


def test_signed_in_session_is_still_resolved_to_its_user(rf, django_user_model, db):
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    user = django_user_model.objects.create_user("sess", password="pw-not-used")
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    request = rf.get("/", REMOTE_ADDR="198.51.100.61")
    request.COOKIES[settings.SESSION_COOKIE_NAME] = session.session_key
    client = resolve_client(_through_auth_middleware(request))
    assert client.authenticated and client.key == f"u:{user.pk}"


def test_a_user_another_middleware_set_is_used_even_without_a_session(rf, django_user_model, db):
    """RemoteUserMiddleware and token middlewares replace the lazy user: no shortcut then."""
    user = django_user_model.objects.create_user("remote", password="pw-not-used")
    request = _through_auth_middleware(rf.get("/", REMOTE_ADDR="198.51.100.62"))
    request.user = user
    assert resolve_client(request).key == f"u:{user.pk}"
