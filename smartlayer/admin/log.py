"""The request log in the admin: read-only, one row per request and what was decided.

The list shows what an operator scans for — when (to the second), who, what,
the answer, and which component decided why — narrow enough to fit a 1400 px
screen with the filters beside it.  Filters are by reason code (the catalogue
of :mod:`smartlayer.request.reasons`, no query), component, status class and
client.  The detail page explains the decision as a table, one row per
component that had something to say, and names the ban behind a refusal by a
ban, with a link to it.
"""
from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from ..models import BLOCKERS, RequestLog
from ..request.reasons import CATALOGUE, PAYLOAD_FAMILY, entry
from .links import ban_url, bans_of_url, link, log_url

#: The keys of a stored decision that the "why" table shows as its own columns.
_HEAD_KEYS = ("component", "action", "reason", "reasons", "monitor")


class ReasonFilter(admin.SimpleListFilter):
    """By reason code; the choices are the catalogue (no DISTINCT over the log)."""

    title = "reason code"
    parameter_name = "reason"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        choices = [(code, code) for code in CATALOGUE if code != PAYLOAD_FAMILY]
        choices.insert(0, ("payload:*", "payload:<any signature>"))
        return choices

    def queryset(self, request: Any, queryset: Any) -> Any:
        value = self.value()
        if not value:
            return queryset
        if value == "payload:*":
            return queryset.filter(reason__startswith="payload:")
        return queryset.filter(reason=value)


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"
    _CLASSES = {"2xx": (200, 300), "3xx": (300, 400), "4xx": (400, 500), "5xx": (500, 600)}
    _EXACT = ("403", "404", "429", "503")

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        return [(k, k) for k in self._CLASSES] + [(k, k) for k in self._EXACT]

    def queryset(self, request: Any, queryset: Any) -> Any:
        value = self.value()
        if value in self._CLASSES:
            lo, hi = self._CLASSES[value]
            return queryset.filter(status_code__gte=lo, status_code__lt=hi)
        if value and value.isdigit():
            return queryset.filter(status_code=int(value))
        return queryset


class ComponentFilter(admin.SimpleListFilter):
    """The component that refused (``blocked_by``); the parameter keeps the field's name."""

    title = "component"
    parameter_name = "blocked_by"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        return list(BLOCKERS)

    def queryset(self, request: Any, queryset: Any) -> Any:
        return queryset.filter(blocked_by=self.value()) if self.value() else queryset


class ClientFilter(admin.SimpleListFilter):
    """By client key: the one in the URL (a link from a row, the overview), shown so it can be cleared."""

    title = "client"
    parameter_name = "client_key"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        value = request.GET.get(self.parameter_name)
        return [(value, value)] if value else []

    def has_output(self) -> bool:
        return bool(self.value())

    def queryset(self, request: Any, queryset: Any) -> Any:
        return queryset.filter(client_key=self.value()) if self.value() else queryset


