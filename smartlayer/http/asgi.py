"""ASGI helper: write the queued request log when the server shuts down.

uvicorn ends a graceful shutdown by re-raising the ``SIGTERM`` it caught with
the default handler restored, so the process dies *by the signal* and
``atexit`` hooks — WatchLog's final flush among them — never run.  ASGI's
lifespan protocol is the hook such servers do honour: ``lifespan.shutdown``
arrives after the last connection closed.  Django's ASGI handler does not
speak lifespan itself, hence this wrapper::

    # mysite/asgi.py
    from django.core.asgi import get_asgi_application
    from smartlayer.asgi import flush_on_shutdown

    application = flush_on_shutdown(get_asgi_application())
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async


def flush_request_log() -> None:
    """Stop the writer thread (it finishes its batch) and write what is queued."""
    from ..log.writer import get_writer

    writer = get_writer()
    writer.stop()
    writer.flush(timeout=10)


def flush_on_shutdown(app: Any, *, also: Callable[[], None] | None = None) -> Any:
    """Wrap an ASGI application so the request log is written at lifespan shutdown.

    ``also`` runs after the flush (in a thread, never on the event loop).
    """

    def on_shutdown() -> None:
        flush_request_log()
        if also is not None:
            also()

    async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            return await app(scope, receive, send)
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await sync_to_async(on_shutdown, thread_sensitive=False)()
                await send({"type": "lifespan.shutdown.complete"})
                return

    return application
