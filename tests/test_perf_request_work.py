"""Work done once per request, not once per component: counted, never timed.

The request path outside the payload engine and the model is mostly bookkeeping — the
runtime's active version, the settings, the context — and each repeated look is a cost
every request pays.  These tests count the looks on requests through the documented stack.
"""
from __future__ import annotations

import pytest

from smartlayer.ml import runtime
from tests.conftest import BROWSER_UA

pytestmark = pytest.mark.django_db


@pytest.fixture
def runtime_checks(monkeypatch) -> list[int]:
    """How many times the model runtime was asked what is active."""
    calls: list[int] = []
    original = runtime._checked

    def counting():
        calls.append(1)
        return original()

    monkeypatch.setattr(runtime, "_checked", counting)
    return calls


def test_the_runtime_is_asked_once_per_request(client, runtime_checks):
    """The detector and the validator both need the site profile: one look serves both."""
    for i in range(3):
        runtime_checks.clear()
        response = client.get(f"/?page={i}", HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR="203.0.113.7")
        assert response.status_code == 200
        assert len(runtime_checks) == 1


def test_the_validator_alone_still_asks_the_runtime(client, settings, runtime_checks):
    """Without the detector the validator looks the profile up itself."""
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.endswith("AIAnomalyDetector")]
    response = client.get("/?q=1", HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR="203.0.113.8")
    assert response.status_code == 200
    assert len(runtime_checks) == 1
