"""Daily reports, lifetime usage counters and LLM verdicts in the admin (read mostly)."""
from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html

from ..models import DailyReport, UsageCounter, Verdict
from .tables import key_value_table


@admin.register(DailyReport)
class DailyReportAdmin(admin.ModelAdmin):
    """A report is written by ``analyse_logs``: read here, never edited (no Save button)."""

    list_display = ["date", "ai_status", "updated_at"]
    fields = ["date", "report_text", "figures", "ai_status", "created_at", "updated_at"]
    readonly_fields = ["report_text", "figures"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="report")
    def report_text(self, obj: DailyReport) -> str:
        return format_html('<pre style="white-space:pre-wrap;margin:0;font-size:13px">{}</pre>', obj.report or "")

    @admin.display(description="figures")
    def figures(self, obj: DailyReport) -> str:
        return key_value_table(obj.summary if isinstance(obj.summary, dict) else {}, "sl-figures")


@admin.register(UsageCounter)
class UsageCounterAdmin(admin.ModelAdmin):
    list_display = ["client_key", "plan", "route", "count", "updated_at"]
    list_filter = ["plan"]
    search_fields = ["client_key", "route"]


@admin.register(Verdict)
class VerdictAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "client_key", "verdict", "confidence", "error", "latency_ms"]
    list_filter = ["kind", "verdict"]
    search_fields = ["client_key", "payload_hash"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
