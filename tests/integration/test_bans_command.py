"""``smartlayer_bans`` while the site runs on Redis: what the command adds or
lifts reaches another worker's ban mirror without a restart."""
from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from smartlayer.state import bans
from tests.integration.test_replicated_window import client, other_mirror, wait_until  # noqa: F401

pytestmark = pytest.mark.integration


@pytest.mark.django_db(transaction=True)
def test_a_ban_added_and_lifted_by_the_command_reaches_another_worker(redis_alias, other_mirror):  # noqa: F811
    c = client("203.0.113.90")
    call_command("smartlayer_bans", "add", "203.0.113.90", "--ttl", "600", stdout=io.StringIO())
    wait_until(lambda: other_mirror.lookup(bans.lookup_keys(c)) is not None, timeout=1.0, what="command ban")
    out = io.StringIO()
    call_command("smartlayer_bans", "lift", "ip:203.0.113.90", stdout=out)
    assert "Lifted 1 ban(s)" in out.getvalue() and "LocMemCache" not in out.getvalue()
    wait_until(lambda: other_mirror.lookup(bans.lookup_keys(c)) is None, timeout=1.0, what="command lift")
