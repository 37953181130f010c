"""Admin for model versions: compare, activate, roll back.

Registered on import (the admin package imports this module).  Every
field is read-only except the notes: a version is an immutable artifact, and
its lifecycle changes only through the two actions, which go through
:mod:`smartlayer.ml.registry` (verification, one transaction, the ACTIVE pointer, the
cache key, the signal) — never through a status field edited by hand.

The change page draws the training score histogram (with the threshold) and
the per-feature training medians as inline SVG from the registry row alone,
so it works on a host that does not have the model store.
"""
from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from ..ml import registry
from ..ml.guard import demotion_state
from ..ml.plots import bars_svg, histogram_svg
from ..models import ModelVersion
from . import profile as profile_admin
from .tables import key_value_table


def _metric(obj: ModelVersion, *path: str) -> Any:
    value: Any = obj.metrics or {}
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def shadow_table(report: Any) -> str:
    """The shadow report as a small table (every value escaped by format_html)."""
    if not isinstance(report, dict) or not (report.get("window") or {}).get("requests"):
        return "— (no shadow report: trained before shadow scoring, or no recent traffic)"
    c, w = report.get("candidate") or {}, report.get("window") or {}
    a = report.get("active")
    pct = lambda v: f"{100 * float(v or 0):.2f}%"  # noqa: E731
    rows = [
        ("traffic", f"{w.get('start', '')[:16]} … {w.get('end', '')[:16]}: {w.get('requests')} requests, "
                    f"{w.get('clients')} clients", ""),
        ("flagged requests", f"{c.get('flagged_requests')} ({pct(c.get('flagged_share'))} of scored)"
                             + (f"; live guard bound {pct(report['guard_bound'])}" if "guard_bound" in report else "")
                             + (" — the live guard would demote it" if report.get("guard_demotes") else ""),
         pct(a.get("flagged_share")) if a else ""),
        ("flagged clients", f"{c.get('flagged_clients')} ({pct(c.get('flagged_clients_share'))})",
         str(a.get("flagged_clients")) if a else ""),
        ("refused, rules alone serve", f"{c.get('refused_requests')} requests ({pct(c.get('refused_share'))}); "
                                       f"bound {pct(report.get('bound'))}", pct(a.get("refused_share")) if a else ""),
        ("refused clients", f"{c.get('refused_clients')} ({pct(c.get('refused_clients_share'))})",
         str(a.get("refused_clients")) if a else ""),
        ("overlap with the rules", "{clients_both} both, {clients_model_only} model only, "
                                   "{clients_rules_only} rules only".format(**(c.get("overlap") or {})), ""),
        ("endpoints hit most", ", ".join(f"{p} ×{n}" for p, n in (c.get("top_endpoints") or [])[:5]), ""),
        ("clients hit most", ", ".join(f"{k} ({r}/{f})" for k, r, f in (c.get("top_clients") or [])[:5]), ""),
    ]
    body = format_html_join("", "<tr><th>{}</th><td>{}</td><td>{}</td></tr>", rows)
    verdict = "within the bound" if report.get("within_bound") else "OUTSIDE the bound: activation needs the force action"
    head = format_html("<tr><th></th><th>this version</th><th>{}</th></tr>",
                       f"active then ({a.get('version')})" if a else "")
    return format_html("<table>{}{}</table><p><strong>{}</strong></p>", head, body, verdict)


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["version", "status", "created_at", "samples", "clients", "threshold_display",
                    "flagged_display", "p99_display", "recall_display", "activated_at"]
    list_filter = ["status", "feature_set"]
    search_fields = ["version", "notes"]
    ordering = ["-created_at"]
    actions = ["activate_version", "force_activate_version", "rollback_previous"]
    fieldsets = [
        (None, {"fields": ["version", "status", "created_at", "activated_at", "feature_set", "notes"]}),
        ("Training data", {"fields": ["training_start", "training_end", "samples", "clients"]}),
        ("Quality", {"fields": ["threshold_display", "score_histogram", "feature_medians", "metrics_table"]}),
        ("Before and after activation", {"fields": ["shadow_report", "guard_state"]}),
        ("Site profile", {"fields": ["site_profile"], "classes": ["collapse"]}),
        ("Provenance", {"fields": ["params_json", "sha256"], "classes": ["collapse"]}),
    ]
    readonly_fields = ["version", "status", "created_at", "activated_at", "feature_set", "training_start",
                       "training_end", "samples", "clients", "threshold_display", "score_histogram", "feature_medians",
                       "metrics_table", "params_json", "sha256", "site_profile", "shadow_report",
                       "guard_state"]

    def get_urls(self) -> list:
        from django.urls import path

        extra = [path("profile/", self.admin_site.admin_view(self.profile_view),
                      name="smartlayer_modelversion_profile")]
        return extra + super().get_urls()

    def profile_view(self, request: Any) -> Any:
        return profile_admin.overrides_view(self, request)

    # ── permissions: versions come from training, not from this form ───────
    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: ModelVersion | None = None) -> bool:
        if obj is not None and obj.status == "active":
            return False
        return super().has_delete_permission(request, obj)

    # ── list columns ───────────────────────────────────────────────────────
    @admin.display(description="threshold", ordering="threshold")
    def threshold_display(self, obj: ModelVersion) -> str:
        return f"{obj.threshold:.4f}" if obj.threshold is not None else "—"

    @admin.display(description="flagged in training")
    def flagged_display(self, obj: ModelVersion) -> str:
        v = _metric(obj, "share_above_threshold")
        return f"{v:.2%}" if isinstance(v, (int, float)) else "—"

    @admin.display(description="score p99")
    def p99_display(self, obj: ModelVersion) -> str:
        v = _metric(obj, "score_quantiles", "p99")
        return f"{v:.3f}" if isinstance(v, (int, float)) else "—"

    @admin.display(description="recall (labelled)")
    def recall_display(self, obj: ModelVersion) -> str:
        v = _metric(obj, "hostile_vs_benign", "recall")
        return f"{v:.1%}" if isinstance(v, (int, float)) else "—"

    # ── change page ────────────────────────────────────────────────────────
    @admin.display(description="training score histogram")
    def score_histogram(self, obj: ModelVersion) -> str:
        hist = _metric(obj, "score_histogram") or {}
        # safe: plots.py escapes every text it puts into the markup
        return mark_safe(histogram_svg(hist.get("edges") or [], hist.get("counts") or [],
                                       threshold=obj.threshold, title=f"{obj.version}: anomaly scores"))

    @admin.display(description="feature medians (IQR)")
    def feature_medians(self, obj: ModelVersion) -> str:
        stats = _metric(obj, "feature_stats") or {}
        names, med, iqr = stats.get("names") or [], stats.get("median") or [], stats.get("iqr") or []
        if len(names) != len(med):
            return "—"
        notes = [f"IQR {v:.3g}" for v in iqr] if len(iqr) == len(names) else None
        # counts, seconds and shares side by side: a log axis keeps every bar visible
        return mark_safe(bars_svg(names, med, title="training medians (log scale; values as printed)",
                                  notes=notes, log_scale=True))  # escaped by plots.py

    @admin.display(description="metrics")
    def metrics_table(self, obj: ModelVersion) -> str:
        data = {k: v for k, v in (obj.metrics or {}).items() if k not in ("score_histogram", "feature_stats", "shadow")}
        return key_value_table(data, "sl-metrics")

    @admin.display(description="site profile")
    def site_profile(self, obj: ModelVersion) -> str:
        from django.urls import reverse

        data = profile_admin.load(obj.version)
        if data is None:
            return "No site profile for this version on this host."
        link = format_html('<p><a href="{}">Pin a class or exempt a parameter of the active profile →</a></p>',
                           reverse("admin:smartlayer_modelversion_profile"))
        return format_html("{}{}", link, profile_admin.profile_table(data))

    @admin.display(description="shadow scoring on recent traffic")
    def shadow_report(self, obj: ModelVersion) -> str:
        return shadow_table(_metric(obj, "shadow"))

    @admin.display(description="live guard")
    def guard_state(self, obj: ModelVersion) -> str:
        state = demotion_state()
        if obj.status != "active":
            return "—"
        if state and state.get("version") == obj.version:
            return format_html("<strong>demoted to record-only</strong>: it flagged {} of scored requests for {} "
                               "minutes (bound {}); it refuses only where a rule agrees until a version is "
                               "activated", f"{float(state.get('share') or 0):.1%}", state.get("minutes"),
                               f"{float(state.get('bound') or 0):.1%}")
        return "green: deciding as configured"

    @admin.display(description="parameters")
    def params_json(self, obj: ModelVersion) -> str:
        return key_value_table(obj.params or {}, "sl-params")

    # ── actions ────────────────────────────────────────────────────────────
    # Both switch the model that decides on every request, so both need the
    # change permission: view-only staff are neither offered them nor can POST
    # them (tests/test_admin_permissions.py).
    @admin.action(description="Activate the selected version", permissions=["change"])
    def activate_version(self, request: Any, queryset: Any) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to activate.", messages.WARNING)
            return
        mv = queryset.get()
        try:
            registry.activate(mv.version, by=request.user.get_username())
        except registry.OutsideBound as exc:
            self.message_user(request, f"Not activated: {exc}. To activate it anyway, select it and run "
                              "\"Activate despite its shadow report\" (recorded).", messages.ERROR)
            return
        except registry.RegistryError as exc:
            self.message_user(request, f"Not activated: {exc}", messages.ERROR)
            return
        self.message_user(request, f"Version {mv.version} is now active.", messages.SUCCESS)

    @admin.action(description="Activate despite its shadow report (recorded)", permissions=["change"])
    def force_activate_version(self, request: Any, queryset: Any) -> None:
        """The confirmation an operator gives after reading the report: a separate,
        explicitly named action, written into the notes and the store's history."""
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to activate.", messages.WARNING)
            return
        mv = queryset.get()
        try:
            registry.activate(mv.version, by=request.user.get_username(), force=True)
        except registry.RegistryError as exc:
            self.message_user(request, f"Not activated: {exc}", messages.ERROR)
            return
        self.message_user(request, f"Version {mv.version} is now active (forced past its shadow report by "
                          f"{request.user.get_username()}, recorded).", messages.WARNING)

    @admin.action(description="Roll back to the previously active version", permissions=["change"])
    def rollback_previous(self, request: Any, queryset: Any) -> None:
        try:
            mv = registry.rollback(by=request.user.get_username())
        except registry.RegistryError as exc:
            self.message_user(request, f"Not rolled back: {exc}", messages.ERROR)
            return
        self.message_user(request, f"Rolled back: version {mv.version} is active again.", messages.SUCCESS)
