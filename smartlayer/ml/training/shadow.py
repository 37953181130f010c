"""Shadow scoring: what a candidate would do to the most recent traffic, before it may decide.

A model can pass every offline check and still refuse half of the people on
the site — trained on a period whose traffic has since changed (a new
endpoint, a faster telemetry beacon, a slower deployment).  So every
candidate is replayed, before activation, on the most recent
``MODEL_SHADOW_DAYS`` of traffic through the same pipeline the middleware
runs (:class:`smartlayer.offline.replay.Replayer`: windows, rules, the model,
the combiner, bans — on the traffic's own clock), side by side with

* the rules alone (no model): what the candidate adds, and where it agrees;
* the active version, when there is one: what changes.

The report gives the share of clients and requests the candidate would flag
(above its threshold) and refuse, its overlap with the rules' refusals, the
endpoints and clients it would hit most, and the change from the active
version.  The number that gates activation is ``refused_share``: requests the
candidate refuses that the rules alone serve, over all requests replayed.  It
must stay within the bound, ``MODEL_BOUND_FACTOR`` × the candidate's
contamination (:func:`smartlayer.ml.guard.bound_for`): a model trained to find
about 1 % of odd requests that would refuse 10 % of the site is not finding
anomalies, it is seeing a site it does not know.

Traffic: the request log's rows of the last days (every row — refused ones
too: the candidate would have seen them), or, for a model trained from an
access log, the last days of that log's frame.  Beyond
``MODEL_SHADOW_MAX_ROWS`` rows, a fixed share of *clients* is replayed (by a
hash of the key), so each replayed client's window stays whole.
"""
from __future__ import annotations

import math
import re
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any

from ...conf import sl_settings
from ...offline.replay import Replayer
from ...request.exempt import is_exempt
from ..guard import bound_for, guard_bound_for, guard_verdict

#: How many endpoints and clients the report names.
TOP = 10
_NUMBER = re.compile(r"\d+")


@dataclass(slots=True)
class ShadowLine:
    """One request as the replay reads it (a request-log row or a frame row)."""

    ts: float
    client_key: str
    method: str
    path: str
    status: int
    response_ms: float
    user_agent: str
    user_id: str | None = None
    ip: str | None = None
    label: str | None = None
    referer: str = ""          # the request log keeps the referer's host only: "http://<host>/"


def _sample_every(rows: int, max_rows: int) -> int:
    return max(1, math.ceil(rows / max_rows)) if max_rows > 0 else 1


def _kept(key: str, every: int) -> bool:
    return every == 1 or zlib.crc32(key.encode("utf-8", "replace")) % every == 0


def requestlog_lines(end: datetime | None = None) -> tuple[list[ShadowLine], dict[str, Any]]:
    """The request log's last ``MODEL_SHADOW_DAYS`` (ending at its newest row, or ``end``)."""
    from django.db.models import Max

    from ...models import RequestLog

    if end is None:
        end = RequestLog.objects.aggregate(m=Max("timestamp"))["m"]
        if end is None:
            return [], {"source": "requestlog", "rows": 0}
        end = end + timedelta(microseconds=1)
    start = end - timedelta(days=float(sl_settings.MODEL_SHADOW_DAYS))
    window = RequestLog.objects.filter(timestamp__gte=start, timestamp__lt=end)
    every = _sample_every(window.count(), int(sl_settings.MODEL_SHADOW_MAX_ROWS))
    fields = ("timestamp", "client_key", "method", "path", "status_code", "response_time_ms", "user_agent",
              "user_id", "ip_address", "referer_host")
    lines = [ShadowLine(ts.timestamp(), key, method, path, status, float(ms or 0.0), ua or "", uid or None, ip,
                        referer=f"http://{host}/" if host else "")
             for ts, key, method, path, status, ms, ua, uid, ip, host
             in window.order_by("timestamp", "pk").values_list(*fields).iterator(chunk_size=20_000)
             if _kept(key, every)]
    return lines, {"source": "requestlog", "start": start.isoformat(), "end": end.isoformat(),
                   "rows": len(lines), "clients_sampled": f"1 in {every}" if every > 1 else "all"}


