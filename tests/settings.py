"""Settings of the test project: SQLite + the local-memory cache by default.

Integration tests switch to the real PostgreSQL / Redis services named by
SMARTLAYER_TEST_DATABASE_URL / SMARTLAYER_TEST_REDIS_URL (see tests/integration).
"""
import os
from pathlib import Path
from urllib.parse import unquote, urlparse

from smartlayer import MIDDLEWARE as SMARTLAYER_MIDDLEWARE

BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = "smartlayer-tests-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "tests.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",  # the admin's CSS and JS for the browser test's live server
    "tests.testapp",
    "smartlayer",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    *SMARTLAYER_MIDDLEWARE,
]

AUTH_USER_MODEL = "testapp.User"


def database_from_url(url: str) -> dict:
    """postgresql://user[:password]@host[:port]/name → a DATABASES entry."""
    parts = urlparse(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError(f"SMARTLAYER_TEST_DATABASE_URL must be a postgresql:// URL, got {url!r}")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parts.path.lstrip("/") or "test",
        "USER": unquote(parts.username or "postgres"),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "127.0.0.1",
        "PORT": str(parts.port or 5432),
        "TEST": {"NAME": os.environ.get("SMARTLAYER_TEST_DB_NAME", "test_smartlayer")},
    }


# With SMARTLAYER_TEST_DATABASE_URL (set by .ci/run when PostgreSQL answers)
# the whole suite runs on PostgreSQL; otherwise on SQLite.
DATABASE_URL = os.environ.get("SMARTLAYER_TEST_DATABASE_URL")
DATABASES = {
    "default": database_from_url(DATABASE_URL) if DATABASE_URL
    # a file, not SQLite's shared-cache memory database: threads in the tests
    # (log writer, concurrency tests) then wait on locks instead of failing
    else {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "test.sqlite3", "OPTIONS": {"timeout": 20},
          "TEST": {"NAME": str(BASE_DIR / f"test_run_{os.getpid()}.sqlite3")}},
}

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "smartlayer-tests"},
}
# With SMARTLAYER_TEST_REDIS_URL (set by .ci/run when Redis answers) a second
# alias points at the real Redis; the integration tests switch CACHE_ALIAS to it.
REDIS_URL = os.environ.get("SMARTLAYER_TEST_REDIS_URL")
# Keys and pub/sub channels of this run start with it: two runs sharing one
# Redis server (pub/sub ignores the database number) keep apart with their own.
TEST_KEY_PREFIX = os.environ.get("SMARTLAYER_TEST_KEY_PREFIX", "sltest")
if REDIS_URL:
    CACHES["redis"] = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                       "KEY_PREFIX": TEST_KEY_PREFIX}

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

STATIC_URL = "/static/"

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

SMART_MIDDLEWARE = {
    # rows are written by flush() in tests that use the `db` fixture; the
    # writer-thread tests switch to "thread" with a transactional database
    "LOG_WRITER": "manual",
    "MODEL_STORE": str(BASE_DIR / "_models_store"),
    "EXEMPT_PATHS": ["/static/"],
}

SILENCED_SYSTEM_CHECKS = ["smartlayer.W005"]  # local-memory cache is deliberate here
