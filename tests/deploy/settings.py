"""Settings of the deployment-shaped test project (gunicorn / uvicorn subprocesses).

Configured by environment variables, so a test or the benchmark can start
several servers with different settings without writing files:

``SMARTLAYER_DEPLOY_DATABASE_URL``
    ``postgresql://user@host:port/name`` or ``sqlite:////absolute/path``.
    Default: an SQLite file in the temp directory (migrate it first).
``SMARTLAYER_DEPLOY_REDIS_URL``
    Use Django's ``RedisCache`` there as smartlayer's cache (the production
    setup).  Unset: the local-memory cache (single-process servers only).
``SMARTLAYER_DEPLOY_KEY_PREFIX``
    The cache's ``KEY_PREFIX``; default ``sltest``, the prefix of the test
    suite's ``redis`` alias, so a test process and the servers share keys.
``SMARTLAYER_DEPLOY_STACK``
    ``smartlayer`` (default): Django's usual middleware plus the four
    smartlayer middlewares.  ``bare``: Django's usual middleware only.
``SMARTLAYER_DEPLOY_SMART``
    A JSON object merged over the ``SMART_MIDDLEWARE`` below.
``SMARTLAYER_DEPLOY_DEBUG``
    ``1`` adds the ``/_debug/`` routes (worker identity, ban through a worker).
``SMARTLAYER_DEPLOY_ANY_PAGE``
    ``1`` answers 200 on every other path too (a load benchmark requesting the pages of a site whose
    profile it trained, rather than this project's few routes).
``SMARTLAYER_DEPLOY_COUNT_DIR``
    Each process writes how many responses it sent there at exit
    (:mod:`tests.deploy.counter`) — the server-side count the log rows are
    compared against.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from urllib.parse import urlparse

from tests.settings import database_from_url

BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = "smartlayer-deploy-tests-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "tests.deploy.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
WSGI_APPLICATION = "tests.deploy.wsgi.application"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "tests.testapp",  # the suite's user model, so the schema equals the pytest test database
    "smartlayer",
]
AUTH_USER_MODEL = "testapp.User"

from tests.deploy.stack import DJANGO_BASE_MIDDLEWARE  # noqa: E402

DJANGO_MIDDLEWARE = ["tests.deploy.counter.CountResponses", *DJANGO_BASE_MIDDLEWARE]
from smartlayer import MIDDLEWARE as SMARTLAYER_MIDDLEWARE  # noqa: E402

STACK = os.environ.get("SMARTLAYER_DEPLOY_STACK", "smartlayer")
if STACK not in ("smartlayer", "bare"):
    raise ValueError(f"SMARTLAYER_DEPLOY_STACK must be 'smartlayer' or 'bare', got {STACK!r}")
# SMARTLAYER_DEPLOY_ONLY: comma-separated class names (e.g. "WatchLog") to run
# only some of smartlayer's middlewares — for measuring what each one costs.
_ONLY = [n for n in os.environ.get("SMARTLAYER_DEPLOY_ONLY", "").split(",") if n]
MIDDLEWARE = DJANGO_MIDDLEWARE + ([m for m in SMARTLAYER_MIDDLEWARE if not _ONLY or m.rsplit(".", 1)[1] in _ONLY]
                                  if STACK == "smartlayer" else [])


def _database(url: str) -> dict:
    parts = urlparse(url)
    if parts.scheme == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": parts.path}
    return database_from_url(url)


DATABASES = {
    "default": _database(os.environ.get(
        "SMARTLAYER_DEPLOY_DATABASE_URL",
        "sqlite:///" + os.path.join(tempfile.gettempdir(), "smartlayer-deploy.sqlite3"))),
}

REDIS_URL = os.environ.get("SMARTLAYER_DEPLOY_REDIS_URL")
KEY_PREFIX = os.environ.get("SMARTLAYER_DEPLOY_KEY_PREFIX", "sltest")
if REDIS_URL:
    CACHES = {"default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": KEY_PREFIX,
        # fail fast instead of hanging a worker when Redis is unreachable
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "KEY_PREFIX": KEY_PREFIX}}
    SILENCED_SYSTEM_CHECKS = ["smartlayer.W005"]  # one process only (the uvicorn smoke test)

SMART_MIDDLEWARE = {
    "EXEMPT_PATHS": ["/static/", "/health", "/_debug/"],
    "MODEL_STORE": str(BASE_DIR.parent / "_models_store"),
    "LOG_WRITER": "thread",
    **json.loads(os.environ.get("SMARTLAYER_DEPLOY_SMART") or "{}"),
}

DEBUG_ROUTES = os.environ.get("SMARTLAYER_DEPLOY_DEBUG") == "1"
ANY_PAGE = os.environ.get("SMARTLAYER_DEPLOY_ANY_PAGE") == "1"
COUNT_DIR = os.environ.get("SMARTLAYER_DEPLOY_COUNT_DIR")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {
        "smartlayer": {"handlers": ["stderr"], "level": "WARNING"},
        "django.request": {"handlers": ["stderr"], "level": "ERROR"},
    },
}
