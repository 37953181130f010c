"""Training: history → vectors → Isolation Forest → threshold → evaluation → store.

The ``train_smartlayer`` command is a thin shell over :func:`train`; the
offline pipeline in ``training/`` and the benchmarks call :func:`fit_frame`
directly on a DataFrame.

Steps, and the choices made:

1. **Data.**  RequestLog rows of the look-back window (``MODEL_LOOKBACK_DAYS``
   or ``since``/``until``) via :func:`~.features.requestlog_frame` (served
   requests only: refused requests, a client's requests while it was banned
   and exempt paths are left out, and the run says how many of each), or an
   access log via :func:`~.features.records_frame`.
2. **Vectors.**  :func:`~.features.frame_to_vectors` replays every row through
   the same window class as the middleware and extracts vectors only for
   requests past the grace period.  Memory is bounded: at most
   ``MODEL_MAX_SAMPLES`` vectors (uniform reservoir sample), and when there
   are many more rows than that, only every k-th request of a client is a
   candidate (``k = rows // (2 * max_vectors)``) so extraction cost stays
   proportional to the sample, not to the history.
3. **Fit.**  :class:`WindowAnomalyModel` — an ``IsolationForest`` with
   ``MODEL_PARAMS`` (overridable per run), plus what the runtime needs next to
   it: the compiled forest, the threshold and per-feature medians/IQRs.
4. **Threshold.**  The ``1 - contamination`` quantile of the training
   vectors' anomaly scores — i.e. a share ``contamination`` of the served
   traffic scores above it.  This is exactly scikit-learn's ``offset_``
   (``threshold = -offset_``), so ``model.joblib``'s ``predict`` agrees.  With
   ``contamination="auto"`` it is the paper's 0.5.
5. **Evaluation.**  The training score distribution (quantiles, histogram,
   share above the threshold).  With labels (a labelled access log, generated
   traffic) also per-label flag rates and precision/recall of hostile vs
   benign — in-sample, but the labels were not used to fit.
6. **Shadow scoring.**  The candidate replayed on the most recent traffic
   beside the rules and the active version (:mod:`.shadow`); the report is
   stored with the version and printed.
7. **Store, register, activate.**  A new immutable version directory, a
   *candidate* row in the registry, and activation only if asked
   (``activate=True``) or if no version is active yet (``activate=None``, the
   default): the first model goes live by itself; later ones wait for a human
   (admin action or ``--activate``), because a model retrained on a poisoned
   week should not replace a good one unattended.  A candidate whose shadow
   report is outside the bound is not activated unless ``force``.

Safe from cron: the whole run holds ``<store>/.train.lock``; a second run
fails at once (:class:`TrainingLocked`) or waits (``wait=True``).  Nothing is
written before the data check passes, a failed write removes the partial
version, and the active model changes only in the final activation step.
"""
from __future__ import annotations

import contextlib
import platform
import secrets
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Any

import numpy as np
import pandas as pd

from ...conf import sl_settings
from ..features import FEATURE_NAMES, FEATURE_SET_VERSION
from ..store import SHADOW_FILE, ModelStore, StoreLocked
from .errors import NotEnoughData, TrainingError, TrainingLocked
from .evaluate import evaluate_labels  # noqa: F401 - re-exported: the offline pipeline imports it from here
from .frames import Progress, frame_to_vectors
from .model import WindowAnomalyModel
from .poison import trim
from .shadow import active_model, format_report, score_candidate
from .sources import (  # noqa: F401 - re-exported: callers import them from here
    TrainOptions,
    default_window,
    learn_site_profile,
    load_frame,
    profile_summary,
    rows_read,
)
from .sustained import sustained_threshold
from .tells import tell_ceilings

HISTOGRAM_BINS = 50
# ─────────────────────────────────────────────────────────────────────────────
# Options, data, evaluation
# ─────────────────────────────────────────────────────────────────────────────

