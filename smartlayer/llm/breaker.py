"""What can go wrong with an LLM call, and the breaker that stops asking a provider that is down.

No HTTP library here: the errors and the breaker are what callers (the
verdicts, the daily report) need to know about, without importing httpx.
"""
from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable
from datetime import timezone


class LLMError(Exception):
    """No usable answer was obtained.  ``str(exc)`` is short enough for a log column."""


class LLMNotConfigured(LLMError):
    """AI_API_KEY, AI_BASE_URL or AI_MODEL is missing."""


class LLMSkipped(LLMError):
    """The call was not attempted: breaker open, budget used up, or queue full."""


class LLMBreakerOpen(LLMSkipped):
    """The circuit breaker refused the call."""


class LLMCallFailed(LLMError):
    """The provider was asked and did not give a usable answer."""

    def __init__(self, message: str, *, retryable: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class CircuitBreaker:
    """Consecutive-failure breaker: closed → open (cooldown) → half-open (one probe).

    A probe that never reports back (its caller was refused by the budget, or
    crashed) frees its slot after another cooldown, so the breaker cannot get
    stuck half-open.  ``failures <= 0`` disables the breaker.
    """

    def __init__(self, failures: int, cooldown: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.failures = int(failures or 0)
        self.cooldown = float(cooldown or 0)
        self._clock = clock
        self._lock = threading.Lock()
        self._consecutive = 0
        self._opened_at: float | None = None
        self._probe_at: float | None = None

    @property
    def state(self) -> str:
        with self._lock:
            if self._opened_at is None:
                return "closed"
            if self._probe_at is not None or self._clock() - self._opened_at >= self.cooldown:
                return "half-open"
            return "open"

    def is_open(self) -> bool:
        """True while calls are refused without a probe being possible."""
        return self.state == "open"

    def allow(self) -> bool:
        """May an attempt be made now?  In half-open state, only one caller gets True."""
        if self.failures <= 0:
            return True
        with self._lock:
            if self._opened_at is None:
                return True
            now = self._clock()
            if now - self._opened_at < self.cooldown:
                return False
            if self._probe_at is not None and now - self._probe_at < self.cooldown:
                return False  # a probe is in flight
            self._probe_at = now
            return True

    def cancel_probe(self) -> None:
        """The attempt allowed by :meth:`allow` was not made after all."""
        with self._lock:
            self._probe_at = None

    def record_success(self) -> None:
        with self._lock:
            self._consecutive = 0
            self._opened_at = None
            self._probe_at = None

    def record_failure(self) -> bool:
        """Count a failed attempt; True when this failure (re)opened the breaker."""
        if self.failures <= 0:
            return False
        with self._lock:
            self._consecutive += 1
            if self._probe_at is not None or (self._opened_at is None and self._consecutive >= self.failures):
                self._opened_at = self._clock()
                self._probe_at = None
                return True
            return False


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)
