"""The writer's insert stores a row exactly as a model save would, on whichever database the suite runs on.

PostgreSQL takes rows through COPY and SQLite through one ``executemany`` of
prepared values (no model instance per row): both must read back as the ORM
writes them — aware timestamps, JSON, addresses, defaults for missing keys.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from django.forms.models import model_to_dict

from smartlayer.log import writer as logwriter
from smartlayer.models import RequestLog

pytestmark = pytest.mark.django_db

ROW = {
    "timestamp": datetime(2026, 12, 3, 14, 5, 6, 789000, tzinfo=timezone.utc), "client_key": "ip:203.0.113.9",
    "user_id": None, "ip_address": "2001:db8::1", "method": "POST", "path": "/shop/review", "status_code": 403,
    "response_time_ms": 1.25, "user_agent": "Mozilla/5.0", "was_blocked": True, "rule_score": 4,
    "model_score": 0.75, "payload_score": 11, "model_version": "v3", "response_type": "text/html", "accept": "*/*",
    "fetch": "navigate", "xrw": False, "referer_host": "shop.example", "params": [["q", "q", "text:9:ls:"]],
    "blocked_by": "validator", "action": "block", "monitor_only": False, "reason": "payload:sql",
    "details": {"decisions": [{"component": "validator", "reasons": ["sql_tautology"], "n": [1, 2.5, None]}]},
}


def _stored(pk: int) -> dict:
    found = model_to_dict(RequestLog.objects.get(pk=pk))
    found.pop("id")
    return found


def test_the_writer_stores_a_row_as_the_orm_does():
    reference = RequestLog.objects.create(**ROW)
    logwriter.insert_rows([dict(ROW), {"path": "/minimal", "method": "GET", "status_code": 200,
                                        "response_time_ms": 0.5}])
    written, minimal = RequestLog.objects.exclude(pk=reference.pk).order_by("pk")
    assert _stored(written.pk) == _stored(reference.pk)
    assert written.timestamp == ROW["timestamp"] and written.details == ROW["details"]
    assert (minimal.action, minimal.user_agent, minimal.params, minimal.details) == ("allow", "", None, None)