def frame_lines(df: Any) -> tuple[list[ShadowLine], dict[str, Any]]:
    """The last ``MODEL_SHADOW_DAYS`` of a training frame (an access log's, or generated traffic)."""
    if df is None or not len(df):
        return [], {"source": "frame", "rows": 0}
    end = float(df["ts"].max())
    start = end - float(sl_settings.MODEL_SHADOW_DAYS) * 86400.0
    recent = df[df["ts"] >= start].sort_values("ts", kind="stable")
    every = _sample_every(len(recent), int(sl_settings.MODEL_SHADOW_MAX_ROWS))
    labels = recent["label"].tolist() if "label" in recent.columns else [None] * len(recent)
    hosts = recent["referer_host"].fillna("").tolist() if "referer_host" in recent.columns else [""] * len(recent)
    lines = [ShadowLine(float(ts), key, method, path, int(status), float(ms), ua or "", None, None,
                        label if isinstance(label, str) and label else None, f"http://{host}/" if host else "")
             for ts, key, method, path, status, ms, ua, label, host in zip(
                 recent["ts"].tolist(), recent["client_key"].tolist(), recent["method"].tolist(),
                 recent["path"].tolist(), recent["status_code"].tolist(), recent["response_time_ms"].tolist(),
                 recent["user_agent"].tolist(), labels, hosts, strict=True)
             if _kept(key, every)]
    iso = lambda t: datetime.fromtimestamp(t, dt_timezone.utc).isoformat()  # noqa: E731
    return lines, {"source": "frame", "start": iso(start), "end": iso(end), "rows": len(lines),
                   "clients_sampled": f"1 in {every}" if every > 1 else "all"}


def endpoint(path: str) -> str:
    """A path with its numbers folded (``/api/users/17/`` → ``/api/users/{n}/``)."""
    return _NUMBER.sub("{n}", path)[:120]


class _Unguarded:
    """A live guard that never demotes."""

    def note(self, model: Any, client: str, flagged: bool, now: float, score: float | None = None) -> bool:
        return True

    def refused(self, model: Any, client: str, now: float) -> None:
        return None


class _Tally:
    """What one model's replay did, request by request and client by client."""

    def __init__(self, model: Any, profile: Any = None) -> None:
        self.model = model
        # unguarded: the report must show what the model would do, not what the guard would leave of it;
        # with the site profile learned (or active) with it, as it would decide live
        self.replayer = Replayer(model=model, payloads=False, guard=_Unguarded(), profile=profile)
        block_at = sl_settings.MODEL_BLOCK_SCORE
        self.block_at = None if model is None else (model.threshold if block_at is None else float(block_at))
        self.scored = self.flagged = self.refused = self.model_only = 0
        self.flagged_clients: Counter = Counter()
        self.refused_clients: set[str] = set()
        self.model_only_clients: Counter = Counter()
        self.endpoints: Counter = Counter()
        self.flagged_endpoints: Counter = Counter()

    def feed(self, line: ShadowLine, rules_refused: bool | None) -> bool:
        refused = self.replayer.feed(line)
        ctx = self.replayer.last
        key = line.client_key
        if self.block_at is not None and ctx is not None and ctx.model_score is not None:
            self.scored += 1
            if ctx.model_score >= self.block_at:
                self.flagged += 1
                self.flagged_clients[key] += 1
                self.flagged_endpoints[endpoint(line.path)] += 1
        if refused:
            self.refused += 1
            self.refused_clients.add(key)
            if rules_refused is False:
                self.model_only += 1
                self.model_only_clients[key] += 1
                self.endpoints[endpoint(line.path)] += 1
        return refused

    def summary(self, requests: int, clients: int, rules_clients: set[str]) -> dict[str, Any]:
        share = (lambda n, d: round(n / d, 6) if d else 0.0)  # noqa: E731
        model_only = set(self.model_only_clients)
        ranked = sorted(set(self.flagged_clients) | model_only,
                        key=lambda k: (-self.model_only_clients[k], -self.flagged_clients[k], k))[:TOP]
        return {
            "version": getattr(self.model, "version", ""),
            "threshold": self.block_at,
            "scored_requests": self.scored,
            "flagged_requests": self.flagged,
            "flagged_share": share(self.flagged, self.scored),
            "flagged_clients": len(self.flagged_clients),
            "flagged_clients_share": share(len(self.flagged_clients), clients),
            "refused_requests": self.model_only,
            "refused_share": share(self.model_only, requests),
            "refused_clients": len(model_only),
            "refused_clients_share": share(len(model_only), clients),
            "refused_with_rules_requests": self.refused,
            "overlap": {"clients_both": len(self.refused_clients & rules_clients),
                        "clients_model_only": len(model_only - rules_clients),
                        "clients_rules_only": len(rules_clients - self.refused_clients)},
            "top_endpoints": (self.endpoints or self.flagged_endpoints).most_common(TOP),
            "top_clients": [[k, self.model_only_clients[k], self.flagged_clients[k]] for k in ranked],
        }


