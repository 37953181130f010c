"""Fixtures shared by the whole suite.

Every test starts with an empty cache, fresh windows, a fresh log writer and
fresh failure counters, so no state leaks between tests.
"""
from __future__ import annotations

import pytest
from django.core.cache import caches


@pytest.fixture(autouse=True)
def _fresh_state(settings):
    from smartlayer import state
    from smartlayer.conf import reload
    from smartlayer.log.writer import reset_writer
    from smartlayer.ml.runtime import reset_runtime
    from smartlayer.state import ban_mirror, ban_persist, bans
    from smartlayer.state.bus import reset_bus
    from smartlayer.state.windows import reset_window_store

    reload()
    reset_runtime()
    for alias in settings.CACHES:
        try:
            caches[alias].clear()
        except Exception:  # an integration cache may be unreachable; its tests skip
            pass
    reset_window_store()
    reset_bus()
    ban_mirror.reset_mirror()
    reset_writer()
    ban_persist.reset()
    bans.reset_sync_timer()
    bans.reset_known()
    state.metrics.clear()
    state.reset_failure_log()
    yield
    reset_writer()
    reset_window_store()
    reset_bus()
    ban_mirror.reset_mirror()


@pytest.fixture
def sl(settings):
    """Set SMART_MIDDLEWARE keys for one test: ``sl(BAN_TTL=5)``."""

    def apply(**values):
        settings.SMART_MIDDLEWARE = {**settings.SMART_MIDDLEWARE, **values}

    return apply


@pytest.fixture
def flush_logs():
    from smartlayer.log.writer import get_writer

    def flush():
        assert get_writer().flush(timeout=10)

    return flush


BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


@pytest.fixture
def browser(client):
    """The Django test client with a browser user agent and a fixed IP."""
    client.defaults.update(HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR="203.0.113.10")
    return client


@pytest.fixture
def llm_isolated():
    """A clean LLM client, cache and counters before; the client's pool drained after."""
    from tests.llm_server import isolated_llm_state

    with isolated_llm_state():
        yield


@pytest.fixture
def server(llm_isolated):
    """A fake OpenAI-compatible server on loopback (tests/llm_server.py)."""
    from tests.llm_server import FakeLLMServer

    with FakeLLMServer() as srv:
        yield srv


@pytest.fixture
def hops(monkeypatch) -> list[str]:
    """The hops to a worker thread the middleware makes, by the function each runs."""
    seen: list[str] = []
    from smartlayer.http import middleware as mw

    real = mw.sync_to_async

    def counting(func, *args, **kwargs):
        seen.append(getattr(func, "__name__", "?"))
        return real(func, *args, **kwargs)

    monkeypatch.setattr(mw, "sync_to_async", counting)
    return seen
