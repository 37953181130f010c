"""Settings of the test project: SQLite + the local-memory cache by default.

Integration tests switch to the real PostgreSQL / Redis services named by
SMARTLAYER_TEST_DATABASE_URL / SMARTLAYER_TEST_REDIS_URL (see tests/integration).
"""
from pathlib import Path

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
    "tests.testapp",
    "smartlayer",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "smartlayer.middleware.AIAnomalyDetector",
    "smartlayer.middleware.AIRequestValidator",
    "smartlayer.middleware.RateLimiter",
    "smartlayer.middleware.WatchLog",
]

AUTH_USER_MODEL = "testapp.User"

DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "test.sqlite3"},
}

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "smartlayer-tests"},
}

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

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

SMART_MIDDLEWARE = {
    # rows are written by flush() in tests that use the `db` fixture; the
    # writer-thread tests switch to "thread" with a transactional database
    "LOG_WRITER": "manual",
    "MODEL_STORE": str(BASE_DIR / "_models_store"),
    "EXEMPT_PATHS": ["/static/"],
    "MODEL_ENABLED": False,  # TEMP-UNTIL-RUNTIME
}

SILENCED_SYSTEM_CHECKS = ["smartlayer.W005"]  # local-memory cache is deliberate here
