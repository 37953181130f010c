"""The live guard: a model the site has changed under is demoted to record-only.

A model is trained so that about ``contamination`` of the requests it saw are
above its threshold, and half of them below the median score it recorded.  When
the site changes under it (a new endpoint, a doubled telemetry rate, a slower
deployment) everybody's requests start to look odder: it can start flagging
most people, and with the sustained-anomaly rule it would then refuse them on
its own.  The guard watches the scored requests, per process, in one-minute
buckets:

* each client counts at most :data:`PER_CLIENT_CAP` requests a minute;
* when a minute closes (at the first scored request of a later minute) the
  last ``MODEL_GUARD_MINUTES`` minutes are judged — only when they saw at
  least ``MODEL_GUARD_MIN_SCORED`` scored requests, so on a quiet site a
  handful of odd requests neither confirms nor clears anything;
* they are *off* when either

  - the **typical request** scores like the odd tail of the training week: the
    median score above the training scores' ``MODEL_GUARD_MEDIAN_QUANTILE``
    quantile (:func:`median_bound_for`), and the lower quartile above the
    training median (the whole distribution moved, not a crowd of bots on a
    quiet night) — each client's last :data:`PER_CLIENT_CAP` scores of the
    judged minutes only, not three a minute: on a quiet evening a fast shopper
    and a few bots, busy every minute, outweighed the readers who each asked for
    a page or two (generated traffic, tuning seed 3 of ``training/targets.py``,
    telemetry site: a product clicker and three bots among a dozen readers moved
    the median at 21:50, and the model stayed record-only for the rest of the
    day, letting every later bot through).  Clients the site refused in the
    last :data:`REFUSED_MINUTES` minutes are left out, and fewer than
    :data:`MIN_JUDGED_CLIENTS` clients left are not judged: on quiet spans of
    6–12 clients, bots being refused and API integrations odd all day made
    the median while the people among them scored as in the training week
    (new tuning seeds 14, 16, 18: a good model demoted for hours).  A
    change of the site moves everybody's scores a little, long before it
    pushes many above the threshold (measured, ``training/README.md``: the
    drift case's median rose from ≈ the training median to above its 90th
    percentile within two minutes while almost nothing was flagged); or
  - **most of the traffic** is flagged: the flagged share above
    ``MODEL_GUARD_FACTOR`` × contamination (:func:`guard_bound_for`) *and*
    at least ``MODEL_GUARD_CLIENT_SHARE`` of the clients of those minutes
    flagged, :data:`MIN_FLAGGED_CLIENTS` of them at least.  The second half is what tells a broken model from an attack: a
    share of bots flagged request after request is what the model is for, and
    on a small site they are easily a quarter of the scored requests;

* a judged span that is off starts or extends a run, one that is not ends it;
* a run that lasts ``MODEL_GUARD_MINUTES`` minutes **demotes** the version to
  record-only: one log line, the :data:`~smartlayer.signals.model_demoted`
  signal, and a cache key so the other workers (and the admin) learn it at
  their next reload check.

Demoted, the model still scores and records, but refuses or bans only when a
rule agrees (:func:`smartlayer.policy.decisions.combine`).  The demotion lasts
until a version is activated (``registry.activate`` clears it — the same
version again, after a look at the admin, or a retrained one).

Cost per scored request: a dict lookup, two integer additions and a list
append (at most :data:`PER_CLIENT_CAP` a minute); the bookkeeping runs once a
minute.  No I/O except on the demotion itself and the reload check.  The clock
is the caller's (the detector's ``now``), so the replay judges on the log's own
clock and tests use a fake one.

A hostile client weighs at most three requests a minute, and not for long:
flagged again and again it is blocked, then banned, and banned requests are
not scored.  Tipping the guard takes more addresses than the site has people
online, each flagged.
"""
from __future__ import annotations

