"""ASGI entry point: ``uvicorn tests.deploy.asgi:application --lifespan on``.

Why the wrapper: uvicorn (0.29 and later) ends a graceful shutdown by
re-raising the SIGTERM it caught with the default handler restored, so the
process dies *by the signal* and ``atexit`` never runs — the hook WatchLog's
writer and the response counter rely on under gunicorn.  Rows still queued
at that moment would be lost.  ASGI's lifespan protocol is the hook uvicorn
does honour: ``lifespan.shutdown`` arrives after the last connection closed
and before the process exits, so the queue is written there (in a thread,
never on the event loop).  Django's ASGI handler does not speak lifespan
itself, hence this small wrapper; docs/production.md shows the same for
real deployments.
"""
from __future__ import annotations

import os
from typing import Any

from asgiref.sync import sync_to_async
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.deploy.settings")
django_application = get_asgi_application()


def _on_shutdown() -> None:
    from smartlayer.logwriter import get_writer

    from .counter import _write_counts

    writer = get_writer()
    writer.stop()              # the thread finishes the batch it holds
    writer.flush(timeout=10)   # and the rest of the queue is written here
    _write_counts()


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "lifespan":
        return await django_application(scope, receive, send)
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await sync_to_async(_on_shutdown, thread_sensitive=False)()
            await send({"type": "lifespan.shutdown.complete"})
            return
