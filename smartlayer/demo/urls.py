"""The demo site's URLs: its admin, then the pages the scripted clients visit.

A module of its own: the admin's URLs can be built only once Django is set up,
which :func:`smartlayer.demo.site.configure` does.
"""
from django.contrib import admin
from django.urls import path, re_path

from .site import api, missing, page, user_detail

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", page),
    re_path(r"^(about|pricing|blog|contact)/$", page),
    re_path(r"^products/(\d+)/$", page),
    re_path(r"^blog/(\d+)/$", page),
    path("search/", page),
    path("accounts/login/", page),
    re_path(r"^api/users/(?P<pk>\d+)$", user_detail),
    re_path(r"^api/(generate|analytics|export|orders)/$", api),
    re_path(r"^.*$", missing),
]
