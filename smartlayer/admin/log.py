"""The request log in the admin: read-only, one row per request and what was decided."""
from __future__ import annotations

from django.contrib import admin

from ..models import RequestLog


@admin.register(RequestLog)
class RequestLogAdmin(admin.ModelAdmin):
    list_display = ["timestamp", "method", "path", "status_code", "response_time_ms", "client_key",
                    "was_blocked", "blocked_by", "action", "reason", "rule_score", "model_score"]
    list_filter = ["was_blocked", "blocked_by", "action", "monitor_only", "method", "status_code"]
    search_fields = ["path", "client_key", "ip_address", "user_id", "reason", "user_agent"]
    date_hierarchy = "timestamp"
    list_per_page = 100
    show_full_result_count = False  # COUNT(*) over a big log table is slow

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
