"""The lifecycle of model versions: register, activate, roll back.

The database (:class:`~smartlayer.models.ModelVersion`) is the record of what
exists and which version is active (a constraint allows at most one); the
store's ``ACTIVE`` pointer and the cache key are how running workers learn
about it (see :mod:`.runtime`).  :func:`activate` changes all three, in this
order: verify the version's files, flip the statuses and write the pointer
inside one transaction (a failed pointer write rolls the statuses back),
then set the cache key and send :data:`~smartlayer.signals.model_activated`.
A version whose shadow report (:mod:`smartlayer.ml.training.shadow`) is
outside the bound is not activated unless forced, and a forced activation is
recorded — in the version's notes and the store's ``HISTORY`` — with who did it.

"Previous" for :func:`rollback` is the retired version activated most
recently — the one that was active just before the current one.  Rolling back
twice therefore returns to where you started (an undo, not a history walk);
to go further back, activate a version by name.
"""
from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .. import signals
from ..conf import sl_settings
from ..models import ModelVersion
from ..state.cache import get_cache
from ..state.failures import report_failure
from .guard import bound_for, clear_demotion, contamination_of, guard_verdict
from .runtime import active_cache_key
from .store import ModelStore, ModelStoreError


class RegistryError(Exception):
    """An activation or rollback that cannot be done (and changed nothing)."""


class OutsideBound(RegistryError):
    """The version's shadow report says it would refuse more than the bound allows."""


def shadow_verdict(report: dict[str, Any] | None, manifest: dict[str, Any]) -> str | None:
    """Why a version's shadow report forbids activating it, or None.

    Two gates, both read now (not when the report was written, so tightening a
    setting applies to waiting candidates too):

    * the **refused share** within ``MODEL_BOUND_FACTOR`` × contamination;
    * the **flagged share** within what the live guard tolerates
      (``MODEL_GUARD_FACTOR`` × contamination, with ``MODEL_GUARD_CLIENT_SHARE``
      of the clients flagged): a candidate that flags most of the recent
      traffic would be demoted minutes after activation — it does not know
      the site, whatever it refuses while it lasts.

    A version without a report (trained before shadow scoring existed) or whose
    report found no recent traffic is not held back.
    """
    if not report or not (report.get("window") or {}).get("requests"):
        return None
    share = float(report.get("refused_share") or 0.0)
    bound = bound_for(manifest)
    if share > bound:
        return (f"shadow scoring: it would refuse {share:.2%} of recent requests that the rules alone serve "
                f"(bound {bound:.2%} = MODEL_BOUND_FACTOR {float(sl_settings.MODEL_BOUND_FACTOR):g} × "
                f"contamination {contamination_of(manifest):g})")
    return guard_verdict(report.get("candidate") or {}, manifest)


def shadow_summary(report: dict[str, Any] | None) -> dict[str, Any] | None:
    """The part of a shadow report the admin shows (kept in the registry row)."""
    if not report:
        return None
    keep = ("window", "rules", "candidate", "active", "change", "bound", "bound_factor", "refused_share",
            "guard_bound", "guard_demotes", "within_bound", "labels")
    return {k: report[k] for k in keep if k in report}


def _dt(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    parsed = parse_datetime(str(value))
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, timezone.utc)
    return parsed


def register(manifest: dict[str, Any], *, sha256: str = "", notes: str = "",
             shadow: dict[str, Any] | None = None) -> ModelVersion:
    """Record a stored version as a *candidate*.

    ``sha256`` is the manifest file's hash (:meth:`.ModelStore.manifest_sha256`);
    :func:`activate` refuses a version whose manifest no longer matches it.
    """
    training = manifest.get("training") or {}
    # the admin draws from the database alone (the store may live on another host)
    metrics = dict(manifest.get("metrics") or {})
    if "score_histogram" in manifest:
        metrics["score_histogram"] = manifest["score_histogram"]
    if "profile" in manifest:
        metrics["profile"] = manifest["profile"]
    if "feature_stats" in manifest:
        stats = manifest["feature_stats"]
        metrics["feature_stats"] = {"names": list(manifest.get("feature_names") or []),
                                    "median": stats.get("median"), "iqr": stats.get("iqr")}
    summary = shadow_summary(shadow)
    if summary is not None:
        metrics["shadow"] = summary
    version = manifest["version"]
    if ModelVersion.objects.filter(version=version).exists():
        raise RegistryError(f"model version {version} is already registered")
    return ModelVersion.objects.create(
        version=version,
        status="candidate",
        feature_set=str(manifest.get("feature_set", "")),
        training_start=_dt(training.get("start")),
        training_end=_dt(training.get("end")),
        samples=int(manifest.get("samples") or 0),
        clients=int(manifest.get("clients") or 0),
        threshold=manifest.get("threshold"),
        metrics=metrics,
        params=manifest.get("params") or {},
        sha256=sha256,
        notes=notes,
    )


