"""ASGI entry point: ``uvicorn tests.deploy.asgi:application --lifespan on``.

Wrapped with :func:`smartlayer.asgi.flush_on_shutdown`, so the request log
(and the test's response counter) is written at lifespan shutdown — under
uvicorn, ``atexit`` never runs (see that module).
"""
from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.deploy.settings")

from smartlayer.http.asgi import flush_on_shutdown  # noqa: E402

from .counter import _write_counts  # noqa: E402

application = flush_on_shutdown(get_asgi_application(), also=_write_counts)
