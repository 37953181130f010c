"""Public ASGI helper (documented path): see :mod:`smartlayer.http.asgi`."""
from .http.asgi import flush_on_shutdown, flush_request_log

__all__ = ["flush_on_shutdown", "flush_request_log"]
