"""What the request thread leaves to the log writer, and what it no longer pays for (#17).

Counted, never timed.  A decision that refuses nobody (a flagged score recorded, the grey zone) only
reaches its request's log row: the model's explanation (``top_features``) is worked out by the writer's
thread, and the row is the one the request thread used to make.  A refusal's details still hold the
pairs as a list on the request thread (signals, bans and the refusal log read them there).
"""
from __future__ import annotations

import time

import pytest

from smartlayer.ml.runtime import ModelScore, TopFeatures
from smartlayer.policy.decisions import combine
from smartlayer.request.client import Client
from smartlayer.request.context import RequestContext, begin, build_log_row, capture_log_row
from smartlayer.request.decision import Action, Evidence


class Explainer:
    """Stands for an ActiveModel: counts how often it is asked to explain a vector."""

    def __init__(self, pairs=(("share_404", 3.0), ("page_views", 1.5))) -> None:
        self.calls = 0
        self.pairs = list(pairs)

    def top_features(self, x):
        self.calls += 1
        return list(self.pairs)


def _evidence(model: Explainer, **extra) -> Evidence:
    scored = ModelScore(0.7, 0.6, "v1", TopFeatures(model, [3.0, 1.5]))
    return Evidence("anomaly", rule_score=0, model_score=scored.score, model_threshold=scored.threshold,
                    model_version="v1", model_flags=1, top_features=scored.top_features, **extra)


def _ctx() -> RequestContext:
    client = Client(key="ip:203.0.113.9", ip="203.0.113.9", user_id=None, authenticated=False)
    return RequestContext(client=client, method="GET", path="/p", user_agent="UA", started=time.time(),
                          t0=time.perf_counter())


def test_a_recorded_flag_is_explained_by_the_log_writer_not_the_request(sl):
    sl(MODEL_SUSTAINED_ALONE=10**9, MODEL_SUSTAINED_COUNT=10**9, MODEL_RULE_ASSIST=0)
    model = Explainer()
    decision = combine(_evidence(model))
    assert decision.action is Action.ALLOW and "model:above_threshold" in decision.reasons
    ctx = _ctx()
    ctx.add(decision)
    captured = capture_log_row(ctx, 200, 1.0)
    assert model.calls == 0                       # nothing worked out on the request thread
    row = build_log_row(captured)                 # the writer's thread
    assert model.calls == 1
    entry = row["details"]["decisions"][0]
    assert entry["top_features"] == [["share_404", 3.0], ["page_views", 1.5]]
    # the keys in the order the request thread used to make them
    assert list(entry) == ["component", "action", "reason", "reasons", "monitor", "rule_score", "rules",
                           "model_score", "model_threshold", "model_version", "model_flags", "top_features"]


def test_the_row_is_the_one_the_request_thread_made(sl):
    sl(MODEL_SUSTAINED_ALONE=10**9, MODEL_SUSTAINED_COUNT=10**9, MODEL_RULE_ASSIST=0)
    for pairs in ((("share_404", 3.0), ("page_views", 1.5)), ()):   # no pairs: no key, as before
        lazy, eager = Explainer(pairs), Explainer(pairs)
        rows = []
        for model, make in ((lazy, combine), (eager, None)):
            ev = _evidence(model)
            decision = combine(ev)
            if make is None:                      # what the request thread used to record
                decision.details = ev.details()
            ctx = _ctx()
            ctx.add(decision)
            row = build_log_row(capture_log_row(ctx, 200, 1.0))
            row.pop("timestamp")
            rows.append(row)
        assert rows[0] == rows[1]
        assert ("top_features" in rows[0]["details"]["decisions"][0]) is bool(pairs)


def test_a_refusal_holds_its_explanation_as_a_list(sl):
    sl(MODEL_SUSTAINED_ALONE=1)
    model = Explainer()
    decision = combine(_evidence(model))
    assert decision.action is Action.BLOCK
    assert decision.details["top_features"].__class__ is list and model.calls == 1


