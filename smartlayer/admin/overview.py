"""The overview page: who was refused, why, how the model and the LLM are doing.

Listed on the admin index as *Overview* (a proxy of the request log, see
:class:`smartlayer.models.Overview`); staff who may view the request log may
view it.  The last 24 hours or 7 days: totals, requests and refusals per hour
as server-side SVG charts, refusals by component and reason code, the most
refused clients with links to their log rows and their ban, the active bans,
the active model's flagged share live against training, and the LLM's calls
against its budget.  The figures come from :mod:`.overview_data`.
"""
from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.safestring import mark_safe

from ..models import Overview
from ..request.reasons import entry
from .charts import PALETTE, panels_svg, timeline_svg
from .links import ban_url, log_url
from .overview_data import PERIODS, Figures, gather

COMPONENT_COLOURS = {"ban": PALETTE[1], "anomaly": PALETTE[0], "validator": PALETTE[2], "ratelimit": PALETTE[3]}


@admin.register(Overview)
class OverviewAdmin(admin.ModelAdmin):
    """Not a list of rows: the changelist URL renders the overview."""

    def has_view_permission(self, request: Any, obj: Any = None) -> bool:
        # the page is made of the request log: whoever may read that may read this
        return request.user.is_active and request.user.is_staff and request.user.has_perm("smartlayer.view_requestlog")

    def has_module_permission(self, request: Any) -> bool:
        return self.has_view_permission(request)

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list:
        from django.urls import path

        info = self.opts.app_label, self.opts.model_name
        return [path("", self.admin_site.admin_view(self.changelist_view), name=f"{info[0]}_{info[1]}_changelist")]

    def changelist_view(self, request: Any, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        from django.core.exceptions import PermissionDenied

        if not self.has_view_permission(request):
            raise PermissionDenied
        period = request.GET.get("period", "24h")
        period = period if period in PERIODS else "24h"
        fig = gather(period)
        context = {
            **self.admin_site.each_context(request),
            "title": "smartlayer overview",
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "period": period,
            "periods": [(k, "last 24 hours" if k == "24h" else "last 7 days") for k in PERIODS],
            "fig": fig,
            "refused_share": f'{fig.totals["refused"] / fig.totals["requests"]:.1%}' if fig.totals["requests"] else "",
            "requests_chart": mark_safe(timeline_svg(  # plots escape every text
                fig.hours, [("requests", fig.requests_per_hour)], title="requests per hour (UTC)")),
            "refusals_chart": mark_safe(_refusals_chart(fig)),
            "reasons": [_reason_row(r) for r in fig.by_reason],
            "components": [{**c, "url": log_url(blocked_by=c["blocked_by"])} for c in fig.by_component],
            "clients": [_client_row(c) for c in fig.top_clients],
            "bans": [{"ban": b, "url": ban_url(b.pk), "log": log_url(client_key=b.client_key)}
                     for b in fig.bans["latest"]],
            "bans_url": reverse("admin:smartlayer_ban_changelist") + "?state=active",
            "model": _model_view(fig),
            "log_url": log_url(),
            "refused_url": log_url(was_blocked__exact=1),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/smartlayer/overview.html", context)


def _refusals_chart(fig: Figures) -> str:
    """One band per component, each on its own scale: bans outnumbering the rest must not hide them."""
    series = list(fig.refusals_per_hour.items())
    colours = [COMPONENT_COLOURS.get(name, PALETTE[5]) for name, _ in series]
    return panels_svg(fig.hours, series, title="refusals per hour by component (UTC)", colours=colours)


def _reason_row(r: dict[str, Any]) -> dict[str, Any]:
    found = entry(r["reason"]) if r["reason"] else None
    return {**r, "meaning": found.meaning if found else "",
            "url": log_url(reason=r["reason"], blocked_by=r["blocked_by"],
                           **({"was_blocked__exact": 1} if r["was_blocked"] else {"monitor_only__exact": 1}))}


def _client_row(c: dict[str, Any]) -> dict[str, Any]:
    ban = c.get("ban")
    return {**c, "url": log_url(client_key=c["client_key"]),
            "refused_url": log_url(client_key=c["client_key"], was_blocked__exact=1),
            "ban_url": ban_url(ban.pk) if ban is not None else "",
            "reason_url": log_url(reason=c["top_reason"], client_key=c["client_key"]) if c["top_reason"] else ""}


def _model_view(fig: Figures) -> dict[str, Any]:
    m = dict(fig.model)
    mv = m.get("version")
    if mv is not None:
        m["url"] = reverse("admin:smartlayer_modelversion_change", args=[mv.pk])
        training, live = m.get("training_flagged"), m.get("live_flagged")
        m["training_pct"] = f"{training:.2%}" if isinstance(training, (int, float)) else ""
        m["live_pct"] = f"{live:.2%}" if isinstance(live, (int, float)) else ""
        if isinstance(training, (int, float)) and isinstance(live, (int, float)) and training > 0:
            # far more flagged live than in training: the traffic moved away from what the model learned
            # (false positives ahead); fewer is what a model trained with a contamination margin shows
            m["ratio"] = live / training
            m["drift"] = m["ratio"] > 3
    m["versions_url"] = reverse("admin:smartlayer_modelversion_changelist")
    return m