def activate(version: str, *, by: str = "", store: ModelStore | None = None, force: bool = False) -> ModelVersion:
    """Make ``version`` the active model everywhere; retire the previous one.

    Refused (:class:`OutsideBound`) when the version's shadow report is
    outside the bound, unless ``force``; a forced activation is written in
    the version's notes and the store's history with who did it.
    Activating clears a demotion by the live guard.
    """
    store = store or ModelStore()
    try:
        mv = ModelVersion.objects.get(version=version)
    except ModelVersion.DoesNotExist:
        raise RegistryError(f"no registered model version {version!r}") from None
    try:
        manifest = store.verify(version)
        store.load(version)
        if mv.sha256 and store.manifest_sha256(version) != mv.sha256:
            raise ModelStoreError(f"model version {version}: the manifest in the store differs from the "
                                  "one registered (tampered with or replaced)")
        report = store.read_report(version)
    except ModelStoreError as exc:
        raise RegistryError(str(exc)) from None
    verdict = shadow_verdict(report, manifest)
    if verdict and not force:
        raise OutsideBound(f"model version {version} not activated: {verdict}; override with --force "
                           "(train_smartlayer) or the admin's force action")
    forced = bool(verdict)

    now = timezone.now()
    with transaction.atomic():
        rows = list(ModelVersion.objects.select_for_update().filter(status="active").exclude(pk=mv.pk))
        previous = rows[0].version if rows else None
        for row in rows:
            row.status = "retired"
            row.save(update_fields=["status"])
        mv.refresh_from_db()
        mv.status = "active"
        mv.activated_at = now
        line = f"{now:%Y-%m-%d %H:%M:%S} UTC activated" + (f" by {by}" if by else "") + (
            f" (previous: {previous})" if previous else "") + (f", FORCED past the bound: {verdict}" if forced else "")
        mv.notes = f"{mv.notes}\n{line}".strip()
        mv.save(update_fields=["status", "activated_at", "notes"])
        store.set_active(version)  # inside: if this fails, the statuses roll back

    try:
        store.record({"at": now.isoformat(), "event": "activate", "version": version, "by": by,
                      "previous": previous, "forced": forced,
                      "refused_share": (report or {}).get("refused_share"), "bound": bound_for(manifest)})
    except OSError as exc:  # the database row and its notes keep the record
        report_failure("model", f"cannot write the store's history: {exc}")
    try:
        get_cache().set(active_cache_key(), {"version": version, "at": time.time()}, timeout=None)
    except Exception as exc:  # noqa: BLE001 - other hosts still see the pointer/DB
        report_failure("cache", exc)
    clear_demotion()
    signals.model_activated.send(sender=ModelVersion, version=version, previous=previous, by=by, forced=forced)
    return mv


def previous_version() -> ModelVersion | None:
    """The version :func:`rollback` would activate."""
    current = ModelVersion.objects.filter(status="active").first()
    qs = ModelVersion.objects.filter(status="retired", activated_at__isnull=False)
    if current is not None:
        qs = qs.exclude(pk=current.pk)
    return qs.order_by("-activated_at", "-pk").first()


def rollback(*, by: str = "", store: ModelStore | None = None) -> ModelVersion:
    """Re-activate the version that was active before the current one."""
    target = previous_version()
    if target is None:
        raise RegistryError("nothing to roll back to: no version was active before the current one")
    return activate(target.version, by=f"{by} (rollback)" if by else "rollback", store=store)