def shadow_report(candidate: Any, lines: Iterable[ShadowLine], *, active: Any = None,
                  window: dict[str, Any] | None = None, candidate_profile: Any = None,
                  active_profile: Any = None) -> dict[str, Any]:
    """Replay ``lines`` (in time order) with the rules alone, the candidate and the active version
    (each with its site profile, when it has one)."""
    rules = _Tally(None)
    cand = _Tally(candidate, candidate_profile)
    act = _Tally(active, active_profile) if active is not None else None
    requests = 0
    clients: set[str] = set()
    labels: dict[str, dict[str, set[str]]] = {}
    for line in lines:
        if is_exempt(line.path, line.ip):
            continue
        requests += 1
        clients.add(line.client_key)
        by_rules = rules.feed(line, None)
        refused = cand.feed(line, by_rules)
        if act is not None:
            act.feed(line, by_rules)
        if line.label:
            group = labels.setdefault(line.label, {"clients": set(), "refused": set(), "model_only": set()})
            group["clients"].add(line.client_key)
            if refused:
                group["refused"].add(line.client_key)
                if not by_rules:
                    group["model_only"].add(line.client_key)
    report: dict[str, Any] = {
        "window": dict(window or {}, requests=requests, clients=len(clients)),
        "rules": {"refused_requests": rules.refused, "refused_clients": len(rules.refused_clients)},
        "candidate": cand.summary(requests, len(clients), rules.refused_clients),
    }
    manifest = getattr(candidate, "manifest", None)
    bound = bound_for(manifest)
    guard = guard_verdict(report["candidate"], manifest or {}) if requests else None
    report.update(bound=round(bound, 6), bound_factor=float(sl_settings.MODEL_BOUND_FACTOR),
                  refused_share=report["candidate"]["refused_share"],
                  guard_bound=round(guard_bound_for(manifest), 6), guard_demotes=guard is not None,
                  within_bound=report["candidate"]["refused_share"] <= bound and guard is None)
    if act is not None:
        was = act.summary(requests, len(clients), rules.refused_clients)
        now_refused, then_refused = set(cand.model_only_clients), set(act.model_only_clients)
        report["active"] = was
        report["change"] = {
            "flagged_share": round(report["candidate"]["flagged_share"] - was["flagged_share"], 6),
            "refused_share": round(report["candidate"]["refused_share"] - was["refused_share"], 6),
            "clients_newly_refused": len(now_refused - then_refused),
            "clients_no_longer_refused": len(then_refused - now_refused),
        }
    if labels:
        report["labels"] = {label: {"clients": len(g["clients"]), "refused": len(g["refused"]),
                                    "refused_model_only": len(g["model_only"])}
                            for label, g in sorted(labels.items())}
    return report


