"""One HTTP client for any OpenAI-compatible chat-completions API.

Why one client and not a call per use: the request path must never pay for a
new TCP/TLS connection, must never start a thread per request, and must stop
hammering a provider that is down.  So a process has one :class:`LLMClient`
(see :func:`get_client`), holding

* an ``httpx.Client`` — pooled keep-alive connections, connect and read
  timeouts from ``AI_CONNECT_TIMEOUT`` / ``AI_READ_TIMEOUT``;
* retries with exponential back-off and jitter on 429 (``Retry-After``
  honoured up to ``AI_RETRY_MAX_DELAY``), 5xx and transport errors — never on
  other 4xx, which will not get better by asking again;
* a :class:`CircuitBreaker`: after ``AI_BREAKER_FAILURES`` consecutive failed
  attempts no call is made for ``AI_BREAKER_COOLDOWN`` seconds, then one
  probe is let through (half-open) and decides whether to close again;
* an optional ``AI_DAILY_BUDGET``: HTTP attempts per UTC day, counted in the
  cache with ``add`` + ``incr`` so every worker process shares it;
* a bounded pool for background calls: ``AI_MAX_WORKERS`` threads and at most
  ``AI_QUEUE_SIZE`` tasks waiting or running.  A task that does not fit is
  dropped and counted (``llm.skipped_queue_full``).

Every failure is reported through :func:`smartlayer.state.failures.report_failure`
(logged once per interval, always counted) and raised as an
:class:`LLMError`, which callers turn into "no verdict" — smartlayer fails open.
The breaker and the worker pool are per process; the budget is per cache.
"""
from __future__ import annotations

import itertools
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import httpx

from .. import state
from ..conf import sl_settings
from ..state import prom
from ..state.singleton import ProcessSingleton
from .breaker import (
    CircuitBreaker,
    LLMBreakerOpen,
    LLMCallFailed,
    LLMError,
    LLMNotConfigured,
    LLMSkipped,
    parse_retry_after,
)
from .status import REQUIRED_SETTINGS, missing_settings

#: What callers catch and test against, importable from the client as before.
__all__ = ["BUDGET_KEY_TIMEOUT", "MAX_RESPONSE_BYTES", "CircuitBreaker", "Completion", "LLMBreakerOpen",
           "LLMCallFailed", "LLMClient", "LLMError", "LLMNotConfigured", "LLMSkipped", "get_client",
           "missing_settings", "parse_retry_after", "shutdown"]

logger = logging.getLogger("smartlayer")

#: Largest answer read from the provider; anything longer is a malformed answer.
MAX_RESPONSE_BYTES = 256 * 1024
#: The daily budget counter outlives its UTC day a little, so it never resets early.
BUDGET_KEY_TIMEOUT = 26 * 3600


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    latency_ms: float
    attempts: int


