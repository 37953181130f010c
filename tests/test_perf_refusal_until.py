"""The refusal of a banned client formats its ban's end once per distinct second, not once per refusal.

Counting test (no clock): ``datetime.fromtimestamp`` as the responses module sees it is counted while
the same ban's refusal is rendered again and again."""
from __future__ import annotations

from datetime import UTC, datetime

from django.test import RequestFactory

from smartlayer.http import responses
from smartlayer.request.decision import Action, Decision


class _CountingDatetime:
    calls = 0

    @classmethod
    def fromtimestamp(cls, *args, **kwargs):
        cls.calls += 1
        return datetime.fromtimestamp(*args, **kwargs)


def _ban_refusal(expires: float) -> Decision:
    return Decision(Action.BLOCK, "ban", reason="rule:ban", reasons=["rule:ban"], status=403,
                    details={"ban_id": 1, "expires": expires, "ban_reason": "x"}, public_reason="suspicious activity")


def test_a_ban_end_is_formatted_once_for_many_refusals(monkeypatch):
    monkeypatch.setattr(responses, "datetime", _CountingDatetime)
    remembered = getattr(responses, "_iso_second", None)   # what an earlier test formatted is forgotten
    if remembered is not None:
        remembered.cache_clear()
    request = RequestFactory().get("/")
    expires = 2_000_000_000.25
    bodies = {responses.render(request, _ban_refusal(expires)).content for _ in range(50)}
    assert _CountingDatetime.calls == 1
    # the page says the same as before: the end rounded up to the second, in UTC
    until = datetime.fromtimestamp(2_000_000_001, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert bodies == {f"403 Forbidden: suspicious activity until {until}\n".encode()}


def test_iso_utc_still_formats_datetimes_and_floats_alike():
    when = datetime(2026, 12, 2, 21, 59, 59, 100, tzinfo=UTC)
    assert responses.iso_utc(when) == responses.iso_utc(when.timestamp()) == "2026-12-02T22:00:00Z"