import logging
import statistics
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
#: Most of the traffic flagged means this many distinct clients flagged in the judged minutes at
#: least: on a quiet evening a task-list bot and an API integration the model finds odd made 29 % of
#: the scored requests and a third of the client-minutes (generated traffic, tuning seed 4 of
#: ``training/targets.py``, plain site, 21:29-21:31) — two clients, not a model the site changed
#: under (the drift benchmark's release flags hundreds).
MIN_FLAGGED_CLIENTS = 5
#: A client the site refused (a rule, a ban, the model with the guard green) is left out of the median
#: judgment for this many minutes after its last refusal: it is being dealt with, and a bot refused
#: now and then or an integration over its quota scores oddly minute after minute.
REFUSED_MINUTES = 10
#: "The typical request" is judged over this many distinct clients (not refused lately) at least: on a
#: quiet afternoon three API integrations and a bot, odd all day, among three or four people made the
#: median of a span of seven (generated traffic, new tuning seed 18, telemetry site, 12:43).
MIN_JUDGED_CLIENTS = 8
#: At most this many refused clients are remembered (a flood of them is judged as before, not stored).
REFUSED_KEPT = 20_000


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


def guard_verdict(candidate: dict[str, Any], manifest: dict[str, Any]) -> str | None:
    """Why the live guard would demote a candidate on its shadow traffic at once, or None."""
    flagged = float(candidate.get("flagged_share") or 0.0)
    clients = float(candidate.get("flagged_clients_share") or 0.0)
    bound, client_bound = guard_bound_for(manifest), float(sl_settings.MODEL_GUARD_CLIENT_SHARE)
    if flagged <= bound or clients < client_bound or int(candidate.get("flagged_clients") or 0) < MIN_FLAGGED_CLIENTS:
        return None
    return (f"shadow scoring: it would flag {flagged:.2%} of recent scored requests and {clients:.0%} of the "
            f"clients, beyond what the live guard tolerates ({bound:.2%} = MODEL_GUARD_FACTOR "
            f"{float(sl_settings.MODEL_GUARD_FACTOR):g} × contamination {contamination_of(manifest):g}, with "
            f"MODEL_GUARD_CLIENT_SHARE {client_bound:g} of the clients): it would be demoted minutes after "
            f"activation")


