"""Daily reports, lifetime usage counters and LLM verdicts in the admin (read mostly)."""
from __future__ import annotations

from django.contrib import admin

from ..models import DailyReport, UsageCounter, Verdict


@admin.register(DailyReport)
class DailyReportAdmin(admin.ModelAdmin):
    list_display = ["date", "ai_status", "updated_at"]
    readonly_fields = ["date", "report", "summary", "ai_status", "created_at", "updated_at"]

    def has_add_permission(self, request):
        return False


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
