"""Admin: read the request log, manage bans, read reports and verdicts.

Every action that changes state declares the permission it needs
(``@admin.action(permissions=...)``): Django offers an action without one to
anyone who may merely view the changelist.  A test walks every registered
smartlayer admin and fails on an action that forgets.
"""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from . import bans as ban_service
from .models import Ban, DailyReport, RequestLog, UsageCounter, Verdict


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


class ActiveFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("expired", "Expired"), ("lifted", "Lifted")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "active":
            return queryset.active(now)
        if self.value() == "expired":
            return queryset.filter(lifted_at__isnull=True, expires_at__lte=now)
        if self.value() == "lifted":
            return queryset.filter(lifted_at__isnull=False)
        return queryset


class BanForm(forms.ModelForm):
    """A ban's client key must be one a request can resolve to — else the
    ban refuses nobody — and a bare IP address becomes its key."""

    class Meta:
        model = Ban
        fields = "__all__"
        help_texts = {"client_key": "ip:<address>, ip:<IPv6 prefix>/<length>, u:<user pk>, or a bare IP address "
                                    "(turned into its key)."}

    def clean_client_key(self) -> str:
        try:
            return ban_service.client_key_from(self.cleaned_data.get("client_key", ""))
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


@admin.register(Ban)
class BanAdmin(admin.ModelAdmin):
    form = BanForm
    list_display = ["client_key", "source", "reason", "created_at", "expires_at", "is_active", "lifted_at"]
    list_filter = [ActiveFilter, "source"]
    search_fields = ["client_key", "ip_address", "user_id", "reason"]
    readonly_fields = ["created_at", "lifted_at", "lifted_by", "details"]
    actions = ["lift_bans"]
    fields = ["client_key", "ip_address", "user_id", "reason", "source", "expires_at",
              "created_at", "lifted_at", "lifted_by", "details"]

    @admin.display(boolean=True)
    def is_active(self, obj):
        return obj.is_active

    def get_changeform_initial_data(self, request):
        return {"source": "admin", "reason": "added in the admin"}

    # Lifting a ban changes the Ban rows (lifted_at, lifted_by): without a
    # declared permission Django would offer it to view-only staff too.
    @admin.action(description="Lift the selected bans", permissions=["change"])
    def lift_bans(self, request, queryset):
        lifted = 0
        for key in set(queryset.values_list("client_key", flat=True)):
            lifted += ban_service.lift(key, by=str(request.user))
        self.message_user(request, f"Lifted {lifted} ban(s).", messages.SUCCESS)


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


# model versions are registered by the learned-model package
from .ml import admin as _ml_admin  # noqa: E402,F401
