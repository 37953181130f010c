"""The live guard: a model that starts flagging far more than it was trained to is demoted.

A model is trained so that about ``contamination`` of the requests it saw are
above its threshold.  When the site changes under it (a new endpoint, a
doubled telemetry rate, a slower deployment) it can start flagging most
people, and with the sustained-anomaly rule it would then refuse them on its
own.  The guard watches the share of scored requests above the threshold,
per process, in one-minute buckets:

* each client counts at most :data:`PER_CLIENT_CAP` requests a minute;
* when a minute closes (at the first scored request of a later minute) the
  share over the last ``MODEL_GUARD_MINUTES`` minutes is judged — only when
  they saw at least ``MODEL_GUARD_MIN_SCORED`` scored requests, so on a quiet
  site a handful of odd requests neither confirms nor clears anything;
* a judged share above the bound (``MODEL_GUARD_FACTOR`` × the version's
  contamination, :func:`guard_bound_for`) starts or extends a run, one at or below it ends the run;
* a run that lasts ``MODEL_GUARD_MINUTES`` minutes — the share stayed above
  the bound that long — **demotes** the version to record-only: one log line, the
  :data:`~smartlayer.signals.model_demoted` signal, and a cache key so the
  other workers (and the admin) learn it at their next reload check.

Demoted, the model still scores and records, but refuses or bans only when a
rule agrees (:func:`smartlayer.policy.decisions.combine`).  The demotion lasts
until a version is activated (``registry.activate`` clears it — the same
version again, after a look at the admin, or a retrained one).

Cost per scored request: a dict lookup and two integer additions; the
bookkeeping runs once a minute.  No I/O except on the demotion itself and the
reload check.  The clock is the caller's (the detector's ``now``), so the
replay judges on the log's own clock and tests use a fake one.

A hostile client adds to the share, but at most three requests a minute, and
not for long: flagged again and again it is blocked, then banned, and banned
requests are not scored.  Tipping the guard takes many addresses each past
the grace period.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from .. import signals
from ..conf import sl_settings
from ..state.cache import get_cache, make_key
from ..state.failures import report_failure
from ..state.singleton import ProcessSingleton

logger = logging.getLogger("smartlayer")

#: The contamination assumed when a version does not say (``"auto"``).
DEFAULT_CONTAMINATION = 0.01
#: A client counts at most this many requests (and flags) per minute, so one
#: busy client — an API integration the model finds odd, or an attacker
#: trying to tip the guard — weighs like a few people, not like a crowd.
PER_CLIENT_CAP = 3


def guard_cache_key() -> str:
    return make_key("model", "guard")


def contamination_of(manifest: dict[str, Any] | None) -> float:
    """The share of training requests a version flags by construction."""
    manifest = manifest or {}
    value = (manifest.get("params") or {}).get("contamination")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= 0.5:
        return float(value)
    share = (manifest.get("metrics") or {}).get("share_above_threshold")
    if isinstance(share, (int, float)) and 0 < share <= 0.5:
        return float(share)
    return DEFAULT_CONTAMINATION


def bound_for(manifest: dict[str, Any] | None) -> float:
    """The share of recent requests a candidate may refuse in shadow scoring."""
    return min(1.0, float(sl_settings.MODEL_BOUND_FACTOR) * contamination_of(manifest))


def guard_bound_for(manifest: dict[str, Any] | None) -> float:
    """The share of requests an active version may flag over a few minutes.

    Wider than the shadow bound: a few minutes of a site are a small, lumpy
    sample.  Measured on generated traffic (a model at contamination 0.01,
    ``training/README.md``): over three-minute spans, normal traffic flagged at
    most 10 % (300 people a day) and 23 % (1,000 people), its whole day 1.5–2 %;
    after the site changed under the model, half of the spans were above 42 %.
    """
    return min(1.0, float(sl_settings.MODEL_GUARD_FACTOR) * contamination_of(manifest))


@dataclass
class Demotion:
    version: str
    since: float            # the caller's clock
    share: float            # flagged share of the last judged minute
    bound: float
    minutes: int

    def as_dict(self) -> dict[str, Any]:
        return {"version": self.version, "since": self.since, "share": round(self.share, 4),
                "bound": round(self.bound, 4), "minutes": self.minutes, "state": "record-only"}


class Guard:
    """The flagged share of one model version, minute by minute.

    ``publish``: the process's guard (the middleware's) logs, signals and
    writes the cache key when it demotes; a replay's or a test's private guard
    only keeps its state.
    """

    def __init__(self, *, publish: bool = False) -> None:
        self.publish = publish
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.version: str | None = None
        self.bound = 1.0
        self.minute = -1
        self.counts: dict[str, list[int]] = {}   # client → [scored, flagged] in this minute
        self.above_since: int | None = None   # the first minute of a run of closes above the bound
        self.demoted: Demotion | None = None
        self.history: list[tuple[int, int, int]] = []   # (minute, scored, flagged) of the last minutes

    @property
    def green(self) -> bool:
        return self.demoted is None

    def note(self, model: Any, client: str, flagged: bool, now: float) -> bool:
        """Count one scored request of ``model`` by ``client``; return True while the guard is green."""
        minute = int(now // 60)
        if minute != self.minute or getattr(model, "version", None) != self.version:
            self._roll(model, minute, now)
        counts = self.counts.get(client)
        if counts is None:
            counts = self.counts[client] = [0, 0]
        counts[0] += 1
        if flagged:
            counts[1] += 1
        return self.demoted is None

    def _roll(self, model: Any, minute: int, now: float) -> None:
        with self._lock:
            version = getattr(model, "version", None)
            if version != self.version:
                self.reset()
                self.version = version
                self.bound = guard_bound_for(getattr(model, "manifest", None))
                self.minute = minute
                return
            if minute == self.minute:  # another thread rolled first
                return
            self._judge(now)
            self.minute, self.counts = minute, {}

    def _judge(self, now: float) -> None:
        span = max(1, int(sl_settings.MODEL_GUARD_MINUTES))
        if self.counts:
            cap = PER_CLIENT_CAP
            self.history.append((self.minute, sum(min(c[0], cap) for c in self.counts.values()),
                                 sum(min(c[1], cap) for c in self.counts.values())))
        self.history = [b for b in self.history if b[0] > self.minute - span]
        scored = sum(b[1] for b in self.history)
        flagged = sum(b[2] for b in self.history)
        if scored < int(sl_settings.MODEL_GUARD_MIN_SCORED):
            return
        share = flagged / scored
        if share <= self.bound:
            self.above_since = None
            return
        if self.above_since is None:
            self.above_since = self.minute
        minutes = self.minute - self.above_since + 1
        if self.demoted is None and minutes >= span:
            self.demoted = Demotion(str(self.version), now, share, self.bound, minutes)
            if self.publish:
                _announce(self.demoted)

    def adopt(self, entry: Any, version: str | None) -> None:
        """Follow a demotion another process published (or its clearing by an activation)."""
        with self._lock:
            if isinstance(entry, dict) and version is not None and entry.get("version") == version:
                if self.demoted is None:
                    if self.version != version:
                        self.reset()
                        self.version = version
                    self.demoted = Demotion(version, float(entry.get("since") or 0.0),
                                            float(entry.get("share") or 0.0), float(entry.get("bound") or 0.0),
                                            int(entry.get("minutes") or 0))
            elif self.demoted is not None and self.demoted.version == version:
                # the key is gone: a version was activated since; start over
                self.reset()
                self.version = version


def _announce(demotion: Demotion) -> None:
    logger.warning("smartlayer: model %s demoted to record-only: it flagged %.1f%% of scored requests for %d "
                   "minutes (bound %.1f%%); the rules keep deciding, the model refuses only with a rule agreeing",
                   demotion.version, 100 * demotion.share, demotion.minutes, 100 * demotion.bound)
    try:
        get_cache().set(guard_cache_key(), demotion.as_dict(), timeout=None)
    except Exception as exc:  # noqa: BLE001 - this process is demoted whatever the cache says
        report_failure("cache", exc)
    try:
        signals.model_demoted.send(sender=Guard, version=demotion.version, share=demotion.share,
                                   bound=demotion.bound, minutes=demotion.minutes)
    except Exception:  # noqa: BLE001 - a receiver's bug must not fail the request
        logger.exception("smartlayer: a model_demoted receiver raised")


def demotion_state() -> dict[str, Any] | None:
    """What the cluster knows: the published demotion, or None (the admin reads this)."""
    try:
        entry = get_cache().get(guard_cache_key())
    except Exception as exc:  # noqa: BLE001
        report_failure("cache", exc)
        return None
    return entry if isinstance(entry, dict) else None


def clear_demotion() -> None:
    """An activation starts the guard over (every worker, at its next reload check)."""
    try:
        get_cache().delete(guard_cache_key())
    except Exception as exc:  # noqa: BLE001
        report_failure("cache", exc)
    _guard.reset()


_guard: ProcessSingleton[Guard] = ProcessSingleton("model guard", lambda: Guard(publish=True),
                                                   close=lambda g: g.reset())


def process_guard() -> Guard:
    """The middleware's guard (one per process)."""
    return _guard.get()