@dataclass
class TrainResult:
    version: str | None          # None for a dry run
    manifest: dict[str, Any]
    activated: bool = False
    dry_run: bool = False
    registered: bool = True
    shadow: dict[str, Any] | None = None   # the shadow report (.shadow)
    held_back: str = ""                    # why it was not activated although asked to

    @property
    def metrics(self) -> dict[str, Any]:
        return self.manifest.get("metrics", {})

    def summary(self) -> str:
        m = self.metrics
        q = m.get("score_quantiles", {})
        head = "dry run (nothing written)" if self.dry_run else f"version {self.version}"
        read = rows_read(self.manifest.get("training", {}))
        lines = [
            f"{head}: {self.manifest['samples']} vectors from {m.get('rows', 0)} rows, "
            f"{self.manifest['clients']} clients",
            *([read] if read else []),
            f"threshold {self.manifest['threshold']:.4f} (contamination {self.manifest['params'].get('contamination')}); "
            f"{m.get('share_above_threshold', 0):.2%} of training vectors above it",
            "scores: " + ", ".join(f"{k} {v:.3f}" for k, v in q.items()),
        ]
        prof = self.manifest.get("profile")
        if prof:
            lines.append(f"site profile: {prof['endpoints']} endpoints (" +
                         ", ".join(f"{n} {c}" for c, n in sorted(prof["classes"].items())) + ")")
        evaluation = m.get("labels")
        if evaluation:
            overall = m.get("hostile_vs_benign", {})
            if "recall" in overall:
                lines.append(f"labelled: hostile vs benign precision {overall['precision']:.3f}, "
                             f"recall {overall['recall']:.3f}")
            for label, row in sorted(evaluation.items()):
                extra = f", precision {row['precision']:.3f}" if "precision" in row else ""
                lines.append(f"  {label:<22} {row['vectors']:>7} vectors, {row['share_flagged']:.1%} flagged{extra}")
        if self.shadow is not None:
            from .shadow import format_report

            lines.append(format_report(self.shadow))
        if not self.dry_run:
            if not self.registered:
                lines.append("stored, not registered")
            elif self.held_back:
                lines.append(f"registered as a candidate, NOT activated: {self.held_back}")
            else:
                lines.append("activated" if self.activated else "registered as a candidate (not activated)")
        return "\n".join(lines)


def library_versions() -> dict[str, str]:
    import sklearn

    from ... import __version__

    return {"python": platform.python_version(), "numpy": np.__version__, "sklearn": sklearn.__version__,
            "pandas": pd.__version__, "smartlayer": __version__}


# ─────────────────────────────────────────────────────────────────────────────
# The pipeline
# ─────────────────────────────────────────────────────────────────────────────

@dataclass
class FitOutput:
    model: WindowAnomalyModel
    X: np.ndarray
    meta: pd.DataFrame
    manifest: dict[str, Any]
    #: the clients left out whole (mostly above the current model's threshold, :func:`.poison.trim`)
    left_out_clients: frozenset[str] = frozenset()


