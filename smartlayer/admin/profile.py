"""Admin pages of the site profile: what was learned, and the owner's overrides.

The profile is part of a model version (``profile.json`` in its directory),
so it is activated and rolled back with the version, from the ModelVersion
admin.  Here:

* :func:`profile_table` — a version's endpoints (template, class, methods,
  clients, rate norms, parameter schemas), shown on the version's change page;
* :func:`overrides_view` — the active profile with, per endpoint, a form to
  pin its class or exempt a parameter (and to undo either).  Overrides live in
  the store (``PROFILE_OVERRIDES.json``, :meth:`ModelStore.write_overrides`),
  apply to whichever version is active, and reach every worker sharing the
  store within ``MODEL_RELOAD_INTERVAL``.  Changing them needs the change
  permission on model versions.

Reads the store: on a host without it, the pages say so.
"""
from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template import engines
from django.template.response import HttpResponse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from ..ml.store import ModelStore, ModelStoreError
from ..models import ModelVersion
from ..profile.core import CLASSES

_PAGE = """{% extends "admin/base_site.html" %}
{% block title %}Site profile | {{ site_title }}{% endblock %}
{% block content %}<h1>Site profile</h1>{{ body }}{% endblock %}"""


def load(version: str, store: ModelStore | None = None) -> dict[str, Any] | None:
    try:
        return (store or ModelStore()).load_profile(version)
    except ModelStoreError:
        return None


def _schema_text(names: dict[str, Any]) -> str:
    parts = []
    for name, s in sorted(names.items()):
        lo, hi = (s.get("len") or [0, 0])[:2]
        enum = f" one of {len(s['tags'])}" if s.get("tags") else ""
        parts.append(f"{name}: {s.get('kind')} {lo}–{hi} [{s.get('chars')}]{enum}")
    return "; ".join(parts)


def profile_table(data: dict[str, Any], overrides: dict[str, Any] | None = None, *,
                  forms: Any = None) -> SafeString:
    """The endpoints of a profile as an HTML table (``forms(template)``: extra cell, the override forms)."""
    pinned = (overrides or {}).get("class") or {}
    exempt = (overrides or {}).get("exempt_params") or {}
    rows = []
    for template, e in sorted((data.get("endpoints") or {}).items()):
        n10, n60 = (e.get("norms") or {}).get("10s") or [], (e.get("norms") or {}).get("60s") or []
        cls = pinned.get(template)
        schemas = format_html_join(mark_safe("<br>"), "{} {}", (
            (m, _schema_text(names)) for m, names in sorted((e.get("params") or {}).items())))
        rows.append(format_html(
            "<tr><td><code>{}</code></td><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "<td>{}</td><td>{}</td><td>{}</td>{}</tr>",
            template, cls or e.get("class"), format_html(" <em>(pinned; learned {})</em>", e.get("class")) if cls else "",
            ", ".join(e.get("methods") or ()), e.get("clients"),
            "/".join(str(v) for v in n10[:3]), "/".join(str(v) for v in n60[:3]), e.get("allowance_10s"),
            schemas or "—", ", ".join(exempt.get(template) or ()) or "—",
            forms(template) if forms else "",
        ))
    head = mark_safe(
        "<tr><th>template</th><th>class</th><th>methods</th><th>clients</th><th>per client / 10 s<br>p50/p90/p99</th>"
        "<th>per client / min<br>p50/p90/p99</th><th>rate allowance / 10 s</th><th>parameters (kind, length, "
        "classes)</th><th>exempt</th>" + ("<th>override</th>" if forms else "") + "</tr>")
    summary = format_html("<p>{} endpoints learned from {} requests; the site's hosts: {}.</p>",
                          len(data.get("endpoints") or {}), data.get("rows", "?"),
                          ", ".join(data.get("hosts") or ()) or "—")
    return format_html("{}<table>{}{}</table>", summary, head, mark_safe("".join(rows)))


def _forms(request: Any) -> Any:
    from django.middleware.csrf import get_token

    token = get_token(request)
    options = format_html_join("", '<option value="{}">{}</option>', ((c, c) for c in CLASSES))

    def cell(template: str) -> SafeString:
        return format_html(
            '<td><form method="post" style="display:inline"><input type="hidden" name="csrfmiddlewaretoken" '
            'value="{}"><input type="hidden" name="template" value="{}"><select name="pin"><option value="">'
            "learned</option>{}</select> <input name=\"exempt\" placeholder=\"parameter to exempt\" size=\"12\"> "
            '<input name="unexempt" placeholder="parameter to check again" size="12"> '
            '<input type="submit" value="Apply"></form></td>', token, template, options)

    return cell


def apply_override(store: ModelStore, template: str, *, pin: str = "", exempt: str = "",
                   unexempt: str = "") -> dict[str, Any]:
    """Pin (or unpin, ``pin=""``) a template's class; exempt a parameter or check it again."""
    if pin and pin not in CLASSES:
        raise ValueError(f"unknown class {pin!r}")
    overrides = store.read_overrides()
    if pin:
        overrides["class"][template] = pin
    else:
        overrides["class"].pop(template, None)
    names = set(overrides["exempt_params"].get(template) or ())
    if exempt:
        names.add(exempt[:64])
    names.discard(unexempt)
    if names:
        overrides["exempt_params"][template] = sorted(names)
    else:
        overrides["exempt_params"].pop(template, None)
    store.write_overrides(overrides)
    return overrides


def overrides_view(model_admin: Any, request: Any) -> HttpResponse:
    """The active profile with the owner's override forms (see the module docstring)."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    store = ModelStore()
    active = ModelVersion.objects.filter(status="active").first()
    if request.method == "POST":
        if not model_admin.has_change_permission(request):
            raise PermissionDenied
        template = str(request.POST.get("template", ""))[:500]
        try:
            apply_override(store, template, pin=request.POST.get("pin", ""), exempt=request.POST.get("exempt", ""),
                           unexempt=request.POST.get("unexempt", ""))
        except (ValueError, OSError, ModelStoreError) as exc:
            model_admin.message_user(request, f"Not changed: {exc}", messages.ERROR)
        else:
            model_admin.message_user(request, f"Overrides of {template} saved; workers pick them up within "
                                              "MODEL_RELOAD_INTERVAL.", messages.SUCCESS)
        return HttpResponseRedirect(request.path)
    data = load(active.version, store) if active is not None else None
    if data is None:
        body = format_html("<p>{}</p>", "No active version has a site profile on this host (train_smartlayer "
                                        "learns one with the model).")
    else:
        try:
            overrides = store.read_overrides()
        except ModelStoreError as exc:
            overrides = {}
            model_admin.message_user(request, str(exc), messages.ERROR)
        forms = _forms(request) if model_admin.has_change_permission(request) else None
        body = format_html("<p>Active version <strong>{}</strong>.</p>{}", active.version,
                           profile_table(data, overrides, forms=forms))
    context = {**model_admin.admin_site.each_context(request), "body": body}
    return HttpResponse(engines["django"].from_string(_PAGE).render(context, request))
