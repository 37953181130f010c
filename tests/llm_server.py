"""A fake OpenAI-compatible chat-completions server on loopback, for the LLM tests.

Real HTTP on 127.0.0.1 (port 0), so the tests exercise the real client:
connection pooling, timeouts, status codes, headers.  Each test scripts the
replies it needs (:meth:`FakeLLMServer.script`, :attr:`FakeLLMServer.default`)
and reads back what the server received (:attr:`FakeLLMServer.requests`).
Nothing here reaches the internet.

Budgets and deadlines are tested by order of events, never by timing a call:
a :func:`held` reply is sent only once the test calls
:meth:`FakeLLMServer.release` — after the call under test returned — so a
client that respects its budget never sees it, and one that waits for it
gets it (after at most :data:`HOLD_LIMIT` seconds) and fails the test by what
it answers.  :func:`record_sleeps` counts the delays between attempts.
"""
from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from django.conf import settings
from django.test import override_settings

API_PATH = "/v1/chat/completions"
#: Longest a held reply waits for release(); longer than any read timeout the tests give the client.
HOLD_LIMIT = 10.0


@dataclass
class Reply:
    """One scripted reply: an answer, an error status, a raw body, optionally after a delay."""

    status: int = 200
    text: str | None = "ALLOW"
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    held: bool = False

    def payload(self) -> bytes:
        if self.body is not None:
            return self.body
        if self.status != 200:
            return json.dumps({"error": {"message": f"fake error {self.status}"}}).encode()
        return json.dumps({
            "id": "chatcmpl-fake", "object": "chat.completion", "model": "fake-model",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": self.text},
                         "finish_reason": "stop"}],
        }).encode()


def answer(text: str, *, delay: float = 0.0) -> Reply:
    return Reply(text=text, delay=delay)


def slow(seconds: float, text: str = "ALLOW") -> Reply:
    return Reply(text=text, delay=seconds)


def held(text: str = "ALLOW") -> Reply:
    """An answer sent only after :meth:`FakeLLMServer.release` (or :data:`HOLD_LIMIT` seconds)."""
    return Reply(text=text, held=True)


def status(code: int, **headers: str) -> Reply:
    return Reply(status=code, headers={k.replace("_", "-"): v for k, v in headers.items()})


def malformed() -> Reply:
    return Reply(body=b'{"choices": [ this is not json')


def wrong_shape() -> Reply:
    return Reply(body=json.dumps({"result": "ALLOW"}).encode())


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = None
        self.server.owner.record({"path": self.path, "headers": dict(self.headers), "json": body})
        reply = self.server.owner.next_reply() if self.path == API_PATH else Reply(status=404)
        if reply.delay:
            time.sleep(reply.delay)
        if reply.held:
            self.server.owner.released.wait(HOLD_LIMIT)
        self.server.owner.note_answer()
        data = reply.payload()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout tests)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output clean
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: FakeLLMServer


class FakeLLMServer:
    """Start with ``with FakeLLMServer() as server:``; point AI_BASE_URL at :attr:`url`."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answered = 0                       # replies sent (or being sent)
        self.released = threading.Event()      # lets held replies go
        self.default: Reply = answer("ALLOW")
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-llm", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def hits(self) -> int:
        with self._lock:
            return len(self.requests)

    def script(self, *replies: Reply) -> None:
        """Replies for the next requests, in order; afterwards :attr:`default` answers."""
        with self._lock:
            self._script.extend(replies)

    def next_reply(self) -> Reply:
        with self._lock:
            return self._script.popleft() if self._script else self.default

    def note_answer(self) -> None:
        with self._lock:
            self.answered += 1

    def release(self) -> None:
        """Send the held replies."""
        self.released.set()

    def record(self, request: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(request)

    def messages(self, index: int = -1) -> list[dict[str, str]]:
        """The chat messages of a received request (the last one by default)."""
        with self._lock:
            return self.requests[index]["json"]["messages"]

    def start(self) -> FakeLLMServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class _SleepRecorder:
    """Stands in for ``time`` in smartlayer.llm.client: records each delay it sleeps between
    attempts, and sleeps it only when ``really`` (a deadline needs the time to pass)."""

    def __init__(self, really: bool) -> None:
        self.delays: list[float] = []
        self._really = really

    def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)
        if self._really:
            time.sleep(seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def record_sleeps(monkeypatch: Any, *, really: bool = False) -> list[float]:
    """The delays the LLM client sleeps between attempts, in order (not slept unless ``really``)."""
    from smartlayer.llm import client

    recorder = _SleepRecorder(really)
    monkeypatch.setattr(client, "time", recorder)
    return recorder.delays


def closed_port_url() -> str:
    """A loopback URL nobody listens on: connections are refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def ai_settings(base_url: str | None, **overrides: Any) -> override_settings:
    """The test settings plus a working AI configuration (fast retries) pointing at ``base_url``."""
    ai = {
        "AI_API_KEY": "test-key", "AI_BASE_URL": base_url, "AI_MODEL": "fake-model",
        "AI_BACKOFF_BASE": 0.01, "AI_RETRY_MAX_DELAY": 0.2, "AI_CONNECT_TIMEOUT": 1.0, "AI_READ_TIMEOUT": 2.0,
    }
    return override_settings(SMART_MIDDLEWARE={**settings.SMART_MIDDLEWARE, **ai, **overrides})


@contextmanager
def isolated_llm_state() -> Iterator[None]:
    """Empty cache and counters before a test; the shared LLM client drained and closed after."""
    from django.core.cache import cache

    from smartlayer import state
    from smartlayer.llm import client

    cache.clear()
    state.metrics.clear()
    state.reset_failure_log()
    try:
        yield
    finally:
        client.shutdown(wait=True)
        cache.clear()
