"""``manage.py smartlayer_bans``: list, lift one, lift all, add — and bad keys exit non-zero."""
from __future__ import annotations

import io
import math
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from smartlayer.models import Ban
from smartlayer.request.client import Client
from smartlayer.state import bans
from tests.conftest import BROWSER_UA

pytestmark = pytest.mark.django_db


def shown(when) -> str:
    """A moment as the command and the refusal show it: UTC, whole seconds rounded up."""
    return datetime.fromtimestamp(math.ceil(when.timestamp()), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("smartlayer_bans", *args, stdout=out)
    return out.getvalue()


def enforced(key: str) -> bool:
    ip = key[3:]
    return bans.lookup(Client(key=key, ip=ip, user_id=None, authenticated=False)) is not None


# ── list ───────────────────────────────────────────────────────────────────
def test_list_without_bans():
    assert run("list").strip() == "No active bans."


def test_list_shows_active_bans_with_source_reason_since_and_until():
    bans.ban("ip:203.0.113.1", reason="black:login_flood", source="rule", ttl=600)
    bans.ban("u:42", reason="by hand\nsecond line", source="admin", ttl=0)
    Ban.objects.create(client_key="ip:198.51.100.1", source="rule", expires_at=timezone.now() - timedelta(hours=1))
    Ban.objects.create(client_key="ip:198.51.100.2", source="rule", lifted_at=timezone.now())
    lines = run("list").splitlines()
    assert lines[0].split() == ["client", "source", "reason", "since", "until"]
    assert lines[-1] == "2 active ban(s)."
    body = "\n".join(lines[1:-1])
    assert "198.51.100" not in body  # expired and lifted bans are not active
    permanent, timed = lines[1], lines[2]  # newest first
    assert permanent.startswith("u:42") and "admin" in permanent and "by hand second line" in permanent
    assert permanent.rstrip().endswith("permanent")
    row = Ban.objects.get(client_key="ip:203.0.113.1")
    assert timed.startswith("ip:203.0.113.1") and "rule" in timed and "black:login_flood" in timed
    assert shown(row.created_at) in timed and shown(row.expires_at) in timed


# ── lift ───────────────────────────────────────────────────────────────────
def test_lift_one_client_lets_it_in_again(client):
    bans.ban("ip:203.0.113.9", reason="probing", source="rule")
    bans.ban("ip:203.0.113.8", reason="probing", source="rule")
    visitor = type(client)(HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR="203.0.113.9")
    assert visitor.get("/").status_code == 403
    out = run("lift", "ip:203.0.113.9")
    assert "Lifted 1 ban(s) of ip:203.0.113.9" in out
    assert "LocMemCache" in out  # the test site's cache is per process: the operator is told
    row = Ban.objects.get(client_key="ip:203.0.113.9")
    assert row.lifted_at is not None and row.lifted_by.startswith("smartlayer_bans")
    assert visitor.get("/").status_code == 200
    assert enforced("ip:203.0.113.8")  # the other one stays


@pytest.mark.parametrize("given,key", [
    ("203.0.113.9", "ip:203.0.113.9"),
    ("::ffff:203.0.113.9", "ip:203.0.113.9"),
    ("2001:db8:1:2:3:4:5:6", "ip:2001:db8:1:2::/64"),
])
def test_lift_accepts_a_bare_address_and_uses_its_key(given, key):
    bans.ban(key, reason="probing", source="rule")
    assert f"Lifted 1 ban(s) of {key}" in run("lift", given)
    assert not Ban.objects.active().exists()


def test_lift_clears_a_ban_the_database_never_got():
    """A ban written while the database was away lives in the cache only."""
    from smartlayer.state.bans import cache_ban

    cache_ban(Ban(client_key="ip:203.0.113.7", reason="x", source="rule", expires_at=None))
    assert enforced("ip:203.0.113.7")
    assert "No active ban of ip:203.0.113.7 in the database" in run("lift", "203.0.113.7")
    assert not enforced("ip:203.0.113.7")


def test_lift_all():
    for i in range(3):
        bans.ban(f"ip:203.0.113.{20 + i}", reason="probing", source="rule")
    bans.ban("u:7", reason="manual", source="admin", ttl=0)
    assert "Lifted 4 ban(s) of 4 client(s)." in run("lift", "--all")
    assert not Ban.objects.active().exists()
    assert not any(enforced(f"ip:203.0.113.{20 + i}") for i in range(3))


@pytest.mark.parametrize("args", [("lift",), ("lift", "ip:203.0.113.9", "--all")])
def test_lift_needs_exactly_one_client_or_all(args):
    bans.ban("ip:203.0.113.9", reason="probing", source="rule")
    with pytest.raises(CommandError, match="exactly one"):
        run(*args)
    assert enforced("ip:203.0.113.9")


# ── add ────────────────────────────────────────────────────────────────────
def test_add_with_a_ttl_is_enforced_at_once(client):
    out = run("add", "203.0.113.30", "--ttl", "120", "--reason", "office printer gone wild")
    row = Ban.objects.get(client_key="ip:203.0.113.30")
    assert row.source == "admin" and row.reason == "office printer gone wild" and row.ip_address == "203.0.113.30"
    assert timedelta(seconds=110) < row.expires_at - timezone.now() <= timedelta(seconds=120)
    assert f"Banned ip:203.0.113.30 until {shown(row.expires_at)}" in out
    visitor = type(client)(HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR="203.0.113.30")
    response = visitor.get("/", HTTP_ACCEPT="application/json")
    assert response.status_code == 403 and response.json()["until"] == shown(row.expires_at)
    assert "printer" not in response.content.decode()


def test_add_with_ttl_0_is_permanent():
    assert "Banned u:42 permanently." in run("add", "u:42", "--ttl", "0", "--reason", "abuse")
    row = Ban.objects.get(client_key="u:42")
    assert row.expires_at is None and row.user_id == "42" and row.is_active


def test_add_without_ttl_uses_ban_ttl(sl):
    sl(BAN_TTL=300)
    run("add", "ip:203.0.113.31")
    row = Ban.objects.get(client_key="ip:203.0.113.31")
    assert timedelta(seconds=290) < row.expires_at - timezone.now() <= timedelta(seconds=300)


def test_add_keeps_a_longer_ban_and_says_so():
    bans.ban("ip:203.0.113.32", reason="black:login_flood", source="rule", ttl=0)
    out = run("add", "ip:203.0.113.32", "--ttl", "60", "--reason", "again")
    assert "already banned permanently (rule: black:login_flood); that ban stays." in out
    assert Ban.objects.active().filter(client_key="ip:203.0.113.32").count() == 1


def test_add_refuses_a_negative_ttl():
    with pytest.raises(CommandError, match="--ttl"):
        run("add", "ip:203.0.113.33", "--ttl", "-5")
    assert not Ban.objects.exists()


# ── bad keys ───────────────────────────────────────────────────────────────
BAD_KEYS = [
    ("nonsense", "not a client key"),
    ("ip:999.1.1.1", "not an IP address"),
    ("ip:2001:db8::1", "ip:2001:db8::/64"),   # IPv6 clients are keyed by their /64: the message names it
    ("ip:203.0.113.9/32", "ip:203.0.113.9"),
    ("ip:::ffff:203.0.113.9", "ip:203.0.113.9"),
    ("u:", "primary key"),
    ("ip:203.0.113.9 extra", "no spaces"),
    ("u:" + "9" * 70, "64 characters"),
    ("", "client key"),
]


@pytest.mark.parametrize("key,hint", BAD_KEYS)
@pytest.mark.parametrize("verb", [("lift",), ("add", "--ttl", "60")])
def test_a_bad_client_key_is_refused_with_a_clear_message(verb, key, hint):
    bans.ban("ip:203.0.113.9", reason="probing", source="rule")
    with pytest.raises(CommandError) as exc:
        run(verb[0], key, *verb[1:])
    assert hint in str(exc.value)
    assert list(Ban.objects.values_list("client_key", flat=True)) == ["ip:203.0.113.9"]
    assert enforced("ip:203.0.113.9")


def test_a_bad_key_exits_non_zero_from_the_command_line():
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(root)}
    done = subprocess.run([sys.executable, "-m", "django", "smartlayer_bans", "lift", "ip:not-an-ip"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert "not an IP address" in done.stderr


@pytest.mark.parametrize("args,message", [
    (("list", "ip:203.0.113.9"), "no client key"),
    (("add",), "needs a client key"),
    (("lift", "ip:203.0.113.9", "--ttl", "5"), "--ttl does not apply to lift"),
    (("add", "ip:203.0.113.9", "--all"), "--all does not apply to add"),
    (("list", "--reason", "x"), "--reason does not apply to list"),
])
def test_options_of_another_verb_are_refused(args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert not Ban.objects.exists()


def test_django_options_work_after_the_verb():
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run([sys.executable, "-m", "django", "smartlayer_bans", "lift", "bogus", "--settings",
                           "tests.settings", "-v", "2"], cwd=root, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1 and "bogus" in done.stderr and "not a client key" in done.stderr, done.stderr


def test_help_says_a_bare_address_is_accepted():
    from smartlayer.management.commands.smartlayer_bans import Command

    text = " ".join(Command().create_parser("manage.py", "smartlayer_bans").format_help().split())
    assert "bare IP address is turned into its key" in text and "list" in text and "lift" in text


# ── the admin's ban form takes the same keys ────────────────────────────────
def test_the_admin_form_turns_a_bare_address_into_its_key_and_refuses_garbage(client, django_user_model):
    from django.urls import reverse

    user = django_user_model.objects.create_superuser(username="root", password="pw", email="r@example.com")
    admin = type(client)(HTTP_USER_AGENT=BROWSER_UA)
    admin.force_login(user)
    url = reverse("admin:smartlayer_ban_add")
    form = {"reason": "manual", "source": "admin", "expires_at_0": "", "expires_at_1": ""}
    page = admin.post(url, {**form, "client_key": "not-a-key"})
    assert page.status_code == 200 and "not a client key" in page.content.decode()
    assert not Ban.objects.exists()
    assert admin.post(url, {**form, "client_key": "203.0.113.77"}).status_code == 302
    assert Ban.objects.get().client_key == "ip:203.0.113.77" and enforced("ip:203.0.113.77")
