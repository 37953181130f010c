from django.contrib import admin
from django.http import HttpResponse, JsonResponse
from django.urls import path, re_path

from tests.testapp import views as body_views


def ok(request, *args, **kwargs):
    return HttpResponse("ok")


def echo(request):
    return JsonResponse({"method": request.method, "len": len(request.body) if request.method == "POST" else 0})


def not_found(request, *args, **kwargs):
    return HttpResponse("nope", status=404)


def slow(request):
    """Answers after ?s= seconds (at most 2): a request a client can give up on."""
    import time

    time.sleep(min(2.0, float(request.GET.get("s", "0.3"))))
    return HttpResponse("slow")


def boom(request):
    raise RuntimeError("view failure")


urlpatterns = [
    path("admin/", admin.site.urls),
    path("", ok),
    path("echo/", echo),
    path("shop/<slug:category>/<int:pk>/", ok),   # converters: the site profile's templates use them
    path("missing/", not_found),
    path("boom/", boom),
    path("slow/", slow),
    path("body/read/", body_views.read_body),
    path("body/form/", body_views.read_form),
    path("body/stream/", body_views.read_stream),
    path("body/handlers/", body_views.own_upload_handlers),
    re_path(r"^users/(?P<pk>\d+)$", ok),
    re_path(r"^api/.*$", ok),
    re_path(r"^page/.*$", ok),
    re_path(r"^nope/.*$", not_found),
]


def robots(request):
    return HttpResponse("User-agent: *\nDisallow: /private/\nCrawl-delay: 1\n", content_type="text/plain")


urlpatterns.insert(0, path("robots.txt", robots))