def format_report(report: dict[str, Any]) -> str:
    """The report as the command prints it."""
    w, c = report.get("window") or {}, report.get("candidate") or {}
    if not w.get("requests"):
        return "shadow scoring: no recent traffic to score the candidate on"
    pct = lambda v: f"{100 * float(v or 0):.2f}%"  # noqa: E731
    sampled = w.get("clients_sampled", "all")
    lines = [
        f"shadow scoring on {w.get('start', '?')[:16]} … {w.get('end', '?')[:16]}: {w['requests']} requests, "
        f"{w['clients']} clients" + (f" (clients sampled {sampled})" if sampled != "all" else ""),
        f"  flags {c['flagged_requests']} of {c['scored_requests']} scored requests ({pct(c['flagged_share'])}), "
        f"{c['flagged_clients']} clients ({pct(c['flagged_clients_share'])})",
        f"  refuses {c['refused_requests']} requests the rules alone serve ({pct(c['refused_share'])}; bound "
        f"{pct(report['bound'])}), {c['refused_clients']} clients ({pct(c['refused_clients_share'])})",
        f"  with the rules: {c['overlap']['clients_both']} clients refused by both, "
        f"{c['overlap']['clients_model_only']} by the model only, {c['overlap']['clients_rules_only']} by the "
        f"rules only ({report['rules']['refused_clients']} by the rules alone)",
    ]
    if c.get("top_endpoints"):
        lines.append("  endpoints hit most: " + ", ".join(f"{p} ×{n}" for p, n in c["top_endpoints"][:5]))
    if c.get("top_clients"):
        lines.append("  clients hit most: " + ", ".join(f"{k} ({r} refused, {f} flagged)"
                                                       for k, r, f in c["top_clients"][:5]))
    if "change" in report:
        ch, a = report["change"], report["active"]
        lines.append(f"  vs active {a['version']}: flagged share {pct(a['flagged_share'])} → "
                     f"{pct(c['flagged_share'])}, refused share {pct(a['refused_share'])} → "
                     f"{pct(c['refused_share'])}; {ch['clients_newly_refused']} clients newly refused, "
                     f"{ch['clients_no_longer_refused']} no longer")
    for label, row in (report.get("labels") or {}).items():
        lines.append(f"  {label:<22} {row['refused']}/{row['clients']} clients refused "
                     f"({row['refused_model_only']} by the model alone)")
    if report.get("guard_demotes"):
        lines.append(f"  flags more than the live guard tolerates ({pct(report.get('guard_bound'))} of the scored "
                     f"requests with {pct(sl_settings.MODEL_GUARD_CLIENT_SHARE)} of the clients): it would be "
                     f"demoted minutes after activation")
    lines.append("  within the bound" if report["within_bound"] else
                 "  OUTSIDE the bound: activation is refused unless forced (--force, or the admin's force action)")
    return "\n".join(lines)


def active_model(store: Any) -> Any:
    """The active version, loaded for comparison (None when there is none or it cannot load)."""
    from ..runtime import ActiveModel

    try:
        version = store.active_version()
        return ActiveModel.from_loaded(store.load(version)) if version else None
    except Exception:  # noqa: BLE001 - a broken active version is no reason not to score the candidate
        return None


def _profile(data: dict[str, Any] | None, version: str) -> Any:
    from ...profile.core import Profile

    try:
        return Profile(data, version) if data else None
    except (ValueError, TypeError):
        return None


def _active_profile(store: Any, active: Any) -> Any:
    try:
        return _profile(store.load_profile(active.version), active.version) if active is not None else None
    except Exception:  # noqa: BLE001 - as for the active model: compare without it
        return None


def score_candidate(model: Any, manifest: dict[str, Any], version: str, *, frame: Any = None,
                    store: Any = None, profile: dict[str, Any] | None = None,
                    end: datetime | None = None) -> dict[str, Any]:
    """Shadow-score a fitted :class:`~.model.WindowAnomalyModel` before it is stored.

    ``frame``: the training frame of an access log (its last days are the
    recent traffic); None reads the request log.
    """
    from ..runtime import ActiveModel

    candidate = ActiveModel(version, model.compiled_, manifest)
    # recent = the last days before ``end`` (default: the newest row logged)
    lines, window = frame_lines(frame) if frame is not None else requestlog_lines(end)
    active = active_model(store) if store is not None else None
    return shadow_report(candidate, lines, active=active, window=window,
                         candidate_profile=_profile(profile, version),
                         active_profile=_active_profile(store, active) if store is not None else None)