def fit_frame(df: pd.DataFrame, *, params: dict[str, Any] | None = None, max_vectors: int | None = None,
              min_samples: int | None = None, sample_every: int | None = None, seed: int = 0,
              source: dict[str, Any] | None = None, progress: Progress | None = None,
              log: Callable[[str], None] | None = None, trim_share: float | None = None,
              reference: Any = None, profile: Any = None) -> FitOutput:
    """Vectors, fit, threshold and evaluation for one frame; writes nothing.

    ``trim_share`` (default ``MODEL_TRIM_SHARE``) of the most anomalous
    vectors under ``reference`` (the current model; None: no trimming)
    are left out of the fit, and the clients mostly above its threshold out of
    the fit and the threshold (:func:`.poison.trim`); the evaluation (score
    quantiles, labels) covers every vector.

    ``profile``: the site profile the model will serve with (a learned profile's dict or a
    :class:`~smartlayer.profile.core.Profile`): the features read its request classes.

    Raises :class:`NotEnoughData` when fewer than ``min_samples`` vectors
    (scored requests, :func:`~smartlayer.ml.features.scored`) come out of ``df``.
    """
    log = log or (lambda msg: None)
    params = dict(sl_settings.MODEL_PARAMS if params is None else params)
    max_vectors = int(max_vectors or sl_settings.MODEL_MAX_SAMPLES)
    min_samples = int(sl_settings.MODEL_MIN_SAMPLES if min_samples is None else min_samples)
    rows = len(df)
    if sample_every is None:
        sample_every = max(1, rows // (2 * max_vectors))
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    if isinstance(profile, dict):
        from ...profile.core import Profile

        profile = Profile(profile)
    X, meta = frame_to_vectors(df, sample_every=sample_every, max_vectors=max_vectors, seed=seed,
                               progress=progress, profile=profile, own_assets=profile is not None)
    timings["vectors"] = time.perf_counter() - t0
    every = "every request" if sample_every == 1 else f"every {sample_every}th request of a client"
    log(f"{len(X)} vectors from {rows} rows ({every}, at most {max_vectors}) in {timings['vectors']:.1f}s")
    if len(X) < max(min_samples, 2):
        read = rows_read(source or {})
        raise NotEnoughData(
            f"too little data to train: {len(X)} scored requests (from a client's "
            f"{sl_settings.MODEL_SCORE_FROM}th request, beacons and assets left out) in {rows} rows{f' ({read})' if read else ''}; "
            f"at least {min_samples} are needed (MODEL_MIN_SAMPLES / --min-samples). Nothing was written.")

    t0 = time.perf_counter()
    fit, calib, trimmed = trim(X, meta, share=trim_share, reference=reference)
    timings["trim"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if trimmed.get("vectors"):
        log(f"left out {trimmed['vectors']} vectors, the most anomalous under {trimmed['under']} and "
            f"{trimmed['clients_whole']} clients mostly above its threshold, in {timings['trim']:.1f}s")
        model = WindowAnomalyModel(**params).fit(X[fit])
        scores = model.anomaly_scores(X)
        model.calibrate(scores[calib])
    else:
        model = WindowAnomalyModel(**params).fit(X)
        scores = model.training_scores_
    timings["fit"] = time.perf_counter() - t0
    threshold = model.threshold_
    log(f"fitted {model.n_estimators} trees in {timings['fit']:.1f}s; threshold {threshold:.4f}")

    counts, edges = np.histogram(scores, bins=HISTOGRAM_BINS, range=(0.0, 1.0))
    qs = {"p01": 1, "p50": 50, "p90": 90, "p99": 99, "p99.9": 99.9, "max": 100}
    metrics: dict[str, Any] = {
        "rows": rows,
        "vectors": int(len(X)),
        "sample_every": int(sample_every),
        "share_above_threshold": float((scores[calib] >= threshold).mean()),
        "score_quantiles": {k: float(np.percentile(scores, q)) for k, q in qs.items()},
        "score_mean": float(scores.mean()),
        "seconds": {k: round(v, 3) for k, v in timings.items()},
        "trimmed": trimmed,
    }
    metrics.update(evaluate_labels(scores, threshold, meta))
    clients = int(meta["client_key"].nunique())
    source = dict(source or {})
    if len(meta):
        source.setdefault("start", datetime.fromtimestamp(float(meta["ts"].min()), dt_timezone.utc).isoformat())
        source.setdefault("end", datetime.fromtimestamp(float(meta["ts"].max()), dt_timezone.utc).isoformat())
    source.update(rows=rows, clients_in_data=int(df["client_key"].nunique()) if rows else 0,
                  sample_every=int(sample_every), max_vectors=max_vectors, seed=seed)
    manifest: dict[str, Any] = {
        "created": datetime.now(dt_timezone.utc).isoformat(),
        "feature_set": FEATURE_SET_VERSION,
        "feature_names": list(FEATURE_NAMES),
        "libraries": library_versions(),
        "params": model.effective_params(),
        "threshold": threshold,
        "threshold_rule": ("1 - contamination quantile of the training anomaly scores "
                           "(= -IsolationForest.offset_); 0.5 for contamination='auto'"),
        "score_direction": "higher = more anomalous, in (0, 1)",
        "training": source,
        "samples": int(fit.sum()),
        "clients": clients,
        "metrics": metrics,
        "score_histogram": {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]},
        "feature_stats": model.feature_stats(),
        "tell_ceilings": tell_ceilings(X[calib]),
        # the tells read the profile's request classes: learned without them (every GET a bare, silent
        # page view), the ceilings are floors learned from nothing — they may corroborate a flag, never
        # refuse on their own (model:tells)
        "tells_profiled": profile is not None,
        # a page view is bare only when it fetched none of its own files (the profile says which pages
        # have them): extract()'s own_assets, read the same way when this version is served
        "own_assets": profile is not None,
        "sustained_threshold": sustained_threshold(
            scores[calib], meta["client_key"].to_numpy()[calib], meta["ts"].to_numpy(dtype=float)[calib],
            threshold, sample_every=sample_every),
        "window": {"WINDOW_SECONDS": float(sl_settings.WINDOW_SECONDS),
                   "WINDOW_MAX_EVENTS": int(sl_settings.WINDOW_MAX_EVENTS),
                   "grey_grace_requests": int(sl_settings.grey_grace_requests)},
    }
    left_out = frozenset(meta["client_key"].to_numpy(dtype=object)[~calib].tolist()) if not calib.all() else frozenset()
    return FitOutput(model=model, X=X, meta=meta, manifest=manifest, left_out_clients=left_out)


def fit_with_profile(df: pd.DataFrame, learn: Callable[[frozenset[str]], dict[str, Any] | None] | None, *,
                     log: Callable[[str], None] | None = None, **fit: Any) -> tuple[FitOutput, dict[str, Any] | None]:
    """The model and the site profile of one window, the profile learned without the clients the
    fit leaves out whole.

    ``learn(leave_out)``: the window's profile learned without the requests of the clients in
    ``leave_out`` (None: no profile).  The profile comes first (the features read its request
    classes); when the fit then leaves out clients mostly above the current model's threshold
    (:func:`.poison.trim`), the profile is learned again without them and the model fitted again
    on it.  Slow-drip attackers never refused are such clients: learned from their requests, the
    profile took their sensitive paths and walked IDs for the site's own, and its rules refused a
    quarter less of them (``training/poisoning.py``), although the model kept flagging them.
    Costs a second pass only on a window with such clients."""
    log = log or (lambda msg: None)
    profile = learn(frozenset()) if learn is not None else None
    fitted = fit_frame(df, log=log, profile=profile, **fit)
    if profile is not None and fitted.left_out_clients:
        log(f"learning the site profile again without the {len(fitted.left_out_clients)} clients mostly "
            f"above the current model's threshold, and fitting on it")
        profile = learn(fitted.left_out_clients)
        fitted = fit_frame(df, log=log, profile=profile, **fit)
    return fitted, profile


def new_version_name() -> str:
    return f"{datetime.now(dt_timezone.utc):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def terminal_progress(stream: Any = None) -> Progress | None:
    """A progress printer for an interactive stderr, None otherwise (cron mail stays short)."""
    stream = stream or sys.stderr
    if not getattr(stream, "isatty", lambda: False)():
        return None
    started = time.monotonic()

    def show(done: int, total: int) -> None:
        pct = 100.0 * done / total if total else 100.0
        rate = done / max(1e-9, time.monotonic() - started)
        stream.write(f"\r  replaying rows: {done:,}/{total:,} ({pct:5.1f}%, {rate:,.0f} rows/s)")
        if done >= total:
            stream.write("\n")
        stream.flush()

    return show


def train(opts: TrainOptions, *, store: ModelStore | None = None, log: Callable[[str], None] | None = None,
          progress: Progress | None = None) -> TrainResult:
    """The whole run (see the module docstring).  Raises :class:`TrainingError`."""
    from .. import registry

    log = log or (lambda msg: None)
    store = store or ModelStore()
    params = opts.model_params()
    guard = contextlib.nullcontext() if opts.dry_run else store.lock(wait=opts.wait)
    try:
        with guard:
            df, source = load_frame(opts)
            log(rows_read(source) or f"loaded {len(df)} rows ({source.get('source')})")
            # the profile first: the features read its request classes, and the candidate is
            # shadow-scored with it, as it would decide live
            fitted, profile = fit_with_profile(
                df, (lambda leave_out: learn_site_profile(opts, log, leave_out)) if opts.profile else None,
                params=params, max_vectors=opts.max_vectors, min_samples=opts.min_samples,
                sample_every=opts.sample_every, seed=opts.seed, source=source, progress=progress, log=log,
                reference=active_model(store))
            version = "dry-run" if opts.dry_run else new_version_name()
            if profile is not None:
                fitted.manifest["profile"] = profile_summary(profile)
            shadow = score_candidate(fitted.model, fitted.manifest, version, store=store,
                                     frame=df if opts.access_log else None, profile=profile, end=opts.shadow_until)
            log(format_report(shadow))
            del df
            if opts.dry_run:
                return TrainResult(version=None, manifest=fitted.manifest, dry_run=True, shadow=shadow)

            store.save(version, estimator=fitted.model.forest_, forest=fitted.model.compiled_,
                       manifest=fitted.manifest, profile=profile, reports={SHADOW_FILE: shadow})
            try:
                manifest = store.read_manifest(version)
                registry.register(manifest, sha256=store.manifest_sha256(version), shadow=shadow)
            except BaseException:
                # a version nobody registered must not linger as if it were one
                shutil.rmtree(store.path(version), ignore_errors=True)
                raise
            log(f"stored and registered version {version} in {store.root}")
            activate = opts.activate
            if activate is None:
                from ...models import ModelVersion

                activate = not ModelVersion.objects.filter(status="active").exists()
            held = ""
            if activate:
                try:
                    registry.activate(version, by="train_smartlayer" + (" --force" if opts.force else ""),
                                      store=store, force=opts.force)
                except registry.OutsideBound as exc:  # nightly --activate: only candidates inside the bound
                    held, activate = str(exc), False
                except registry.RegistryError as exc:
                    raise TrainingError(f"version {version} was stored and registered but not activated: {exc}") from None
            return TrainResult(version=version, manifest=manifest, activated=bool(activate), shadow=shadow,
                               held_back=held)
    except StoreLocked as exc:
        raise TrainingLocked(str(exc)) from None