def test_begin_fills_the_context_by_name(rf):
    """The context is built positionally (no dict of keywords per request): every field where it belongs."""
    request = rf.get("/a/b", {"q": "1"}, HTTP_USER_AGENT="UA/1", HTTP_REFERER="https://shop.example/x",
                     HTTP_HOST="shop.example", HTTP_ACCEPT="text/html", HTTP_SEC_FETCH_DEST="document",
                     HTTP_SEC_FETCH_MODE="navigate", HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    owner = object()
    ctx = begin(request, owner)
    assert (ctx.method, ctx.path, ctx.user_agent, ctx.owner) == ("GET", "/a/b", "UA/1", owner)
    assert (ctx.referer, ctx.host, ctx.query, ctx.accept) == ("https://shop.example/x", "shop.example", "q=1",
                                                              "text/html")
    assert ctx.fetch == "document/navigate/" and ctx.xrw is True and ctx.exempt is False
    assert ctx.window_key is None and ctx.decisions == [] and ctx.refused_by is None and ctx.finished is False
    assert ctx.model_version == "" and ctx.user is None and ctx.params is None and ctx.response_headers is None
    assert abs(ctx.started - time.time()) < 60 and ctx.t0 <= time.perf_counter()


@pytest.mark.django_db
def test_without_the_validator_the_query_shapes_are_worked_out_by_the_writer(client, settings, monkeypatch,
                                                                              flush_logs):
    """No validator: the row still records the query string's names and shapes, and the request thread
    leaves the parsing to the log writer (it used to run it in ``finish``)."""
    from smartlayer.models import RequestLog
    from smartlayer.profile import params as param_shapes
    from tests.conftest import BROWSER_UA

    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.endswith("AIRequestValidator")]
    flush_logs()
    calls: list[int] = []
    real = param_shapes._pairs
    monkeypatch.setattr(param_shapes, "_pairs", lambda *a, **k: calls.append(1) or real(*a, **k))
    response = client.get("/page/1", {"q": "shoes", "page": "2"}, HTTP_USER_AGENT=BROWSER_UA,
                          REMOTE_ADDR="203.0.113.14")
    assert response.status_code == 200
    assert calls == []                            # nothing parsed on the request thread
    flush_logs()
    row = RequestLog.objects.get(path="/page/1")
    assert [p[:2] for p in row.params] == [["q", "q"], ["q", "page"]] and calls
    assert row.params == param_shapes.query_params("q=shoes&page=2")


def test_a_new_clients_first_request_is_not_counted_afresh(monkeypatch):
    """A new window's running counts start exact (no events, nothing counted): its first snapshot
    moves them forward instead of counting the window from scratch, with the same counts."""
    from smartlayer.state.windows import recent
    from smartlayer.state.windows.window import ClientWindow

    calls: list[int] = []
    real = recent.recent_of
    monkeypatch.setattr(recent, "recent_of", lambda *a: calls.append(1) or real(*a))
    win = ClientWindow(200)
    snaps = [win.arrive((1000.0, "GET", "/products/7", 0), 600.0)]
    win.complete((1000.0, 404, 2.0, False))
    snaps.append(win.arrive((1003.0, "GET", "/products/8", 1), 600.0))
    assert calls == [] and win.tally.fresh
    for snap in snaps:
        assert snap.counts == real(snap.arrivals, snap.outcomes, snap.now)
    assert snaps[1].counts.sequential_run_60s == 2 and snaps[1].counts.errors_2min == 1


def test_a_new_plain_ipv4_address_is_not_parsed_into_an_object(monkeypatch):
    """A new client's plain IPv4 address is its own text and key: no ``ipaddress`` object is made for
    it; every other form is parsed as before, and every answer is the parsed address's text."""
    import ipaddress
    import random

    from smartlayer.request import client

    calls: list[str] = []
    real = client.ipaddress.ip_address
    monkeypatch.setattr(client.ipaddress, "ip_address", lambda text: calls.append(text) or real(text))
    for cached in (client.address_text, client.parse_ip, client._address, client._ip_key_cached):
        cached.cache_clear()
    assert client.address_text("198.51.100.23") == "198.51.100.23"
    assert client.ip_key("198.51.100.23") == "ip:198.51.100.23"
    assert calls == []
    rng = random.Random(5)
    texts = ["1.2.3.04", " 1.2.3.4", "1.2.3.4:80", "256.1.1.1", "::ffff:1.2.3.4", "[2001:db8::1]:443", "0.0.0.0"]
    for _ in range(3000):
        texts.append(".".join(rng.choice([str(rng.randrange(300)), "0" + str(rng.randrange(30)), ""])
                              for _ in range(rng.choice([3, 4, 4, 5]))))
    for text in texts:
        for cached in (client.address_text, client.parse_ip, client._address, client._ip_key_cached):
            cached.cache_clear()
        addr = client.parse_ip(text)
        assert client.address_text(text) == (str(addr) if addr else None), text
        if addr is not None and isinstance(addr, ipaddress.IPv4Address):
            assert client.ip_key(text.strip()) == client.ip_key(str(addr)) == f"ip:{addr}", text
