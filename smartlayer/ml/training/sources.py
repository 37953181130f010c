"""What training reads: its options, its window, its rows and the site profile of the same data.

Apart from :mod:`.train` (which fits, evaluates, stores and activates) so that
each stays a module one reads in a sitting; :mod:`.train` re-exports the names.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any

import pandas as pd

from ...conf import sl_settings
from .errors import TrainingError
from .model import WindowAnomalyModel
from .poison import drop_suspects, suspect_clients


@dataclass
class TrainOptions:
    since: datetime | None = None
    until: datetime | None = None
    shadow_until: datetime | None = None   # end of the shadow scoring's recent traffic (None: the newest row)
    access_log: str | None = None
    params: dict[str, Any] = field(default_factory=dict)   # overrides of MODEL_PARAMS
    max_vectors: int | None = None                          # default MODEL_MAX_SAMPLES
    min_samples: int | None = None                          # default MODEL_MIN_SAMPLES
    sample_every: int | None = None                         # default: automatic (module docstring)
    activate: bool | None = None                            # None: only if nothing is active
    force: bool = False                                     # activate even outside the shadow bound
    dry_run: bool = False
    wait: bool = False
    seed: int = 0
    profile: bool = True                                    # learn the site profile too (smartlayer.profile)

    def model_params(self) -> dict[str, Any]:
        params = dict(sl_settings.MODEL_PARAMS or {})
        params.update({k: v for k, v in self.params.items() if v is not None})
        allowed = set(WindowAnomalyModel().get_params())
        unknown = sorted(set(params) - allowed)
        if unknown:
            raise TrainingError(f"unknown model parameter(s) {unknown}; allowed: {sorted(allowed)}")
        return params


def default_window(now: datetime | None = None) -> tuple[datetime, datetime]:
    until = now or datetime.now(dt_timezone.utc)
    return until - timedelta(days=float(sl_settings.MODEL_LOOKBACK_DAYS)), until


def load_frame(opts: TrainOptions) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The training rows and a description of where they came from."""
    from .frames import records_frame, requestlog_frame

    if opts.access_log:
        try:
            from ...offline.accesslog import iter_log
        except ImportError:  # pragma: no cover - the module ships with smartlayer
            raise TrainingError("smartlayer.offline.accesslog is not available") from None
        try:
            reader = iter_log(opts.access_log)
            df = records_frame(reader, key="ip")
        except OSError as exc:
            raise TrainingError(f"cannot read {opts.access_log}: {exc}") from None
        stats = getattr(reader, "stats", None)
        if opts.since is not None:
            df = df[df["ts"] >= opts.since.timestamp()]
        if opts.until is not None:
            df = df[df["ts"] < opts.until.timestamp()]
        source = {"source": "access_log", "path": str(opts.access_log)}
        if stats is not None:
            source.update(lines=stats.lines, parsed=stats.parsed, malformed=stats.malformed)
        return df.reset_index(drop=True), source
    since, until = opts.since, opts.until
    if since is None or until is None:
        d_since, d_until = default_window()
        since, until = since or d_since, until or d_until
    if since >= until:
        raise TrainingError(f"empty training window: since {since.isoformat()} is not before until {until.isoformat()}")
    counts: dict[str, int] = {}
    df = requestlog_frame(since, until, counts=counts)
    df, suspects = drop_suspects(df, suspect_clients(since, until))
    return df, {"source": "requestlog", "start": since.isoformat(), "end": until.isoformat(),
                "read": counts["read"],
                "excluded": {k: counts[k] for k in ("refused", "during_ban", "exempt_path")},
                "suspects": suspects}


def learn_site_profile(opts: TrainOptions, log: Callable[[str], None],
                       leave_out: frozenset[str] = frozenset()) -> dict[str, Any] | None:
    """The site profile of the same data the model is trained on (served requests only), without the
    requests of the clients in ``leave_out`` (:func:`~.train.fit_with_profile`)."""
    from ...profile.learn import LOG_FIELDS, learn_profile, rows_from_log, rows_from_records

    if opts.access_log:
        from ...offline.accesslog import iter_log

        since = opts.since.timestamp() if opts.since else None
        until = opts.until.timestamp() if opts.until else None

        def lines() -> Any:   # read twice (paths, then statistics): never all in memory
            return rows_from_records(ln for ln in iter_log(opts.access_log)
                                     if (since is None or ln.ts >= since) and (until is None or ln.ts < until))

        profile = learn_profile(rows_without(lines, leave_out), log=log)
    else:
        from ...models import RequestLog

        since, until = opts.since, opts.until
        if since is None or until is None:
            d_since, d_until = default_window()
            since, until = since or d_since, until or d_until
        qs = RequestLog.objects.filter(timestamp__gte=since, timestamp__lt=until, was_blocked=False,
                                       monitor_only=False).values(*LOG_FIELDS)
        profile = learn_profile(rows_without(lambda: rows_from_log(qs.iterator(chunk_size=20_000)), leave_out), log=log)
    return profile if profile["endpoints"] else None


def rows_without(rows: Callable[[], Iterable[Any]], leave_out: frozenset[str]) -> Callable[[], Iterable[Any]]:
    """``rows`` (a function returning them afresh) without the rows of the clients in ``leave_out``."""
    if not leave_out:
        return rows
    return lambda: (r for r in rows() if r.client not in leave_out)


def rows_read(source: dict[str, Any]) -> str:
    """What was read and what was left out, and why, for the run's messages
    ("" when the source does not say, e.g. an access log)."""
    excluded = source.get("excluded")
    if not excluded or "read" not in source:
        return ""
    left_out = sum(excluded.values())
    text = (f"{source['read']} rows read from the request log, {left_out} left out: "
            f"{excluded['refused']} refused or monitor-only, {excluded['during_ban']} during a ban, "
            f"{excluded['exempt_path']} on exempt paths; {source['read'] - left_out} used")
    suspects = source.get("suspects") or {}
    if suspects.get("rows"):
        text += (f"; then {suspects['rows']} rows of {suspects['refused'] + suspects['llm_block']} clients left "
                 f"out whole ({suspects['refused']} refused by a rule, {suspects['llm_block']} judged BLOCK by "
                 f"the LLM during the window)")
    return text


def profile_summary(profile: dict[str, Any]) -> dict[str, Any]:
    """What the manifest (and the registry, the admin) says about a learned profile."""
    classes: dict[str, int] = {}
    for e in profile["endpoints"].values():
        classes[e["class"]] = classes.get(e["class"], 0) + 1
    return {"endpoints": len(profile["endpoints"]), "classes": classes, "rows": profile.get("rows", 0),
            "hosts": profile.get("hosts", [])}
