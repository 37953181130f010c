"""Bans in the admin: list, add, lift (with the change permission), edit.

A ban saved or deleted here reaches the cache and every worker through the
model signals in :mod:`smartlayer.state.receivers`.
"""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from ..models import Ban
from ..state import bans as ban_service
from .links import link, log_url


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
        # help texts are HTML: no angle brackets
        help_texts = {"client_key": "ip:ADDRESS, ip:IPV6-PREFIX/LENGTH, u:USER-PK, or a bare IP address "
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
    readonly_fields = ["created_at", "lifted_at", "lifted_by", "details", "requests"]
    actions = ["lift_bans"]
    fields = ["client_key", "ip_address", "user_id", "reason", "source", "expires_at",
              "created_at", "lifted_at", "lifted_by", "details", "requests"]

    @admin.display(boolean=True)
    def is_active(self, obj):
        return obj.is_active

    @admin.display(description="requests")
    def requests(self, obj):
        if not obj or not obj.client_key:
            return "—"
        return link(log_url(client_key=obj.client_key), "this client's requests in the log")

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
