"""Offline training pipeline: data → vectors → model → (held-out evaluation) → model store.

Runs the same code as ``manage.py train_smartlayer`` (:func:`smartlayer.ml.training.train.fit_frame`,
:class:`smartlayer.ml.store.ModelStore`) without needing the site's database,
so a model can be trained on an exported log on another machine and the
version directory copied into the site's ``MODEL_STORE``::

    # a week of the site's access log, evaluated on a labelled day
    python training/pipeline.py --access-log access.log.1.gz --eval-access-log labelled.log --store ./models_store

    # a RequestLog export (CSV with the RequestLog column names)
    python training/pipeline.py --csv requestlog.csv --store ./models_store --contamination 0.005

    # generated traffic (smartlayer.sim): a normal week, evaluated on an attack day
    python training/pipeline.py --generated --eval-generated --store /tmp/store

    # inside a project: its settings, and register the version as a candidate
    DJANGO_SETTINGS_MODULE=mysite.settings python training/pipeline.py --requestlog --register

Without ``--store`` nothing is written (a dry run that prints the metrics).
``--json`` prints the manifest's metrics as JSON for scripts.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def setup_django(store: str | None) -> None:
    """The project's settings when DJANGO_SETTINGS_MODULE is set, else a minimal
    configuration (smartlayer's defaults, the store given on the command line)."""
    import django
    from django.conf import settings

    if not os.environ.get("DJANGO_SETTINGS_MODULE") and not settings.configured:
        sm: dict[str, Any] = {"EXEMPT_PATHS": ["/static/", "/media/", "/favicon.ico", "/health"]}
        if store:
            sm["MODEL_STORE"] = store
        settings.configure(SMART_MIDDLEWARE=sm, USE_TZ=True)
    django.setup()
    if store and os.environ.get("DJANGO_SETTINGS_MODULE"):
        settings.SMART_MIDDLEWARE = {**getattr(settings, "SMART_MIDDLEWARE", {}), "MODEL_STORE": store}
        from smartlayer.conf import reload

        reload()


def csv_frame(path: str):
    """A RequestLog export: ``timestamp`` (ISO) or ``ts`` (unix seconds); ``user_id``
    or ``authenticated``; the other FRAME_COLUMNS as named in RequestLog."""
    import pandas as pd

    from smartlayer.ml.features import FRAME_COLUMNS
    from smartlayer.ml.training.frames import drop_exempt

    df = pd.read_csv(path)
    if "ts" not in df.columns:
        df["ts"] = pd.to_datetime(df["timestamp"], utc=True).astype("int64") / 1e9
    if "authenticated" not in df.columns:
        df["authenticated"] = df["user_id"].notna() if "user_id" in df.columns else False
    if "was_blocked" not in df.columns:
        df["was_blocked"] = False
    df = df[~df["was_blocked"].astype(bool)]
    if "monitor_only" in df.columns:
        df = df[~df["monitor_only"].astype(bool)]
    df["user_agent"] = df["user_agent"].fillna("")
    keep = [c for c in (*FRAME_COLUMNS, "label") if c in df.columns]
    return drop_exempt(df[keep]).reset_index(drop=True)


def load(args: argparse.Namespace, *, evaluation: bool = False):
    """The training frame (or, with ``evaluation``, the held-out one) and its source."""
    from smartlayer.ml.training.frames import records_frame

    if evaluation:
        if args.eval_access_log:
            from smartlayer.offline.accesslog import iter_log

            return records_frame(iter_log(args.eval_access_log), key="ip"), args.eval_access_log
        from smartlayer.sim import DEFAULT_START, generate_attack_day

        day = generate_attack_day(args.seed + 1, start=DEFAULT_START + 8 * 86400, humans=args.humans // 2)
        return records_frame(day), "generated attack day"
    if args.access_log:
        from smartlayer.offline.accesslog import iter_log

        return records_frame(iter_log(args.access_log), key="ip"), {"source": "access_log", "path": args.access_log}
    if args.csv:
        return csv_frame(args.csv), {"source": "csv", "path": args.csv}
    if args.requestlog:
        from smartlayer.ml.training.frames import requestlog_frame
        from smartlayer.ml.training.train import default_window

        since, until = default_window()
        return requestlog_frame(since, until), {"source": "requestlog", "start": since.isoformat(),
                                                "end": until.isoformat()}
    from smartlayer.sim import generate_normal_week

    return records_frame(generate_normal_week(args.seed, humans=args.humans)), {"source": "generated",
                                                                               "seed": args.seed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--access-log", help="combined/JSON-lines access log (.gz ok); clients keyed by IP")
    src.add_argument("--csv", help="RequestLog export as CSV")
    src.add_argument("--requestlog", action="store_true", help="the project's RequestLog (needs its settings)")
    src.add_argument("--generated", action="store_true", help="a generated normal week (smartlayer.sim)")
    ev = parser.add_mutually_exclusive_group()
    ev.add_argument("--eval-access-log", help="labelled access log to evaluate the model on")
    ev.add_argument("--eval-generated", action="store_true", help="evaluate on a generated attack day")
    parser.add_argument("--store", help="write the version into this model store (default: dry run)")
    parser.add_argument("--register", action="store_true", help="register the version (needs the project DB)")
    parser.add_argument("--contamination", type=float)
    parser.add_argument("--n-estimators", type=int)
    parser.add_argument("--max-samples", type=int)
    parser.add_argument("--max-vectors", type=int)
    parser.add_argument("--min-samples", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--humans", type=int, default=150, help="size of the generated site")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    setup_django(args.store)

    from smartlayer.conf import sl_settings
    from smartlayer.ml.store import ModelStore
    from smartlayer.ml.training.errors import TrainingError
    from smartlayer.ml.training.frames import frame_to_vectors
    from smartlayer.ml.training.train import (
        TrainResult,
        evaluate_labels,
        fit_frame,
        new_version_name,
        terminal_progress,
    )

    params = dict(sl_settings.MODEL_PARAMS)
    for key in ("contamination", "n_estimators", "max_samples"):
        if getattr(args, key) is not None:
            params[key] = getattr(args, key)
    df, source = load(args)
    print(f"training data: {len(df):,} rows, {df['client_key'].nunique():,} clients", file=sys.stderr)
    try:
        fitted = fit_frame(df, params=params, max_vectors=args.max_vectors, min_samples=args.min_samples,
                           source=source, progress=terminal_progress(), log=lambda m: print(m, file=sys.stderr))
    except TrainingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.returncode
    manifest = fitted.manifest

    if args.eval_access_log or args.eval_generated:
        held, name = load(args, evaluation=True)
        X, meta = frame_to_vectors(held, max_vectors=args.max_vectors or 200_000)
        scores = fitted.model.anomaly_scores(X)
        held_out = {"source": name, "vectors": int(len(X)),
                    "share_above_threshold": float((scores >= fitted.model.threshold_).mean()),
                    **evaluate_labels(scores, fitted.model.threshold_, meta)}
        manifest["metrics"]["held_out"] = held_out

    version = None
    if args.store:
        store = ModelStore(args.store)
        version = new_version_name()
        store.save(version, estimator=fitted.model.forest_, forest=fitted.model.compiled_, manifest=manifest)
        manifest = store.read_manifest(version)
        print(f"wrote {store.path(version)}", file=sys.stderr)
        if args.register:
            from smartlayer.ml import registry

            registry.register(manifest, sha256=store.manifest_sha256(version), notes="training/pipeline.py")
            print(f"registered {version} as a candidate", file=sys.stderr)

    result = TrainResult(version=version, manifest=manifest, dry_run=version is None, registered=args.register)
    if args.json:
        print(json.dumps(manifest["metrics"], indent=2, sort_keys=True))
    else:
        print(result.summary())
        held_out = manifest["metrics"].get("held_out")
        if held_out:
            print(f"held-out ({held_out['source']}): {held_out['vectors']:,} vectors, "
                  f"{held_out['share_above_threshold']:.2%} above the threshold")
            for label, row in sorted((held_out.get("labels") or {}).items()):
                print(f"  {label:<22} {row['share_flagged']:6.1%} of vectors flagged; "
                      f"{row['clients_flagged']:6.1%} of clients with at least one")
    return 0


if __name__ == "__main__":
    sys.exit(main())
