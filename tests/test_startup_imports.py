"""What a process imports before it counts or replays anything: start-up is paid by every command run.

Counted as modules imported (never as time): ``prometheus_client`` and its
exposition stack wait until the first event is counted or the first scrape.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
import django
django.setup()
import smartlayer.offline.replay, smartlayer.state, smartlayer.checks  # noqa: E401
from smartlayer.state import prom
print(prom.ON, "prometheus_client" in sys.modules, prom.REQUESTS is None)
prom.request()
print("prometheus_client" in sys.modules, prom.REQUESTS is not None, prom.MODEL_SCORE is not None)
from prometheus_client import REGISTRY
print(REGISTRY.get_sample_value("smartlayer_requests_total"))
"""


def test_prometheus_client_is_imported_on_the_first_event_not_at_start_up():
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "False", "True", "True", "True", "True", "1.0"]
