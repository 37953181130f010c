"""A throwaway Django site for the demo: settings, URLs and trivial views.

Everything lives in a temporary (or given) directory: an SQLite database, the
local-memory cache and a model store — the embedded default.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from smartlayer import MIDDLEWARE as SMARTLAYER_MIDDLEWARE


def configure(workdir: Path, smart: dict[str, Any] | None = None) -> None:
    """Configure Django for the demo site and set it up."""
    import django
    from django.conf import settings

    smart_settings = {
        "LOG_WRITER": "thread",
        "LOG_FLUSH_INTERVAL": 0.2,
        "MODEL_STORE": str(workdir / "models_store"),
        "PLAN_FIELD": "plan",
        "RATE_LIMIT_PLANS": {
            "free": {"/api/generate/": {"per_minute": 5, "per_day": 50}},
            "premium": {"/api/generate/": {"per_minute": 60}, "/api/analytics/": {"per_minute": 30}},
        },
        "RATELIMIT_HEADERS": True,
        "BAN_TTL": 3600,
    }
    smart_settings.update(smart or {})
    settings.configure(
        DEBUG=False,
        SECRET_KEY="smartlayer-demo-not-secret",
        ALLOWED_HOSTS=["*"],
        USE_TZ=True,
        TIME_ZONE="UTC",
        BASE_DIR=workdir,
        ROOT_URLCONF="smartlayer.demo.urls",
        INSTALLED_APPS=[
            "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
            "django.contrib.sessions", "django.contrib.messages", "django.contrib.staticfiles", "smartlayer",
        ],
        STATIC_URL="/static/",
        MIDDLEWARE=[
            "django.middleware.security.SecurityMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
            *SMARTLAYER_MIDDLEWARE,
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(workdir / "demo.sqlite3"),
                               "OPTIONS": {"timeout": 30}}},
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        TEMPLATES=[{
            "BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
            "OPTIONS": {"context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages"]},
        }],
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        SMART_MIDDLEWARE=smart_settings,
        SILENCED_SYSTEM_CHECKS=["smartlayer.W005"],
        LOGGING={"version": 1, "disable_existing_loggers": False,
                 "loggers": {"django.request": {"level": "CRITICAL"}, "smartlayer": {"level": "ERROR"}}},
    )
    django.setup()


def page(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    return HttpResponse("<html><body>demo page</body></html>")


def api(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    return JsonResponse({"ok": True})


def user_detail(request: HttpRequest, pk: str) -> JsonResponse:
    if int(pk) > 500:
        return JsonResponse({"error": "not found"}, status=404)
    return JsonResponse({"id": int(pk), "name": f"user {pk}"})


def missing(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    return HttpResponse("not found", status=404)
