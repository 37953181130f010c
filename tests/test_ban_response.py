"""A banned client is told until when, and nothing about why.

The refusal of an active ban carries the end of the ban (ISO 8601, UTC) in
its body and the seconds left in ``Retry-After``; a permanent ban says so and
sends no ``Retry-After``.  The ban's reason stays in the log.
"""
from __future__ import annotations

import json
import math
import time
from datetime import UTC, datetime

import pytest
from django.test import RequestFactory

from smartlayer.http.responses import render
from smartlayer.models import Ban
from smartlayer.request.decision import PUBLIC_REASONS, Action, Decision
from smartlayer.state import bans
from tests.conftest import BROWSER_UA


def ban_decision(expires) -> Decision:
    return Decision(Action.BLOCK, "ban", reason="ban:rule", reasons=["probing /.env"],
                    details={"ban_id": 7, "expires": expires}, public_reason=PUBLIC_REASONS["ban"])


def iso(ts: float) -> str:
    return datetime.fromtimestamp(math.ceil(ts), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


JSON = {"HTTP_ACCEPT": "application/json"}


def test_json_refusal_of_a_ban_says_until_when():
    expires = time.time() + 3600.4
    response = render(RequestFactory().get("/", **JSON), ban_decision(expires))
    body = json.loads(response.content)
    assert response.status_code == 403
    assert body == {"error": "forbidden", "reason": "client banned", "until": iso(expires)}
    assert 3590 <= int(response["Retry-After"]) <= 3602


def test_text_refusal_of_a_ban_says_until_when():
    expires = time.time() + 90
    response = render(RequestFactory().get("/"), ban_decision(expires))
    text = response.content.decode()
    assert text.startswith("403 Forbidden: client banned") and iso(expires) in text
    assert "probing" not in text and "rule" not in text
    assert 80 <= int(response["Retry-After"]) <= 92


def test_a_permanent_ban_has_no_end_and_no_retry_after():
    response = render(RequestFactory().get("/", **JSON), ban_decision(None))
    assert json.loads(response.content) == {"error": "forbidden", "reason": "client banned", "until": None}
    assert not response.has_header("Retry-After")
    text = render(RequestFactory().get("/"), ban_decision(None)).content.decode()
    assert "client banned" in text and "permanent" in text and not any(c.isdigit() for c in text[4:])


@pytest.mark.parametrize("expires", ["soon", float("nan"), float("inf"), -float("inf"), 1e20, -1e20, [1], {"x": 1}, True])
def test_a_garbled_expiry_never_breaks_the_refusal(expires):
    """A cache entry is data: whatever it holds, the refusal is a plain 403
    without an end time (nothing made up), never a 500."""
    response = render(RequestFactory().get("/", **JSON), ban_decision(expires))
    assert response.status_code == 403
    assert json.loads(response.content) == {"error": "forbidden", "reason": "client banned"}
    assert not response.has_header("Retry-After")


def test_a_ban_that_ends_within_the_second_asks_for_at_least_one_second():
    response = render(RequestFactory().get("/", **JSON), ban_decision(time.time() + 0.01))
    assert response["Retry-After"] == "1"


def test_a_ban_ending_just_past_a_second_boundary_asks_for_one_second_not_two(monkeypatch):
    """The case the test above met about once in a hundred runs: 10 ms that cross into the next second."""
    monkeypatch.setattr(time, "time", lambda: 1_700_000_000.995)
    response = render(RequestFactory().get("/", **JSON), ban_decision(1_700_000_001.005))
    assert response["Retry-After"] == "1"
    assert json.loads(response.content)["until"] == iso(1_700_000_001.005)


def test_other_refusals_are_unchanged():
    decision = Decision(Action.BLOCK, "anomaly", reason="grey:score", details={"expires": time.time() + 60},
                        public_reason=PUBLIC_REASONS["anomaly"])
    response = render(RequestFactory().get("/", **JSON), decision)
    assert json.loads(response.content) == {"error": "forbidden", "reason": "suspicious activity"}
    assert not response.has_header("Retry-After")


@pytest.mark.django_db
def test_a_banned_visitor_gets_the_end_of_its_ban(client):
    bans.ban("ip:203.0.113.61", reason="probing /.env", source="rule", ttl=600)
    row = Ban.objects.get(client_key="ip:203.0.113.61")
    visitor = type(client)(HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR="203.0.113.61")
    response = visitor.get("/", **JSON)
    assert response.status_code == 403
    body = json.loads(response.content)
    assert body["until"] == iso(row.expires_at.timestamp())
    assert 590 <= int(response["Retry-After"]) <= 602
    assert "probing" not in response.content.decode()


@pytest.mark.django_db
def test_a_permanently_banned_visitor_is_told_so(client):
    bans.ban("ip:203.0.113.62", reason="manual", source="admin", ttl=0)
    visitor = type(client)(HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR="203.0.113.62")
    response = visitor.get("/")
    assert response.status_code == 403 and "permanent" in response.content.decode()
    assert not response.has_header("Retry-After")
