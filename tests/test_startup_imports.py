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


BROKEN = """
import os, sys
sys.path.insert(0, sys.argv[1])   # a prometheus_client that is found but fails to import
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
import django
django.setup()
from smartlayer.state import prom
print(prom.ON)
prom.request(); prom.decision("anomaly", "block", "x", False); prom.event("failure.cache"); prom.model_score(0.5)
print(prom.ON, prom.instruments())
"""


def test_a_metrics_extra_found_but_broken_fails_open(tmp_path):
    """Found at start, failing at its first use: nothing is counted and no request sees the error."""
    package = tmp_path / "prometheus_client"
    package.mkdir()
    (package / "__init__.py").write_text("raise ImportError('a broken installation')\n")
    out = subprocess.run([sys.executable, "-c", BROKEN, str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "False", "False"]
