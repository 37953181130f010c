"""Routes of the deployment-shaped project.

``/``, ``/page/…`` and ``/api/…`` answer a trivial ``ok`` (the benchmark's
view and the rate-limited route).  With ``SMARTLAYER_DEPLOY_DEBUG=1`` two
routes under ``/_debug/`` (an exempt prefix in these settings) let the tests
look inside a worker: which process answered and which model version it has
active, a ban created *through* a worker rather than by the test, and a
sign-in that hands back the session cookie of an existing user (a session
is signed with this project's ``SECRET_KEY``, so a test cannot forge one).
"""
from __future__ import annotations

import mimetypes
import os
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


def ok(request: HttpRequest, rest: str = "") -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


#: the asset prefixes of the generated site, answered with their own type (load.py --browse:
#: the log rows and the site profile see what a real site's would); every other path is a page
ASSET_PREFIXES = ("/static/", "/media/", "/favicon.ico")
#: the generated week's types where Python's table differs
ASSET_TYPES = {".js": "application/javascript", ".ico": "image/x-icon"}


def page(request: HttpRequest, rest: str = "") -> HttpResponse:
    if request.path.startswith(ASSET_PREFIXES):
        ext = os.path.splitext(request.path)[1].lower()
        kind = ASSET_TYPES.get(ext) or mimetypes.guess_type(request.path)[0] or "application/octet-stream"
        return HttpResponse(b"ok", content_type=kind)
    return HttpResponse("<!doctype html><title>ok</title><p>ok</p>", content_type="text/html; charset=utf-8")


def worker(request: HttpRequest) -> JsonResponse:
    """This worker's pid and the model version its runtime has active.

    ``?sleep=`` (seconds, at most 1) holds the worker a moment, so that
    concurrent calls spread over every worker process.
    """
    from smartlayer.ml.runtime import get_active_model

    time.sleep(min(max(float(request.GET.get("sleep") or 0), 0.0), 1.0))
    model = get_active_model()
    return JsonResponse({"pid": os.getpid(), "model": model.version if model is not None else None})


@csrf_exempt
def ban(request: HttpRequest) -> JsonResponse:
    """Ban ``?key=`` from inside this worker (cache entry + database row)."""
    from smartlayer.state import bans

    if request.method != "POST":
        return JsonResponse({"error": "POST only"}, status=405)
    obj = bans.ban(request.GET["key"], reason="deploy test", source="admin")
    return JsonResponse({"pid": os.getpid(), "ban": obj.pk})


@csrf_exempt
def login(request: HttpRequest) -> JsonResponse:
    """Sign in as the user ``?username=`` (no password: a test route); the session cookie is in the response."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth import login as auth_login

    if request.method != "POST":
        return JsonResponse({"error": "POST only"}, status=405)
    user = get_user_model().objects.get(username=request.GET["username"])
    auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return JsonResponse({"pid": os.getpid(), "user": str(user.pk)})


urlpatterns = [
    path("", ok),
    path("health", ok),
    path("page/<path:rest>", ok),
    path("api/<path:rest>", ok),
    path("metrics/", include("smartlayer.metrics.urls")),  # the documented include
]
if settings.DEBUG_ROUTES:
    urlpatterns += [path("_debug/worker", worker), path("_debug/ban", ban), path("_debug/login", login)]
if settings.ANY_PAGE:
    urlpatterns += [path("<path:rest>", page)]