def median_bound_for(manifest: dict[str, Any] | None) -> float | None:
    """The median score the requests of a few minutes may reach: the training scores'
    ``MODEL_GUARD_MEDIAN_QUANTILE`` quantile (None: the version did not record it, or the setting is 0)."""
    q = float(sl_settings.MODEL_GUARD_MEDIAN_QUANTILE or 0)
    quantiles = ((manifest or {}).get("metrics") or {}).get("score_quantiles") or {}
    if not 0 < q < 1:
        return None
    value = quantiles.get(f"p{100 * q:g}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _training_median(manifest: dict[str, Any] | None) -> float | None:
    value = ((manifest or {}).get("metrics") or {}).get("score_quantiles", {}).get("p50")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _span_scores(history: list, refused: dict[str, int] | frozenset = frozenset()) -> tuple[list[float], int]:
    """The judged minutes' scores, sorted, each client's last :data:`PER_CLIENT_CAP` of them only (a
    client weighs as much over the span as it may in one minute), and how many clients they are.
    Clients the site refused lately (``refused``: client → the minute of its last refusal) are left
    out: they are being dealt with (bots caught, an integration over its quota), and on a quiet span
    a few of them, odd minute after minute, made the median (see the module's doc)."""
    per: dict[str, list[float]] = {}
    for b in history:
        for client, scores in b[5].items():
            if client not in refused:
                per.setdefault(client, []).extend(scores)
    return sorted(v for scores in per.values() for v in scores[-PER_CLIENT_CAP:]), len(per)


@dataclass
class Demotion:
    version: str
    since: float            # the caller's clock
    share: float            # flagged share of the last judged minutes
    bound: float
    minutes: int
    median: float | None = None        # their median score
    median_bound: float | None = None

    def as_dict(self) -> dict[str, Any]:
        out = {"version": self.version, "since": self.since, "share": round(self.share, 4),
               "bound": round(self.bound, 4), "minutes": self.minutes, "state": "record-only"}
        if self.median is not None:
            out["median"], out["median_bound"] = round(self.median, 4), self.median_bound
        return out


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
        self.median_bound: float | None = None
        self.quartile_bound: float | None = None
        self.minute = -1
        # client → [scored, flagged, its scores (PER_CLIENT_CAP at most)] in this minute
        self.counts: dict[str, list[Any]] = {}
        self.above_since: int | None = None   # the first minute of a run of closes above the bound
        self.last_off: int | None = None      # the last minute judged above it
        self.demoted: Demotion | None = None
        # (minute, scored, flagged, clients, flagged clients, {client: scores}, {client: flagged}) of
        # the last minutes
        self.history: list[tuple[int, int, int, int, int, dict[str, list[float]], dict[str, int]]] = []
        self.refused_at: dict[str, int] = {}   # client → the minute of its last refusal (REFUSED_MINUTES)

    @property
    def green(self) -> bool:
        return self.demoted is None

    def note(self, model: Any, client: str, flagged: bool, now: float, score: float | None = None) -> bool:
        """Count one scored request of ``model`` by ``client`` (its ``score``, when the caller has it);
        return True while the guard is green."""
        minute = int(now // 60)
        if minute != self.minute or getattr(model, "version", None) != self.version:
            self._roll(model, minute, now)
        counts = self.counts.get(client)
        if counts is None:
            counts = self.counts[client] = [0, 0, []]
        counts[0] += 1
        if flagged:
            counts[1] += 1
        if score is not None and counts[0] <= PER_CLIENT_CAP:
            counts[2].append(score)
        return self.demoted is None

    def refused(self, model: Any, client: str, now: float) -> None:
        """The request of ``client`` just noted was refused (by a rule, a ban, the model with the
        guard green): the client is left out of the span's median judgment."""
        if getattr(model, "version", None) == self.version and (
                client in self.refused_at or len(self.refused_at) < REFUSED_KEPT):
            self.refused_at[client] = int(now // 60)

    def _roll(self, model: Any, minute: int, now: float) -> None:
        with self._lock:
            version = getattr(model, "version", None)
            if version != self.version:
                self.reset()
                self.version = version
                self.bound = guard_bound_for(getattr(model, "manifest", None))
                self.median_bound = median_bound_for(getattr(model, "manifest", None))
                self.quartile_bound = _training_median(getattr(model, "manifest", None))
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
            values = self.counts.values()
            self.history.append((self.minute, sum(min(c[0], cap) for c in values),
                                 sum(min(c[1], cap) for c in values), len(self.counts),
                                 sum(1 for c in values if c[1]),
                                 {k: c[2] for k, c in self.counts.items() if c[2]},
                                 {k: c[1] for k, c in self.counts.items() if c[1]}))
        self.history = [b for b in self.history if b[0] > self.minute - span]
        if self.refused_at:
            self.refused_at = {k: m for k, m in self.refused_at.items() if m > self.minute - REFUSED_MINUTES}
        scored = sum(b[1] for b in self.history)
        if scored < int(sl_settings.MODEL_GUARD_MIN_SCORED):
            return
        share = sum(b[2] for b in self.history) / scored
        clients = sum(b[3] for b in self.history)   # client-minutes
        client_share = sum(b[4] for b in self.history) / clients if clients else 0.0
        scores, judged = _span_scores(self.history, self.refused_at)
        median = statistics.median(scores) if scores and judged >= MIN_JUDGED_CLIENTS else None
        flagged_clients = len({c for b in self.history for c, n in b[6].items() if n})
        broad = (share > self.bound and client_share >= float(sl_settings.MODEL_GUARD_CLIENT_SHARE)
                 and flagged_clients >= MIN_FLAGGED_CLIENTS)
        # the lower quarter moved too (above the training median): not a crowd of bots on a quiet night
        shifted = (median is not None and self.median_bound is not None and median > self.median_bound
                   and (self.quartile_bound is None or scores[len(scores) // 4] > self.quartile_bound))
        if not (broad or shifted):
            self.above_since = None
            return
        # a run is minutes judged off one after another: quiet minutes too few to judge may lie between
        # them, but not a whole span of them — two off minutes an hour apart are not an hour off
        if self.above_since is None or self.last_off is None or self.minute - self.last_off >= span:
            self.above_since = self.minute
        self.last_off = self.minute
        minutes = self.minute - self.above_since + 1
        if self.demoted is None and minutes >= span:
            self.demoted = Demotion(str(self.version), now, share, self.bound, minutes, median, self.median_bound)
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
    logger.warning("smartlayer: model %s demoted to record-only: for %d minutes it flagged %.1f%% of scored "
                   "requests (bound %.1f%%), their median score %s (bound %s); the rules keep deciding, the model "
                   "refuses only with a rule agreeing", demotion.version, demotion.minutes, 100 * demotion.share,
                   100 * demotion.bound, "-" if demotion.median is None else f"{demotion.median:.3f}",
                   "-" if demotion.median_bound is None else f"{demotion.median_bound:.3f}")
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
