"""The server-side response count the load benchmark and the multi-process
tests compare the request log with.

A client-side count is not exact: when wrk stops after its duration, requests
it already sent are still answered (and logged) by the server, but never
counted by wrk.  So the outermost middleware counts every response this
process sends, by status class (and, under ASGI, as ``cancelled`` every request
Django cancelled because its client went away — smartlayer logs those with
status 499), and writes the counts to
``$SMARTLAYER_DEPLOY_COUNT_DIR/<pid>.json`` when the process exits (after a
graceful SIGTERM gunicorn and uvicorn workers exit normally, so ``atexit``
runs).  It also names the worker in an ``X-Worker-Pid`` header, so tests can
tell which process answered.
"""
from __future__ import annotations

import asyncio
import atexit
import json
import os
import threading
from collections import Counter
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

_counts: Counter = Counter()
_lock = threading.Lock()
_registered = False


def _write_counts() -> None:
    from django.conf import settings

    directory = getattr(settings, "COUNT_DIR", None)
    if not directory:
        return
    path = os.path.join(directory, f"{os.getpid()}.json")
    with _lock:
        data = dict(_counts)
    with open(path + ".tmp", "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    os.replace(path + ".tmp", path)
    # smartlayer's own counters (failures, drops, replication), for the benchmark to report
    from smartlayer.state.failures import metrics

    with open(os.path.join(directory, f"{os.getpid()}.metrics"), "w", encoding="utf-8") as fh:
        json.dump(dict(metrics), fh)


class CountResponses:
    """Count responses per status class (``2xx`` … ``5xx``) and add ``X-Worker-Pid``."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Any) -> None:
        global _registered
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
        if not _registered:
            _registered = True
            atexit.register(_write_counts)

    def _count(self, response: Any) -> Any:
        with _lock:
            _counts[f"{response.status_code // 100}xx"] += 1
        response["X-Worker-Pid"] = str(os.getpid())  # not cached: gunicorn --preload forks after __init__
        return response

    def __call__(self, request: Any) -> Any:
        if self.is_async:
            return self.__acall__(request)
        return self._count(self.get_response(request))

    async def __acall__(self, request: Any) -> Any:
        try:
            response = await self.get_response(request)
        except asyncio.CancelledError:  # the client went away: Django cancelled the request
            with _lock:
                _counts["cancelled"] += 1
            raise
        return self._count(response)


def _summed(directory: str, suffix: str) -> Counter:
    total: Counter = Counter()
    for name in os.listdir(directory):
        if name.endswith(suffix):
            with open(os.path.join(directory, name), encoding="utf-8") as fh:
                total.update(json.load(fh))
    return total


def read_counts(directory: str) -> Counter:
    """The summed counts every process wrote into ``directory``."""
    return _summed(directory, ".json")


def read_metrics(directory: str) -> Counter:
    """smartlayer's process counters (``smartlayer.state.failures.metrics``), summed over the processes."""
    return _summed(directory, ".metrics")
