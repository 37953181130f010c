"""The shared LLM client against a real HTTP server on loopback."""
from __future__ import annotations

import logging
import threading
import time

import pytest

from smartlayer import state
from smartlayer.llm import client as llm_client
from smartlayer.llm import status as llm_status
from smartlayer.llm.client import (
    CircuitBreaker,
    LLMCallFailed,
    LLMNotConfigured,
    LLMSkipped,
    get_client,
    parse_retry_after,
)
from tests.llm_server import (
    ai_settings,
    answer,
    closed_port_url,
    held,
    malformed,
    record_sleeps,
    slow,
    status,
    wrong_shape,
)

MESSAGES = [{"role": "user", "content": "hello"}]


# every test here starts with a clean LLM client, cache and counters (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("llm_isolated")


def test_sends_an_openai_compatible_request(server):
    server.script(answer("ALLOW"))
    with ai_settings(server.url):
        result = get_client().complete(MESSAGES, max_tokens=3)
    assert result.text == "ALLOW"
    assert result.attempts == 1
    received = server.requests[0]
    assert received["path"] == "/v1/chat/completions"
    assert received["headers"]["Authorization"] == "Bearer test-key"
    assert received["json"]["model"] == "fake-model"
    assert received["json"]["messages"] == MESSAGES
    assert received["json"]["max_tokens"] == 3
    assert state.metrics["llm.calls"] == 1


def test_not_configured_is_off_cleanly(server):
    with ai_settings(None):
        client = get_client()
        assert not client.is_configured()
        with pytest.raises(LLMNotConfigured):
            client.complete(MESSAGES)
    assert server.hits == 0


def test_status_is_logged_once(monkeypatch, caplog):
    monkeypatch.setattr(llm_status, "_status_logged", False)
    with ai_settings(None), caplog.at_level(logging.INFO, logger="smartlayer"):
        llm_status.log_status_once()
        llm_status.log_status_once()
    lines = [r.getMessage() for r in caplog.records if "LLM features" in r.getMessage()]
    assert lines == ["smartlayer: LLM features off (AI_BASE_URL not set); rules, model and pattern checks still run."]


def test_status_line_when_configured_names_model_not_key(monkeypatch, caplog, server):
    monkeypatch.setattr(llm_status, "_status_logged", False)
    with ai_settings(server.url), caplog.at_level(logging.INFO, logger="smartlayer"):
        llm_status.log_status_once()
    text = caplog.text
    assert "LLM features on (model fake-model at 127.0.0.1)" in text
    assert "test-key" not in text


def test_client_is_rebuilt_when_settings_change(server):
    with ai_settings(server.url):
        first = get_client()
        assert get_client() is first
    with ai_settings(server.url, AI_MODEL="other"):
        second = get_client()
    assert second is not first
    assert second.model == "other"


def test_retries_5xx_then_succeeds(server):
    server.script(status(500), status(503), answer("BLOCK"))
    with ai_settings(server.url, AI_RETRIES=2):
        result = get_client().complete(MESSAGES)
    assert result.text == "BLOCK"
    assert result.attempts == 3
    assert server.hits == 3
    assert state.metrics["llm.retries"] == 2


def test_gives_up_after_the_retries_and_reports(server):
    server.default = status(500)
    with ai_settings(server.url, AI_RETRIES=1), pytest.raises(LLMCallFailed, match="HTTP 500"):
        get_client().complete(MESSAGES)
    assert server.hits == 2
    assert state.metrics["failure.llm"] == 1


def test_429_honours_retry_after(server, monkeypatch):
    sleeps = record_sleeps(monkeypatch)
    server.script(status(429, Retry_After="1"), answer("ALLOW"))
    with ai_settings(server.url, AI_RETRY_MAX_DELAY=5):
        assert get_client().complete(MESSAGES).text == "ALLOW"
    assert server.hits == 2
    assert sleeps == [1]


def test_429_retry_after_is_capped(server, monkeypatch):
    sleeps = record_sleeps(monkeypatch)
    server.script(status(429, Retry_After="30"), answer("ALLOW"))
    with ai_settings(server.url, AI_RETRY_MAX_DELAY=0.2):
        assert get_client().complete(MESSAGES).text == "ALLOW"
    assert sleeps == [0.2]


