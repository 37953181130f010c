"""One pass per request: adjacent smartlayer middlewares run as one.

With the four documented classes next to each other in ``settings.MIDDLEWARE``
the outermost does the work of all of them — decisions in settings order up
to the first enforced refusal, after-hooks innermost first, the log row once —
and the others are left out of the chain.  With another middleware between
them each keeps its own pass.  Either way the decisions, the responses, the
signals and the log rows must be the same: that is what these tests compare.
"""
from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync, iscoroutinefunction, markcoroutinefunction
from django.test import AsyncClient
from django.test import Client as HttpClient

from smartlayer import MIDDLEWARE as SMARTLAYER_MIDDLEWARE
from smartlayer import signals
from smartlayer.http import middleware as mw
from smartlayer.models import RequestLog
from tests.conftest import BROWSER_UA

pytestmark = pytest.mark.django_db

BETWEEN = "tests.test_one_pass.Between"


class Between:
    """A middleware of the site's own, placed between smartlayer's (sync and
    async, so under ASGI the chain stays async around it)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: Any) -> Any:
        return self.get_response(request)


def _apart(settings) -> None:
    """The four smartlayer middlewares with another one between each pair."""
    base = [m for m in settings.MIDDLEWARE if not m.startswith("smartlayer.")]
    apart: list[str] = []
    for name in SMARTLAYER_MIDDLEWARE:
        apart += [name, BETWEEN]
    settings.MIDDLEWARE = base + apart[:-1]


@pytest.fixture
def passes(monkeypatch) -> list[str]:
    """The smartlayer middlewares called, by class name, in order."""
    calls: list[str] = []
    original = mw._SmartLayerMiddleware.__call__

    def spy(self, request):
        calls.append(type(self).__name__)
        return original(self, request)

    monkeypatch.setattr(mw._SmartLayerMiddleware, "__call__", spy)
    return calls


def _scenario(net: str, flush) -> tuple[list[int], list[tuple], list[tuple]]:
    """Benign pages, an attack payload, an empty user agent, a flood and a
    monitor-mode component, from addresses in ``net``: the statuses, the
    signals and the log rows (client addresses left out)."""
    sent: list[tuple] = []

    def on_block(sender, client, decision, **kwargs):
        sent.append((sender.__name__, decision.component, decision.reason, decision.monitor))

    signals.request_blocked.connect(on_block)
    codes: list[int] = []
    try:
        browser = HttpClient(HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR=f"{net}.10")
        codes += [browser.get(p).status_code for p in ("/", "/page/1", "/robots.txt")]
        codes.append(browser.get("/page/2", {"q": "' UNION SELECT password FROM users--"}).status_code)
        codes.append(HttpClient(REMOTE_ADDR=f"{net}.11").get("/page/1").status_code)
        flooder = HttpClient(HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR=f"{net}.12")
        codes += [flooder.get("/page/1").status_code for _ in range(51)]
    finally:
        signals.request_blocked.disconnect(on_block)
    flush()
    rows = [
        (r.path, r.status_code, r.was_blocked, r.blocked_by, r.action, r.reason, r.monitor_only,
         r.rule_score, r.payload_score, [(d["component"], d["action"], d["reason"], d["monitor"])
                                         for d in (r.details or {}).get("decisions", [])])
        for r in RequestLog.objects.filter(client_key__startswith=f"ip:{net}.").order_by("id")
    ]
    return codes, sent, rows


def test_adjacent_middlewares_run_as_one(client, passes, flush_logs):
    assert client.get("/page/1", HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR="203.0.113.40").status_code == 200
    assert passes == ["AIAnomalyDetector"]
    flush_logs()
    assert RequestLog.objects.count() == 1


def test_apart_each_keeps_its_own_pass(settings, passes, flush_logs):
    _apart(settings)
    r = HttpClient().get("/page/1", HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR="203.0.113.41")
    assert r.status_code == 200
    assert passes == ["AIAnomalyDetector", "AIRequestValidator", "RateLimiter", "WatchLog"]
    flush_logs()
    assert RequestLog.objects.count() == 1


def test_same_decisions_signals_and_rows_fused_or_apart(settings, sl, flush_logs):
    sl(GREY_SUSTAINED_COUNT=0, BAN_AFTER_BLOCKS=100)
    fused = _scenario("198.51.100", flush_logs)
    _apart(settings)
    apart = _scenario("192.0.2", flush_logs)
    assert fused == apart
    codes, sent, rows = fused
    # the scenario does exercise every outcome it claims to
    assert codes[:4] == [200, 200, 200, 403] and codes[4] == 403 and codes[-1] == 403
    assert {s[1] for s in sent} >= {"validator", "anomaly"}
    assert len(rows) == len(codes)


def test_same_in_monitor_mode_fused_or_apart(settings, sl, flush_logs):
    """A monitor-mode refusal does not stop the pass: later components still decide."""
    sl(MONITOR_MODE=["anomaly"])
    fused = _scenario("198.51.100", flush_logs)
    _apart(settings)
    apart = _scenario("192.0.2", flush_logs)
    assert fused == apart
    rows = fused[2]
    empty_ua = [r for r in rows if r[1] == 200 and r[6]]
    assert empty_ua, "the empty user agent is a monitor-only refusal"


def test_refused_early_the_inner_components_do_not_decide(monkeypatch, client):
    """An enforced refusal by the first component ends the pass, as a refusal
    by a separate middleware ends the chain."""
    decided: list[str] = []
    original = mw.AIRequestValidator.decide

    def spy(self, request, ctx, monitor):
        decided.append("validator")
        return original(self, request, ctx, monitor)

    monkeypatch.setattr(mw.AIRequestValidator, "decide", spy)
    assert client.get("/page/1", REMOTE_ADDR="203.0.113.42").status_code == 403  # empty user agent
    assert decided == []
    assert client.get("/page/1", HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR="203.0.113.42").status_code in (200, 403)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("apart, hops_expected", [(False, 1), (True, 4)])
def test_thread_hops_under_asgi(settings, hops, apart, hops_expected):
    if apart:
        _apart(settings)
    r = async_to_sync(AsyncClient().get)("/page/1", headers={"user-agent": BROWSER_UA})
    assert r.status_code == 200 and len(hops) == hops_expected


# ── nothing per request that can be done once ──────────────────────────────
def test_remembered_agent_answers_follow_the_settings(sl):
    from smartlayer.request.facts import is_suspicious_agent

    assert is_suspicious_agent("MyCrawler/1.0") is False
    assert is_suspicious_agent("MyCrawler/1.0") is False       # remembered
    sl(grey_suspicious_user_agents=["mycrawler"])
    assert is_suspicious_agent("MyCrawler/1.0") is True        # a settings change forgets the answers
    assert is_suspicious_agent("x" * 600 + "mycrawler") is True  # too long to remember, still answered


def test_remembered_addresses_parse_as_before():
    from smartlayer.request.client import parse_ip

    for _ in range(2):
        assert str(parse_ip("::ffff:198.51.100.7")) == "198.51.100.7"
        assert str(parse_ip("[2001:db8::1]:443")) == "2001:db8::1"
        assert parse_ip("198.51.100.300") is None and parse_ip("") is None


def test_an_error_inside_an_inner_component_is_answered_and_logged_alike(settings, flush_logs):
    """A ``request_blocked`` receiver that raises, on the validator's refusal:
    apart, Django turns it into a 500 at the validator's own layer and the
    owner logs it; fused, the pass does the same."""

    def broken(sender, **kwargs):
        raise RuntimeError("receiver failure")

    signals.request_blocked.connect(broken)
    try:
        outcomes = []
        for net, is_apart in (("198.51.100", False), ("192.0.2", True)):
            if is_apart:
                _apart(settings)
            r = HttpClient(raise_request_exception=False, HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR=f"{net}.20").get(
                "/page/2", {"q": "' UNION SELECT password FROM users--"})
            flush_logs()
            row = RequestLog.objects.get(client_key=f"ip:{net}.20")
            outcomes.append((r.status_code, row.status_code, row.was_blocked, row.blocked_by))
    finally:
        signals.request_blocked.disconnect(broken)
    assert outcomes[0] == outcomes[1] == (500, 500, True, "validator")