def _extract_content(raw: bytes) -> str:
    """``choices[0].message.content`` of a chat-completions answer, or LLMCallFailed."""
    try:
        data = json.loads(raw)
        content = data["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise LLMCallFailed(f"malformed response ({type(exc).__name__})") from None
    if not isinstance(content, str):
        raise LLMCallFailed("malformed response (content is not text)")
    return content


class LLMClient:
    """See the module docstring.  Build with :meth:`from_settings`; share via :func:`get_client`."""

    def __init__(self, *, api_key: str | None, base_url: str | None, model: str | None,
                 connect_timeout: float = 2.0, read_timeout: float = 10.0, retries: int = 2,
                 backoff_base: float = 0.5, retry_max_delay: float = 10.0,
                 breaker_failures: int = 5, breaker_cooldown: float = 60.0,
                 daily_budget: int | None = None, max_workers: int = 2, queue_size: int = 100) -> None:
        self.api_key = api_key or ""
        self.base_url = (base_url or "").rstrip("/")
        self.model = model or ""
        self.url = f"{self.base_url}/chat/completions"
        self.connect_timeout = float(connect_timeout)
        self.read_timeout = float(read_timeout)
        self.retries = max(0, int(retries or 0))
        self.backoff_base = max(0.0, float(backoff_base))
        self.retry_max_delay = max(0.0, float(retry_max_delay))
        self.daily_budget = int(daily_budget) if daily_budget else None
        self.max_workers = max(1, int(max_workers or 1))
        self.queue_size = max(1, int(queue_size or 1))
        self.breaker = CircuitBreaker(breaker_failures, breaker_cooldown)
        self._http = httpx.Client(
            timeout=httpx.Timeout(self.read_timeout, connect=self.connect_timeout),
            limits=httpx.Limits(max_connections=self.max_workers + 8, max_keepalive_connections=self.max_workers + 2),
            headers={"Authorization": f"Bearer {self.api_key}", "User-Agent": "smartlayer"},
            follow_redirects=False,
        )
        self._slots = threading.BoundedSemaphore(self.queue_size)
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._closed = False

    @classmethod
    def from_settings(cls) -> LLMClient:
        s = sl_settings
        return cls(
            api_key=s.AI_API_KEY, base_url=s.AI_BASE_URL, model=s.AI_MODEL,
            connect_timeout=s.AI_CONNECT_TIMEOUT, read_timeout=s.AI_READ_TIMEOUT, retries=s.AI_RETRIES,
            backoff_base=s.AI_BACKOFF_BASE, retry_max_delay=s.AI_RETRY_MAX_DELAY,
            breaker_failures=s.AI_BREAKER_FAILURES, breaker_cooldown=s.AI_BREAKER_COOLDOWN,
            daily_budget=s.AI_DAILY_BUDGET, max_workers=s.AI_MAX_WORKERS, queue_size=s.AI_QUEUE_SIZE,
        )

    def is_configured(self) -> bool:
        return bool(self.api_key and self.base_url and self.model)

    # ── synchronous calls ─────────────────────────────────────────────────

    def complete(self, messages: list[dict[str, str]], *, max_tokens: int = 16, temperature: float = 0.0,
                 deadline: float | None = None, read_timeout: float | None = None) -> Completion:
        """Ask the model; return its text or raise :class:`LLMError` (already reported).

        ``deadline`` is a ``time.monotonic()`` instant bounding the whole call,
        retries and back-off included; without it each attempt is bounded by
        the connect/read timeouts and the retries by ``AI_RETRIES``.
        ``read_timeout`` overrides ``AI_READ_TIMEOUT`` for calls that are
        expected to be slow (the daily report's long answer).
        """
        if not self.is_configured():
            missing = [name for name, value in zip(REQUIRED_SETTINGS, (self.api_key, self.base_url, self.model), strict=True)
                       if not value]
            raise LLMNotConfigured("not configured: " + ", ".join(missing))
        body = {"model": self.model, "messages": messages, "max_tokens": max_tokens, "temperature": temperature}
        started = time.monotonic()
        last_error: LLMCallFailed | None = None
        for attempt in itertools.count(1):
            try:
                self._admit()
            except LLMSkipped as exc:
                prom.llm_call("skipped" if last_error is None else "failed")
                if last_error is None:
                    if isinstance(exc, LLMBreakerOpen):
                        state.count("llm.skipped_breaker_open")
                    raise
                state.report_failure("llm", last_error)  # breaker or budget ended the retries
                raise last_error from None
            try:
                text = self._attempt(body, self._timeout(deadline, read_timeout), deadline)
            except LLMCallFailed as exc:
                last_error = exc
                if self.breaker.record_failure():
                    state.report_failure("llm-breaker", f"circuit breaker opened for {self.breaker.cooldown:g}s after: {exc}")
                delay = self._retry_delay(exc, attempt, deadline)
                if delay is None:
                    state.report_failure("llm", exc)
                    prom.llm_call("failed")
                    raise
                state.count("llm.retries")
                time.sleep(delay)
                continue
            self.breaker.record_success()
            state.count("llm.calls")
            prom.llm_call("ok", time.monotonic() - started)
            return Completion(text=text, latency_ms=(time.monotonic() - started) * 1000, attempts=attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _admit(self) -> None:
        """Breaker, then budget.  Raises LLMBreakerOpen or LLMSkipped (budget: counted and logged)."""
        if not self.breaker.allow():
            raise LLMBreakerOpen("circuit breaker open")
        try:
            self._take_budget()
        except LLMSkipped:
            self.breaker.cancel_probe()
            raise

    def _take_budget(self) -> None:
        """Count one attempt against ``AI_DAILY_BUDGET`` (per UTC day, shared through the cache).

        When the cache cannot count, the call is skipped: an unenforceable
        budget must not turn into an unbounded bill.
        """
        if not self.daily_budget:
            return
        day = datetime.now(timezone.utc).date().isoformat()
        try:
            used = state.incr(state.make_key("llm-budget", day), BUDGET_KEY_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - any cache failure
            state.report_failure("cache", exc)
            raise LLMSkipped("daily budget unknown (cache error)") from None
        if used > self.daily_budget:
            state.count("llm.skipped_budget")
            state.report_failure("llm-budget", f"daily budget of {self.daily_budget} calls used up")
            raise LLMSkipped("daily budget exhausted")

    def _timeout(self, deadline: float | None, read_timeout: float | None = None) -> httpx.Timeout:
        """Per-attempt timeouts, never beyond the deadline."""
        read = self.read_timeout if read_timeout is None else float(read_timeout)
        if deadline is None:
            return httpx.Timeout(read, connect=self.connect_timeout)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise LLMCallFailed("timeout (budget used up)")
        connect = min(self.connect_timeout, remaining)
        return httpx.Timeout(min(read, remaining), connect=connect, pool=connect)

    def _attempt(self, body: dict[str, Any], timeout: httpx.Timeout, deadline: float | None) -> str:
        """One HTTP request.  Transport problems and 429/5xx are retryable, other 4xx are not.

        Without a call deadline, one attempt still ends after connect + 2 × read
        timeout, so a server trickling bytes cannot hold a worker forever.
        """
        if deadline is None:
            deadline = time.monotonic() + float(timeout.connect or 0) + 2 * float(timeout.read or 0)
        try:
            with self._http.stream("POST", self.url, json=body, timeout=timeout) as resp:
                raw = self._read_body(resp, deadline)
        except httpx.TimeoutException:
            raise LLMCallFailed("timeout", retryable=True) from None
        except httpx.HTTPError as exc:
            raise LLMCallFailed(f"transport error ({type(exc).__name__})", retryable=True) from None
        status = resp.status_code
        if status == 429:
            raise LLMCallFailed("HTTP 429", retryable=True, retry_after=parse_retry_after(resp.headers.get("Retry-After")))
        if status >= 500:
            raise LLMCallFailed(f"HTTP {status}", retryable=True)
        if status >= 300:
            raise LLMCallFailed(f"HTTP {status}")
        return _extract_content(raw)

    @staticmethod
    def _read_body(resp: httpx.Response, deadline: float) -> bytes:
        """Read at most MAX_RESPONSE_BYTES, and stop at the deadline even if the server trickles."""
        chunks: list[bytes] = []
        size = 0
        for chunk in resp.iter_bytes():
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                raise LLMCallFailed("malformed response (too large)")
            if time.monotonic() > deadline:
                raise LLMCallFailed("timeout (budget used up)")
            chunks.append(chunk)
        return b"".join(chunks)

    def _retry_delay(self, exc: LLMCallFailed, attempt: int, deadline: float | None) -> float | None:
        """Seconds to wait before the next attempt, or None when there is none to make."""
        if not exc.retryable or attempt > self.retries:
            return None
        if exc.retry_after is not None:
            delay = min(exc.retry_after, self.retry_max_delay)
        else:
            delay = min(self.backoff_base * 2 ** (attempt - 1), self.retry_max_delay) * random.uniform(0.5, 1.0)
        if deadline is not None and time.monotonic() + delay >= deadline:
            return None  # no retries beyond the budget
        return delay

    # ── background calls ──────────────────────────────────────────────────

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future | None:
        """Run ``fn`` on the worker pool; None (counted) when AI_QUEUE_SIZE tasks are already pending.

        Exceptions escaping ``fn`` are reported, never lost in a Future nobody reads.
        """
        if not self._slots.acquire(blocking=False):
            state.count("llm.skipped_queue_full")
            state.report_failure("llm-queue", f"background queue full ({self.queue_size}); call skipped")
            return None
        try:
            future = self._pool().submit(self._run_task, fn, args, kwargs)
        except RuntimeError as exc:  # the pool is shut down
            self._slots.release()
            state.report_failure("llm-queue", exc)
            return None
        future.add_done_callback(lambda _f: self._slots.release())
        return future

    @staticmethod
    def _run_task(fn: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - a background task must never fail silently
            state.report_failure("llm-task", exc)
            return None

    def _pool(self) -> ThreadPoolExecutor:
        """The executor, created on first use so processes without AI work start no threads."""
        with self._lock:
            if self._closed:
                raise RuntimeError("LLM client is closed")
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.max_workers, thread_name_prefix="smartlayer-llm")
            return self._executor

    def close(self, *, wait: bool = True) -> None:
        """Stop taking tasks; with ``wait`` finish the pending ones, else drain them in the background."""
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is None:
            self._http.close()
        elif wait:
            executor.shutdown(wait=True)
            self._http.close()
        else:
            threading.Thread(target=self._drain, args=(executor,), name="smartlayer-llm-close", daemon=True).start()

    def _drain(self, executor: ThreadPoolExecutor) -> None:
        executor.shutdown(wait=True)
        self._http.close()

    def cancel_queued(self) -> None:
        """Drop the calls that have not started (interpreter exit); running ones finish."""
        with self._lock:
            self._closed = True
            executor = self._executor
        if executor is not None:
            pending = executor._work_queue.qsize()
            executor.shutdown(wait=False, cancel_futures=True)
            if pending:
                state.count("llm.cancelled_at_exit", pending)


# ── the process-wide client ────────────────────────────────────────────────

_client: ProcessSingleton[LLMClient] = ProcessSingleton(
    "LLM client", LLMClient.from_settings, per_settings=True,
    retire=lambda old: old.close(wait=False), close=lambda old: old.close(wait=True))


def get_client() -> LLMClient:
    """The shared client, rebuilt when the settings change (``override_settings`` in tests)."""
    return _client.get()


def _cancel_at_exit() -> None:
    client = _client.peek()
    if client is not None:
        client.cancel_queued()


# Interpreter exit first drains every queued pool task (concurrent.futures
# does that in threading's exit stage, before atexit hooks), so a full queue
# of slow LLM calls would hold a worker's shutdown for minutes.  Cancel the
# calls that have not started, at that same earlier stage.
if hasattr(threading, "_register_atexit"):
    threading._register_atexit(_cancel_at_exit)


def shutdown(*, wait: bool = True) -> None:
    """Close the shared client (pending background calls finish first when ``wait``)."""
    client = _client.take()
    if client is not None:
        client.close(wait=wait)