def test_no_retry_on_4xx(server):
    server.default = status(401)
    with ai_settings(server.url, AI_RETRIES=3), pytest.raises(LLMCallFailed, match="HTTP 401"):
        get_client().complete(MESSAGES)
    assert server.hits == 1


@pytest.mark.parametrize("reply", [malformed(), wrong_shape(), answer(None)], ids=["bad-json", "shape", "null"])
def test_malformed_responses_fail_without_retry(server, reply):
    server.default = reply
    with ai_settings(server.url, AI_RETRIES=2), pytest.raises(LLMCallFailed, match="malformed"):
        get_client().complete(MESSAGES)
    assert server.hits == 1


def test_connection_refused_fails_fast_and_is_reported(monkeypatch):
    sleeps = record_sleeps(monkeypatch)
    with ai_settings(closed_port_url(), AI_RETRIES=1):
        with pytest.raises(LLMCallFailed, match="transport error"):
            get_client().complete(MESSAGES)
    assert len(sleeps) == 1 and sleeps[0] <= 0.01      # one retry after the short backoff, nothing waited for
    assert state.metrics["failure.llm"] == 1


def test_read_timeout(server):
    server.default = slow(1.5)
    with ai_settings(server.url, AI_READ_TIMEOUT=0.3, AI_RETRIES=0), pytest.raises(LLMCallFailed, match="timeout"):
        get_client().complete(MESSAGES)


def test_read_timeout_can_be_raised_per_call(server):
    server.default = slow(0.5, "long answer")
    with ai_settings(server.url, AI_READ_TIMEOUT=0.2, AI_RETRIES=0):
        assert get_client().complete(MESSAGES, read_timeout=3).text == "long answer"


def test_deadline_bounds_the_whole_call_including_retries(server, monkeypatch):
    sleeps = record_sleeps(monkeypatch)
    server.default = held()                 # past the read timeout (2 s): only the deadline ends the wait
    with ai_settings(server.url, AI_RETRIES=5):
        with pytest.raises(LLMCallFailed):
            get_client().complete(MESSAGES, deadline=time.monotonic() + 0.5)
        assert server.answered == 0         # it gave up before the answer came
    server.release()
    assert server.hits == 1 and sleeps == []    # and did not retry past the deadline


def test_breaker_opens_and_stops_calling(server):
    server.default = status(500)
    with ai_settings(server.url, AI_RETRIES=0, AI_BREAKER_FAILURES=3, AI_BREAKER_COOLDOWN=60):
        client = get_client()
        for _ in range(3):
            with pytest.raises(LLMCallFailed):
                client.complete(MESSAGES)
        assert client.breaker.state == "open"
        for _ in range(5):
            with pytest.raises(LLMSkipped, match="breaker"):
                client.complete(MESSAGES)
    assert server.hits == 3
    assert state.metrics["llm.skipped_breaker_open"] == 5
    assert state.metrics["failure.llm-breaker"] == 1


def test_breaker_opening_ends_the_retries(server):
    server.default = status(503)
    with ai_settings(server.url, AI_RETRIES=10, AI_BREAKER_FAILURES=2, AI_BREAKER_COOLDOWN=60):
        with pytest.raises(LLMCallFailed, match="HTTP 503"):
            get_client().complete(MESSAGES)
    assert server.hits == 2


def test_breaker_half_open_probe_closes_on_success(server):
    server.script(status(500), status(500))
    server.default = answer("ALLOW")
    with ai_settings(server.url, AI_RETRIES=0, AI_BREAKER_FAILURES=2, AI_BREAKER_COOLDOWN=0.3):
        client = get_client()
        for _ in range(2):
            with pytest.raises(LLMCallFailed):
                client.complete(MESSAGES)
        with pytest.raises(LLMSkipped):
            client.complete(MESSAGES)
        time.sleep(0.35)
        assert client.breaker.state == "half-open"
        assert client.complete(MESSAGES).text == "ALLOW"
        assert client.breaker.state == "closed"
    assert server.hits == 3


def test_breaker_failed_probe_reopens():
    now = [0.0]
    breaker = CircuitBreaker(2, 10, clock=lambda: now[0])
    breaker.record_failure()
    assert breaker.record_failure() is True
    assert not breaker.allow()
    now[0] = 11
    assert breaker.allow()            # the probe
    assert not breaker.allow()        # only one probe at a time
    assert breaker.record_failure() is True
    assert breaker.state == "open"
    now[0] = 22
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == "closed"


