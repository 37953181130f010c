"""Links between the admin pages: a client's log rows, a reason's rows, a ban.

The overview, the request log and the ban pages point at one another; the
URLs are built here once so that a filter renamed in one place is not left
dangling in another.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.html import format_html


def log_url(**filters: Any) -> str:
    """The request log's list, filtered (``client_key=…``, ``reason=…``, ``blocked_by=…``)."""
    url = reverse("admin:smartlayer_requestlog_changelist")
    query = {k: v for k, v in filters.items() if v not in (None, "")}
    return f"{url}?{urlencode(query)}" if query else url


def ban_url(ban_id: Any) -> str:
    return reverse("admin:smartlayer_ban_change", args=[ban_id])


def bans_of_url(client_key: str) -> str:
    return reverse("admin:smartlayer_ban_changelist") + "?" + urlencode({"q": client_key})


def link(url: str, text: Any, title: str = "") -> str:
    if title:
        return format_html('<a href="{}" title="{}">{}</a>', url, title, text)
    return format_html('<a href="{}">{}</a>', url, text)
