"""The Prometheus endpoint: decisions by component and reason, bans, failures by kind, the log
queue, LLM calls and the model's scores are counted; only staff or an allowed address may read
them; without the extra nothing is counted and the URL says what is missing; and under gunicorn
the figures of every worker are added up (PROMETHEUS_MULTIPROC_DIR)."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.urls import include, path

from smartlayer.state import prom
from tests.urls import urlpatterns as base_patterns

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]
urlpatterns = [path("metrics/", include("smartlayer.metrics.urls")), *base_patterns]

ROOT = Path(__file__).resolve().parents[1]


def value(name: str, **labels: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(client, **extra) -> str:
    r = client.get("/metrics/", REMOTE_ADDR=extra.pop("REMOTE_ADDR", "127.0.0.1"), **extra)
    assert r.status_code == 200, r.content
    return r.content.decode()


def test_extra_is_installed_in_the_dev_environment():
    assert prom.ON


def test_decisions_by_component_and_reason(client, browser):
    before = value("smartlayer_decisions_total", component="anomaly", action="block",
                   reason="black:empty_user_agent", monitor="false")
    requests_before = value("smartlayer_requests_total")
    for _ in range(3):
        client.get("/page/1", REMOTE_ADDR="203.0.113.30", HTTP_USER_AGENT="")
    browser.get("/page/1?q=1%27%20UNION%20SELECT%20password%20FROM%20users--")
    assert value("smartlayer_decisions_total", component="anomaly", action="block",
                 reason="black:empty_user_agent", monitor="false") == before + 3
    assert value("smartlayer_requests_total") == requests_before + 4
    text = scrape(client)
    assert 'smartlayer_decisions_total{action="block",component="validator",monitor="false",reason="payload:' in text


def test_bans_failures_and_log_counters(client):
    from smartlayer.log.writer import LogWriter
    from smartlayer.state import bans, report_failure

    b0 = value("smartlayer_bans_total", source="admin")
    f0 = value("smartlayer_failures_total", kind="cache")
    d0 = value("smartlayer_log_dropped_total", why="full")
    bans.ban("ip:203.0.113.31", reason="test", source="admin")
    report_failure("cache", "away")
    writer = LogWriter(maxsize=1)
    writer.put({})
    writer.put({})
    prom.log_queue(len(writer.queue))
    assert value("smartlayer_bans_total", source="admin") == b0 + 1
    assert value("smartlayer_failures_total", kind="cache") == f0 + 1
    assert value("smartlayer_log_dropped_total", why="full") == d0 + 1
    assert value("smartlayer_log_queue_depth") == 1


def test_llm_calls_and_latency(server, sl):
    sl(AI_API_KEY="k", AI_BASE_URL=server.url, AI_MODEL="m")
    from smartlayer.llm.client import get_client

    ok0, n0 = value("smartlayer_llm_calls_total", outcome="ok"), value("smartlayer_llm_latency_seconds_count")
    get_client().complete([{"role": "user", "content": "hi"}])
    assert value("smartlayer_llm_calls_total", outcome="ok") == ok0 + 1
    assert value("smartlayer_llm_latency_seconds_count") == n0 + 1


def test_model_scores_are_a_histogram():
    c0 = value("smartlayer_model_score_count")
    prom.model_score(0.62)
    assert value("smartlayer_model_score_count") == c0 + 1
    assert value("smartlayer_model_score_bucket", le="0.65") >= 1


def test_only_staff_or_an_allowed_address_may_read(client, django_user_model, sl):
    assert client.get("/metrics/", REMOTE_ADDR="203.0.113.32", HTTP_USER_AGENT="Mozilla/5.0").status_code == 403
    staff = django_user_model.objects.create_user(username="ops", password="x", is_staff=True)
    client.force_login(staff)
    assert client.get("/metrics/", REMOTE_ADDR="203.0.113.32", HTTP_USER_AGENT="Mozilla/5.0").status_code == 200
    client.logout()
    sl(METRICS_ALLOW_IPS=["203.0.113.0/24"])
    assert client.get("/metrics/", REMOTE_ADDR="203.0.113.32", HTTP_USER_AGENT="Mozilla/5.0").status_code == 200
    assert client.get("/metrics/", REMOTE_ADDR="127.0.0.1").status_code == 403  # the list replaces loopback


WITHOUT_EXTRA = """
import os, sys
sys.modules["prometheus_client"] = None  # as if the extra were not installed
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
import django
django.setup()
from django.conf import settings
settings.ROOT_URLCONF = "tests.test_metrics"
from django.test import Client
c = Client(REMOTE_ADDR="127.0.0.1", HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")
print(c.get("/page/1").status_code, c.get("/page/1", HTTP_USER_AGENT="").status_code)
from smartlayer.state import prom
print(prom.ON, c.get("/metrics/").status_code)
"""


def test_without_the_extra_nothing_is_counted_and_the_url_says_so():
    out = subprocess.run([sys.executable, "-c", WITHOUT_EXTRA], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["200", "403", "False", "501"]


@pytest.mark.slow
def test_gunicorn_workers_are_added_up(tmp_path):
    """Two gunicorn workers, each counting in PROMETHEUS_MULTIPROC_DIR; one scrape sees both."""
    import httpx

    from tests.deploy.servers import ServerProcess, deploy_env, free_port, gunicorn_cmd, migrate

    prom_dir = tmp_path / "prom"
    prom_dir.mkdir()
    env = deploy_env(SMARTLAYER_DEPLOY_DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
                     SMARTLAYER_DEPLOY_DEBUG="1", PROMETHEUS_MULTIPROC_DIR=str(prom_dir))
    migrate(env)
    port = free_port()
    server = ServerProcess(gunicorn_cmd(port, workers=2), env, port, tmp_path / "gunicorn.log")
    try:
        server.start()
        pids: set[int] = set()
        refused = 0
        sent = server.probes_served  # the readiness probes on /health (more than one on a busy machine)
        deadline = time.monotonic() + 60
        with httpx.Client(timeout=10) as http:
            while (len(pids) < 2 or refused < 20) and time.monotonic() < deadline:
                pids.add(http.get(server.base_url + "/_debug/worker?sleep=0.02").json()["pid"])
                refused += http.get(server.base_url + "/page/x", headers={"User-Agent": ""}).status_code == 403
                sent += 2
            assert len(pids) == 2, server.output()
            text = http.get(server.base_url + "/metrics/").text
        files = {p.name for p in prom_dir.iterdir()}
        assert sum(name.startswith("counter_") for name in files) >= 2, files  # each worker wrote its own
        line = next(ln for ln in text.splitlines() if ln.startswith("smartlayer_decisions_total{")
                    and 'reason="black:empty_user_agent"' in ln)
        assert float(line.rsplit(" ", 1)[1]) == refused, text
        # every request, whichever of the two workers answered it (the scrape counts once it is done)
        total = next(ln for ln in text.splitlines() if ln.startswith("smartlayer_requests_total "))
        assert float(total.rsplit(" ", 1)[1]) == sent, text
    finally:
        server.stop()