@admin.register(RequestLog)
class RequestLogAdmin(admin.ModelAdmin):
    list_display = ["when", "client", "method", "short_path", "status", "decision", "component", "reason_code"]
    list_display_links = ["when"]
    # the long reason list last, so component, status and client are in view
    list_filter = [ComponentFilter, StatusFilter, ClientFilter, "action", "monitor_only", ReasonFilter, "method"]
    search_fields = ["path", "client_key", "ip_address", "user_id", "reason", "user_agent"]
    date_hierarchy = "timestamp"
    list_per_page = 100
    actions = None  # a record: nothing to select rows for (deleting old rows is the retention job's)
    show_full_result_count = False  # COUNT(*) over a big log table is slow
    fieldsets = [
        ("Request", {"fields": ["when_full", "client", "user_id", "ip_address", "method", "path", "status_code",
                                "response_time_ms", "user_agent"]}),
        ("Decision", {"fields": ["decision", "component", "reason_explained", "ban_link", "rule_score",
                                 "model_score_display", "payload_score", "model_version"]}),
        ("Why: every component that had something to say", {"fields": ["why"]}),
    ]
    readonly_fields = ["when", "when_full", "client", "decision", "component", "reason_explained", "ban_link", "model_score_display",
                       "why"]

    class Media:
        css = {"all": ["smartlayer/admin.css"]}

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    # ── columns ────────────────────────────────────────────────────────────
    @admin.display(description="time (UTC)", ordering="timestamp")
    def when(self, obj: RequestLog) -> str:
        if not obj.timestamp:
            return "—"
        # month-day and time to the second; the year is in the tooltip (and the date filter above)
        return format_html('<span style="white-space:nowrap" title="{}">{}</span>',
                           obj.timestamp.strftime("%Y-%m-%d %H:%M:%S UTC"), obj.timestamp.strftime("%m-%d %H:%M:%S"))

    @admin.display(description="status", ordering="status_code")
    def status(self, obj: RequestLog) -> int:
        return obj.status_code

    @admin.display(description="client", ordering="client_key")
    def client(self, obj: RequestLog) -> str:
        return link(log_url(client_key=obj.client_key), obj.client_key, "this client's requests")

    @admin.display(description="path", ordering="path")
    def short_path(self, obj: RequestLog) -> str:
        path = obj.path or ""
        if len(path) <= 32:
            return path
        return format_html('<span title="{}">{}…</span>', path, path[:31])

    @admin.display(description="decision", ordering="action")
    def decision(self, obj: RequestLog) -> str:
        action = obj.action or "allow"
        if obj.monitor_only:
            return format_html('{} <span title="monitor mode: decided, not enforced">(monitor)</span>', action)
        if obj.was_blocked:
            return format_html('<strong style="color:#ba2121">{}</strong>', action)
        return action

    @admin.display(description="component", ordering="blocked_by")
    def component(self, obj: RequestLog) -> str:
        if obj.blocked_by:
            return obj.blocked_by
        if obj.action in ("", "allow"):  # let through: no component decided anything
            return ""
        decisions = _decisions(obj)
        return decisions[0].get("component", "") if decisions else ""

    @admin.display(description="reason code", ordering="reason")
    def reason_code(self, obj: RequestLog) -> str:
        if not obj.reason:
            return ""
        meaning = entry(obj.reason)
        family, _, name = obj.reason.partition(":")
        # a long code may break after its colon rather than push the column off-screen
        text = format_html("{}:<wbr>{}", family, name) if name else obj.reason
        return link(log_url(reason=obj.reason), text, meaning.meaning if meaning else "")

    # ── detail ─────────────────────────────────────────────────────────────
    @admin.display(description="time")
    def when_full(self, obj: RequestLog) -> str:
        return obj.timestamp.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC" if obj.timestamp else "—"

    @admin.display(description="model score")
    def model_score_display(self, obj: RequestLog) -> str:
        return f"{obj.model_score:.4f}" if obj.model_score is not None else "—"

    @admin.display(description="reason")
    def reason_explained(self, obj: RequestLog) -> str:
        if not obj.reason:
            return "—"
        meaning = entry(obj.reason)
        return format_html("<code>{}</code> — {}", obj.reason, meaning.meaning if meaning else "not a catalogued code")

    @admin.display(description="ban")
    def ban_link(self, obj: RequestLog) -> str:
        for d in _decisions(obj):
            if d.get("component") == "ban":
                return _ban_cell(d, obj.client_key)
        if obj.action == "ban" and not obj.monitor_only:
            return format_html('this request banned the client: <a href="{}">its bans</a>', bans_of_url(obj.client_key))
        return "—"

    @admin.display(description="why")
    def why(self, obj: RequestLog) -> str:
        decisions = _decisions(obj)
        if not decisions:
            return "Nothing to explain: every component let the request through."
        rows = []
        for d in decisions:
            codes = format_html_join(", ", '<code title="{}">{}</code>',
                                     ((_meaning(c), c) for c in d.get("reasons") or [] if isinstance(c, str)))
            extra = {k: v for k, v in d.items() if k not in _HEAD_KEYS}
            rows.append(format_html(
                "<tr><td>{}</td><td>{}{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                d.get("component", ""), d.get("action", ""), " (monitor)" if d.get("monitor") else "",
                d.get("reason") or "—", codes or "—", _details_table(extra, d, obj.client_key)))
        head = ("<thead><tr><th>component</th><th>action</th><th>reason code</th><th>every code</th>"
                "<th>details</th></tr></thead>")
        return mark_safe(f'<table class="sl-why">{head}<tbody>{"".join(rows)}</tbody></table>')  # rows escaped


def _decisions(obj: RequestLog) -> list[dict[str, Any]]:
    details = obj.details if isinstance(obj.details, dict) else {}
    return [d for d in details.get("decisions") or [] if isinstance(d, dict)]


def _meaning(code: str) -> str:
    found = entry(code)
    return found.meaning if found else ""


def _ban_cell(d: dict[str, Any], client_key: str) -> str:
    ban_id = d.get("ban_id")
    reason = d.get("ban_reason") or ""
    if isinstance(ban_id, int):
        return format_html('<a href="{}">ban #{}</a> {}', ban_url(ban_id), ban_id, f"({reason})" if reason else "")
    return format_html('<a href="{}">bans of {}</a> {}', bans_of_url(client_key), client_key,
                       f"({reason})" if reason else "")


def _value(key: str, value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if key == "expires" and isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(_value(key, v) for v in value[:20])
    if isinstance(value, dict):
        return ", ".join(f"{k}={_value(k, v)}" for k, v in list(value.items())[:20])
    return str(value)


def _details_table(extra: dict[str, Any], d: dict[str, Any], client_key: str) -> str:
    """One decision's details as a key/value table; the ban id as a link."""
    if not extra:
        return "—"
    cells = []
    for key, value in extra.items():
        if key == "ban_id":
            cells.append(format_html("<tr><th>ban</th><td>{}</td></tr>", _ban_cell(d, client_key)))
        elif key == "expires" and isinstance(value, (int, float)):
            from datetime import datetime, timezone

            when = datetime.fromtimestamp(value, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
            cells.append(format_html("<tr><th>expires</th><td>{}</td></tr>", when))
        else:
            cells.append(format_html("<tr><th>{}</th><td>{}</td></tr>", key, _value(key, value)))
    return mark_safe(f'<table class="sl-kv">{"".join(cells)}</table>')  # every cell escaped above
