from django.contrib import admin
from django.http import HttpResponse, JsonResponse
from django.urls import path, re_path


def ok(request, *args, **kwargs):
    return HttpResponse("ok")


def echo(request):
    return JsonResponse({"method": request.method, "len": len(request.body) if request.method == "POST" else 0})


def not_found(request, *args, **kwargs):
    return HttpResponse("nope", status=404)


def boom(request):
    raise RuntimeError("view failure")


urlpatterns = [
    path("admin/", admin.site.urls),
    path("", ok),
    path("echo/", echo),
    path("missing/", not_found),
    path("boom/", boom),
    re_path(r"^users/(?P<pk>\d+)$", ok),
    re_path(r"^api/.*$", ok),
    re_path(r"^page/.*$", ok),
    re_path(r"^nope/.*$", not_found),
]
