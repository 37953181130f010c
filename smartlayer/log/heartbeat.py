"""Each serving process says how it is, in the cache, for ``smartlayer_status``.

The log queue, the drop counters, the failure counters and the LLM breaker
live in each worker's memory; a command runs in a process of its own and
cannot see them.  So the log writer's thread (already awake every
``LOG_FLUSH_INTERVAL``, never on the request path) writes a small summary of
its process to the cache every :data:`INTERVAL` seconds, under a key of its
own, and keeps an index of the processes that reported.  The index is a
read-modify-write: two workers writing at the same instant may drop one
from it for one interval — a status snapshot, not an account.

With a per-process cache (local memory) nobody else can read it; the status
command says so instead of reporting "no worker".
"""
from __future__ import annotations

import os
import socket
import sys
import time
from typing import Any

from ..state.cache import get_cache, make_key
from ..state.failures import metrics, report_failure

#: seconds between two summaries of one process
INTERVAL = 10.0
#: a summary older than this many intervals is a process that is gone
STALE_AFTER = 3
_INDEX = ("status", "procs")
_next = 0.0


def process_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def summary(writer: Any) -> dict[str, Any]:
    """What this process knows about itself (memory reads only)."""
    llm = None
    client_mod = sys.modules.get("smartlayer.llm.client")  # never import httpx just to report
    if client_mod is not None:
        client = client_mod._client.peek()
        if client is not None:
            llm = {"breaker": client.breaker.state}
    return {
        "id": process_id(), "at": time.time(),
        "log": {"backlog": writer.backlog, **{k: int(v) for k, v in writer.stats.items()}},
        "counters": {k: int(v) for k, v in metrics.items()},
        "llm": llm,
    }


def maybe_publish(writer: Any, now: float | None = None) -> bool:
    """Publish this process's summary when :data:`INTERVAL` has passed.  Never raises."""
    global _next
    now = time.monotonic() if now is None else now
    if now < _next:
        return False
    _next = now + INTERVAL
    try:
        publish(writer)
    except Exception as exc:  # noqa: BLE001 - a status report must never stop the writer
        report_failure("heartbeat", exc)
        return False
    return True


def publish(writer: Any) -> None:
    cache = get_cache()
    data = summary(writer)
    ttl = int(INTERVAL * STALE_AFTER)
    cache.set(make_key("status", "proc", data["id"]), data, ttl)
    index_key = make_key(*_INDEX)
    index = cache.get(index_key) or {}
    cutoff = data["at"] - INTERVAL * STALE_AFTER
    index = {k: v for k, v in index.items() if isinstance(v, (int, float)) and v >= cutoff}
    index[data["id"]] = data["at"]
    cache.set(index_key, index, ttl * 4)


def processes() -> list[dict[str, Any]]:
    """The summaries of the processes that reported lately (newest first)."""
    cache = get_cache()
    index = cache.get(make_key(*_INDEX)) or {}
    keys = {pid: make_key("status", "proc", pid) for pid in index}
    found = cache.get_many(list(keys.values())) if keys else {}
    out = [found[k] for k in keys.values() if isinstance(found.get(k), dict)]
    return sorted(out, key=lambda d: -float(d.get("at") or 0))


def reset() -> None:
    global _next
    _next = 0.0