def test_lost_probe_frees_its_slot_after_a_cooldown():
    now = [0.0]
    breaker = CircuitBreaker(1, 10, clock=lambda: now[0])
    breaker.record_failure()
    now[0] = 10
    assert breaker.allow()
    now[0] = 15
    assert not breaker.allow()
    now[0] = 20
    assert breaker.allow()


def test_daily_budget_exhausted_means_no_call(server):
    with ai_settings(server.url, AI_DAILY_BUDGET=2):
        client = get_client()
        client.complete(MESSAGES)
        client.complete(MESSAGES)
        with pytest.raises(LLMSkipped, match="budget"):
            client.complete(MESSAGES)
    assert server.hits == 2
    assert state.metrics["llm.skipped_budget"] == 1
    assert state.metrics["failure.llm-budget"] == 1


def test_budget_is_shared_by_clients_through_the_cache(server):
    with ai_settings(server.url, AI_DAILY_BUDGET=1):
        get_client().complete(MESSAGES)
    with ai_settings(server.url, AI_DAILY_BUDGET=1, AI_MODEL="another"):
        with pytest.raises(LLMSkipped):
            get_client().complete(MESSAGES)
    assert server.hits == 1


def test_worker_pool_runs_tasks(server):
    with ai_settings(server.url):
        future = get_client().submit(lambda: get_client().complete(MESSAGES).text)
        assert future.result(timeout=5) == "ALLOW"


def test_queue_full_skips_and_counts(server):
    release = threading.Event()
    with ai_settings(server.url, AI_MAX_WORKERS=1, AI_QUEUE_SIZE=2):
        client = get_client()
        held = [client.submit(release.wait, 5) for _ in range(2)]
        assert all(f is not None for f in held)
        assert client.submit(release.wait, 5) is None
        assert state.metrics["llm.skipped_queue_full"] == 1
        release.set()
        for f in held:
            f.result(timeout=5)
        assert client.submit(lambda: "room again") is not None


def test_task_exceptions_are_reported_not_lost(server):
    def boom():
        raise RuntimeError("task failure")

    with ai_settings(server.url):
        future = get_client().submit(boom)
        assert future.result(timeout=5) is None
    assert state.metrics["failure.llm-task"] == 1


def test_background_threads_are_bounded(server):
    server.default = slow(0.2)
    with ai_settings(server.url, AI_MAX_WORKERS=2, AI_QUEUE_SIZE=50):
        client = get_client()
        futures = [client.submit(client.complete, MESSAGES) for _ in range(20)]
        assert all(f is not None for f in futures)
        workers = {t.name for t in threading.enumerate() if t.name.startswith("smartlayer-llm_")}
        for f in futures:
            f.result(timeout=10)
    assert len(workers) == 2
    assert server.hits == 20


def test_shutdown_closes_the_client(server):
    with ai_settings(server.url):
        first = get_client()
        llm_client.shutdown()
        assert get_client() is not first
        assert first.submit(lambda: None) is None


@pytest.mark.parametrize(("value", "expected"), [
    ("3", 3.0), (" 0 ", 0.0), ("-4", 0.0), ("soon", None), (None, None),
    ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0),
])
def test_parse_retry_after(value, expected):
    now = 1445412480.0  # 07:28:00 that day
    assert parse_retry_after(value, now=now) == expected


def test_queued_calls_are_cancelled_at_interpreter_exit(server):
    """threading's exit stage runs our hook first (reversed order), so queued calls never start."""
    import threading as th
    from concurrent.futures import thread as futures_thread

    from smartlayer import state
    from smartlayer.llm import client as llm_client

    hooks = [getattr(h, "func", h) for h in th._threading_atexits]
    # run in reverse order of registration: ours before concurrent.futures' join of the pool
    assert hooks.index(llm_client._cancel_at_exit) > hooks.index(futures_thread._python_exit)
    server.default = slow(0.5, "ALLOW")
    with ai_settings(server.url, AI_MAX_WORKERS=1, AI_QUEUE_SIZE=10):
        shared = llm_client.get_client()
        futures = [shared.submit(shared.complete, [{"role": "user", "content": "x"}]) for _ in range(5)]
        time.sleep(0.1)  # the first call is running
        llm_client._cancel_at_exit()
        cancelled = sum(f.cancelled() for f in futures if f is not None)
    assert cancelled >= 3 and state.metrics["llm.cancelled_at_exit"] == cancelled
