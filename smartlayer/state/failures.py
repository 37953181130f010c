"""Failure accounting: fail open, never silently.

Failures of the cache (or the database, or the LLM) must never take the site
down.  :func:`report_failure` logs a recurring failure once per
``FAILURE_LOG_INTERVAL`` and counts every occurrence in :data:`metrics`, so
failing open is never silent.  ``smartlayer_status`` and the metrics
endpoint read the same counters.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import Counter

from ..conf import sl_settings
from . import prom

logger = logging.getLogger("smartlayer")

#: Process-wide counters of everything smartlayer had to swallow or drop.
metrics: Counter = Counter()
_metrics_lock = threading.Lock()
_last_logged: dict[str, float] = {}


def count(name: str, n: int = 1) -> None:
    with _metrics_lock:
        metrics[name] += n
    if prom.ON:
        prom.event(name, n)


def report_failure(kind: str, exc: BaseException | str, *, level: int = logging.WARNING,
                   then: str = "failing open") -> None:
    """Count a failure of ``kind`` and log it at most once per interval.

    ``then``: what smartlayer did about it, as the log line says it — most failures fail open (the
    request is served without that component's say), but some are answered another way (a payload
    set that stopped short is searched pattern by pattern: nothing is let through), and the line
    must not tell an operator the door was opened when it was not."""
    count(f"failure.{kind}")
    now = time.monotonic()
    interval = float(sl_settings.FAILURE_LOG_INTERVAL)
    last = _last_logged.get(kind)
    if last is not None and now - last < interval:
        return
    _last_logged[kind] = now
    total = metrics[f"failure.{kind}"]
    logger.log(level, "smartlayer: %s failed (%s); %s. %d occurrence(s) so far.", kind, exc, then, total)


def reset_failure_log() -> None:
    _last_logged.clear()
