"""What the request path looks up per request, counted: the model runtime and the monitor mode
are asked about once, not once per reader."""
from __future__ import annotations

import pytest

from smartlayer.conf import SmartLayerSettings, sl_settings

pytestmark = pytest.mark.django_db


def test_the_detector_looks_at_the_model_runtime_once_per_request(browser, monkeypatch):
    from smartlayer.ml import runtime

    calls: list[int] = []
    real = runtime._checked
    monkeypatch.setattr(runtime, "_checked", lambda: calls.append(1) or real())
    assert browser.get("/page/1").status_code == 200
    calls.clear()
    assert browser.get("/page/2").status_code == 200
    # the detector's one look (the model and the profile together) and the payload validator's
    # profile (its own module, left as it is); the detector alone used to look twice
    assert len(calls) == 2


def test_get_active_answers_as_the_two_lookups(sl):
    from smartlayer.ml import runtime

    assert runtime.get_active() == (runtime.get_active_model(), runtime.get_active_profile())
    sl(MODEL_ENABLED=False, PROFILE_ENABLED=False)
    assert runtime.get_active() == (None, None)


def test_the_monitor_mode_is_worked_out_once_per_settings_generation(sl, monkeypatch):
    sl(MONITOR_MODE=["validator"])
    assert sl_settings.is_monitor("validator") and not sl_settings.is_monitor("anomaly")
    reads: list[int] = []
    real = SmartLayerSettings._data
    monkeypatch.setattr(SmartLayerSettings, "_data", lambda self: reads.append(1) or real(self))
    for component in ("ban", "anomaly", "validator", "ratelimit", "validator"):
        sl_settings.is_monitor(component)
    assert reads == []                      # answered from what was worked out
    sl(MONITOR_MODE=True)                   # a settings change: worked out anew
    assert sl_settings.is_monitor("anomaly") and sl_settings.is_monitor("ban")
    sl(MONITOR_MODE=False)
    assert not sl_settings.is_monitor("validator")
