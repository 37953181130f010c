"""Fixtures of the integration tests: the real Redis and PostgreSQL services.

They are named by ``SMARTLAYER_TEST_REDIS_URL`` / ``SMARTLAYER_TEST_DATABASE_URL``
(``.ci/run`` sets both when the services answer).  When a variable is unset
the tests needing that service are **skipped with the reason shown** in
pytest's summary (``-ra`` is in the default options) — never silently passed.
When it is set but the service does not answer, they fail: a configured CI
service that is down is a broken build, not a skip.

Redis is only ever cleared through the ``redis`` cache alias (the test
database, 15 in CI) or by this suite's key prefix; never the whole server.
"""
from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator

import pytest


def _required_env(name: str, example: str, service: str) -> str:
    """The service URL from the environment, or a skip that says what is missing."""
    url = os.environ.get(name)
    if not url:
        pytest.skip(f"{name} not set: no {service} to test against (e.g. {example}; .ci/run sets it when "
                    f"{service} answers)")
    return url


@pytest.fixture
def redis_url() -> str:
    return _required_env("SMARTLAYER_TEST_REDIS_URL", "redis://127.0.0.1:6379/15", "Redis")


@pytest.fixture
def database_url() -> str:
    return _required_env("SMARTLAYER_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test", "PostgreSQL")


@pytest.fixture
def redis_alias(redis_url, settings, sl) -> str:
    """smartlayer on Django's RedisCache (the ``redis`` alias of tests/settings.py)."""
    from django.core.cache import caches

    assert settings.CACHES["redis"]["BACKEND"].endswith("RedisCache")
    caches["redis"].set("sl-integration-ping", 1, timeout=5)  # fails loudly when configured but down
    sl(CACHE_ALIAS="redis")
    return "redis"


class TcpProxy:
    """A loopback TCP forwarder that can be taken down and brought back on the same port.

    Stands in for "Redis went away and came back" without touching the
    machine's Redis server: :meth:`down` closes the listener and every
    forwarded connection (clients see resets, then refused connections);
    :meth:`up` listens again on the same port.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    def up(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            listener.close()
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # listener closed by down()
            try:
                upstream = socket.create_connection(self.target, timeout=2)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@pytest.fixture
def redis_proxy(redis_url) -> Iterator[TcpProxy]:
    """A :class:`TcpProxy` in front of the test Redis."""
    from urllib.parse import urlparse

    parts = urlparse(redis_url)
    proxy = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 6379))
    proxy.up()
    try:
        yield proxy
    finally:
        proxy.down()


@pytest.fixture
def make_model_version():
    """``make(store, name)``: a small, real, verifiable model version in ``store``, registered.

    Built the way training builds one (a fitted IsolationForest, compiled,
    saved with its manifest, registered with the manifest's sha256) but in
    well under a second, so activation can be tested without a training run.
    The threshold is 1.0, which no score reaches: the model never blocks.
    """

    def make(store, name: str):
        import numpy as np
        from sklearn.ensemble import IsolationForest

        from smartlayer.ml import registry
        from smartlayer.ml.features import FEATURE_NAMES, FEATURE_SET_VERSION
        from smartlayer.ml.forest import CompiledForest

        n = len(FEATURE_NAMES)
        X = np.random.default_rng(0).normal(size=(128, n))
        est = IsolationForest(n_estimators=5, max_samples=32, random_state=0).fit(X)
        manifest = {"feature_set": FEATURE_SET_VERSION, "feature_names": list(FEATURE_NAMES), "threshold": 1.0,
                    "feature_stats": {"median": [0.0] * n, "scale": [1.0] * n}, "samples": len(X)}
        store.save(name, estimator=est, forest=CompiledForest.from_estimator(est), manifest=manifest)
        return registry.register(store.read_manifest(name), sha256=store.manifest_sha256(name))

    return make


@pytest.fixture
def gunicorn(transactional_db, redis_alias, redis_url, database_url, tmp_path):
    """``start(smart_settings) -> server``: gunicorn with 4 workers (:mod:`tests.integration.live`)."""
    from tests.integration.live import start_gunicorn

    yield from start_gunicorn(tmp_path, redis_url)
