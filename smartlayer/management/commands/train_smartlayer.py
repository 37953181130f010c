"""``manage.py train_smartlayer``: train, store and register a new anomaly model.

A thin shell over :func:`smartlayer.ml.training.train.train` (the choices are
documented there).  Examples::

    manage.py train_smartlayer                       # last MODEL_LOOKBACK_DAYS of the request log
    manage.py train_smartlayer --since 2025-01-01 --until 2025-01-08 --activate
    manage.py train_smartlayer --from-access-log /var/log/nginx/access.log.1 --dry-run
    manage.py train_smartlayer --contamination 0.005 --n-estimators 200

Output: what was trained on — for the request log, how many rows were read
and how many were left out, by reason (refused or monitor-only, during a ban,
exempt path) — also in the error when there is too little data.

Shadow scoring: before it can be activated, the candidate is replayed on the
most recent ``MODEL_SHADOW_DAYS`` of traffic beside the rules and the active
version; the report (shares of requests and clients it would flag and refuse,
overlap with the rules, endpoints and clients hit most, change from the
active version) is printed and stored with the version.

Activation: by default a new version is activated only when no version is
active yet; ``--activate`` activates it, ``--no-activate`` never does
(activate later from the admin).  Either way, a candidate that would refuse
more than the bound (``MODEL_BOUND_FACTOR`` × its contamination) of the
recent requests the rules serve stays a candidate (exit status 0, the output
says why) unless ``--force`` is given; a forced activation is recorded.

Exit status: 0 on success; 1 when there is too little data (nothing is
written) or anything else fails (the active model is untouched); 75
(EX_TEMPFAIL) when another training run holds the lock — run again later, or
pass ``--wait`` to queue behind it.
"""
from __future__ import annotations

import argparse
from datetime import datetime, time, timezone
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_date, parse_datetime

from smartlayer.ml.training.errors import TrainingError
from smartlayer.ml.training.train import TrainOptions, terminal_progress, train


def _when(value: str) -> datetime:
    """ISO date (midnight UTC) or ISO datetime (UTC if naive)."""
    dt = parse_datetime(value)
    if dt is None:
        day = parse_date(value)
        if day is None:
            raise argparse.ArgumentTypeError(f"not an ISO date or datetime: {value!r}")
        dt = datetime.combine(day, time.min)
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def _fraction(value: str, option: str, high: float) -> float:
    """A number in (0, ``high``] for ``option``, or an argparse error naming it."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{option} takes a number in (0, {high:g}] or 'auto'") from None
    if not 0.0 < number <= high:
        raise argparse.ArgumentTypeError(f"{option} must be in (0, {high:g}]")
    return number


def _max_samples(value: str) -> int | float | str:
    """An integer, a fraction of the training vectors in (0, 1], or 'auto'."""
    if value == "auto":
        return value
    try:
        return int(value)
    except ValueError:
        return _fraction(value, "--max-samples", 1.0)


def _contamination(value: str) -> float | str:
    return value if value == "auto" else _fraction(value, "--contamination", 0.5)


class Command(BaseCommand):
    help = ("Train the anomaly model on recent request logs (or an access log), store it as a new version and "
            "register it; activate it with --activate (default: only when no version is active).")

    def add_arguments(self, parser: CommandParser) -> None:
        data = parser.add_argument_group("data")
        data.add_argument("--since", type=_when, help="Start of the training window (ISO date/datetime, UTC). "
                          "Default: MODEL_LOOKBACK_DAYS before --until.")
        data.add_argument("--until", type=_when, help="End of the training window (exclusive). Default: now.")
        data.add_argument("--shadow-until", type=_when, help="End of the recent traffic the candidate is "
                          "shadow-scored on (MODEL_SHADOW_DAYS before it). Default: the newest request logged.")
        data.add_argument("--from-access-log", dest="access_log", metavar="FILE",
                          help="Train on an nginx/Apache combined log (or JSON lines, .gz ok) instead of the "
                               "request log; clients are keyed by IP.")
        data.add_argument("--max-vectors", type=int, help="At most this many training vectors "
                          "(default MODEL_MAX_SAMPLES).")
        data.add_argument("--min-samples", type=int, help="Refuse to train on fewer vectors "
                          "(default MODEL_MIN_SAMPLES).")
        data.add_argument("--sample-every", type=int, help="Use every N-th request of a client "
                          "(default: automatic, from the row count).")
        model = parser.add_argument_group("model (override MODEL_PARAMS)")
        model.add_argument("--contamination", type=_contamination)
        model.add_argument("--n-estimators", type=int)
        model.add_argument("--max-samples", type=_max_samples)
        model.add_argument("--max-features", type=float)
        model.add_argument("--random-state", type=int)
        run = parser.add_argument_group("run")
        run.add_argument("--activate", action=argparse.BooleanOptionalAction, default=None,
                         help="Activate the new version (default: only if no version is active).")
        run.add_argument("--force", action="store_true",
                         help="With --activate: activate even when shadow scoring on recent traffic says the "
                              "candidate would refuse more than the bound (recorded in the store's history).")
        run.add_argument("--dry-run", action="store_true", help="Train and evaluate, write nothing.")
        run.add_argument("--wait", action="store_true", help="Wait for a running training instead of exiting.")
        run.add_argument("--seed", type=int, default=0, help="Seed of the sampling of training vectors.")
        run.add_argument("--profile", action=argparse.BooleanOptionalAction, default=True,
                         help="Also learn the site profile (endpoint templates, classes, rate norms, parameter "
                              "schemas), stored and activated with the model (default: yes).")

    def handle(self, *args: Any, **options: Any) -> None:
        for name in ("max_vectors", "n_estimators", "sample_every"):
            if options.get(name) is not None and options[name] <= 0:
                raise CommandError(f"--{name.replace('_', '-')} must be positive")
        if options.get("min_samples") is not None and options["min_samples"] < 0:
            raise CommandError("--min-samples must not be negative")
        opts = TrainOptions(
            since=options.get("since"), until=options.get("until"), access_log=options.get("access_log"),
            shadow_until=options.get("shadow_until"),
            params={"contamination": options.get("contamination"), "n_estimators": options.get("n_estimators"),
                    "max_samples": options.get("max_samples"), "max_features": options.get("max_features"),
                    "random_state": options.get("random_state")},
            max_vectors=options.get("max_vectors"), min_samples=options.get("min_samples"),
            sample_every=options.get("sample_every"), activate=options.get("activate"), force=options.get("force", False),
            dry_run=options.get("dry_run", False), wait=options.get("wait", False), seed=options.get("seed", 0),
            profile=options.get("profile", True),
        )
        verbose = options.get("verbosity", 1) >= 2

        def log(message: str) -> None:
            if verbose:
                self.stderr.write(message)

        try:
            result = train(opts, log=log, progress=terminal_progress(self.stderr._out))
        except TrainingError as exc:
            raise CommandError(str(exc), returncode=exc.returncode) from None
        self.stdout.write(result.summary())
