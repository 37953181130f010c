"""Backtesting: replay an access log through the whole detection pipeline.

The same :class:`~smartlayer.detectors.behaviour.detector.Detector` and payload decision the
middleware uses, with three differences that make a replay honest and fast:

* the clock is the log's own timestamps — no sleeping, no wall-clock windows;
* windows and bans live in memory (:class:`~smartlayer.state.windows.window.LocalWindowStore`,
  :class:`~smartlayer.detectors.behaviour.detector.MemoryBans`): a ban decided at 10:02 refuses that
  client's later lines until it expires, exactly as it would have live;
* nothing is written anywhere and no LLM is asked (grey-zone and borderline
  cases are counted as "ask the LLM").

For every client the replay keeps: requests, the index and time of the first
refusal, the final action, the highest rule / model / payload scores and the
label when the log carries one.  With labels it computes per-scenario recall,
the false-positive rate on benign clients and how many requests each attacker
got through before the first block.
"""
from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..conf import sl_settings
from ..detectors.behaviour.detector import Detector
from ..detectors.ratelimit import PlanHolder
from ..labels import BENIGN_LABELS
from ..profile.params import request_params
from ..request.client import Client, cookie_hash, ip_key, person_key
from ..request.context import RequestContext
from ..request.decision import Action
from ..request.exempt import is_exempt
from ..state.ban_backends import MemoryBans
from ..state.windows.window import LocalWindowStore

__all__ = ["BENIGN_LABELS", "ClientResult", "ReplayResult", "Replayer", "iso"]


@dataclass(slots=True)
class ClientResult:
    client: str
    label: str | None = None
    requests: int = 0
    first_blocked_index: int | None = None   # 1-based index of the client's first refused request
    first_blocked_at: float | None = None
    blocked_requests: int = 0
    final_action: str = "allow"
    max_rule_score: int = 0
    max_model_score: float | None = None
    max_payload_score: int = 0
    reasons: Counter = field(default_factory=Counter)

    @property
    def caught(self) -> bool:
        return self.first_blocked_index is not None

    def as_row(self) -> dict[str, Any]:
        row = asdict(self)
        row["reasons"] = "; ".join(f"{r}×{n}" for r, n in self.reasons.most_common(3))
        row["first_blocked_at"] = iso(self.first_blocked_at)
        return row


def iso(ts: float | None) -> str | None:
    """A log timestamp as ISO 8601 UTC (``2026-12-02T14:03:07Z``), None for None."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class ReplayResult:
    lines: int = 0
    replayed: int = 0
    malformed: int = 0
    first_errors: list[str] = field(default_factory=list)
    decisions: Counter = field(default_factory=Counter)   # (component, action) → count; a line may have several
    outcomes: Counter = field(default_factory=Counter)    # (component, action) of each line's deciding decision:
    #                                                       one per line replayed, so they add up to ``replayed``
    clients: dict[str, ClientResult] = field(default_factory=dict)
    model_version: str = ""
    started: float | None = None
    ended: float | None = None

    # ── metrics ────────────────────────────────────────────────────────────
    def outcome_rows(self) -> list[tuple[tuple[str, str], int]]:
        """((component, action), lines) of every deciding outcome, sorted: the report's outcome table."""
        return sorted(self.outcomes.items())

    def refused_clients(self) -> list[ClientResult]:
        """Clients refused at least once, most refused requests first."""
        return sorted((c for c in self.clients.values() if c.caught), key=lambda c: (-c.blocked_requests, c.client))

    def by_label(self) -> dict[str, list[ClientResult]]:
        groups: dict[str, list[ClientResult]] = {}
        for c in self.clients.values():
            if c.label:
                groups.setdefault(c.label, []).append(c)
        return groups

    def scenario_table(self) -> list[dict[str, Any]]:
        """One row per label: clients, caught, recall or FPR, requests let through."""
        rows = []
        for label, members in sorted(self.by_label().items(), key=lambda kv: (kv[0] in BENIGN_LABELS, kv[0])):
            caught = [c for c in members if c.caught]
            before = [c.first_blocked_index - 1 for c in caught]
            benign = label in BENIGN_LABELS
            rows.append({
                "scenario": label,
                "benign": benign,
                "clients": len(members),
                "requests": sum(c.requests for c in members),
                "caught": len(caught),
                "recall": None if benign else len(caught) / len(members),
                "fp_rate": len(caught) / len(members) if benign else None,
                "median_before_block": statistics.median(before) if before else None,
                "max_before_block": max(before) if before else None,
                "let_through": sum((c.first_blocked_index - 1) if c.caught else c.requests for c in members),
            })
        return rows

    def precision(self) -> float | None:
        """Of the labelled clients refused at least once, the share that were hostile."""
        caught = [c for c in self.clients.values() if c.caught and c.label]
        if not caught:
            return None
        return sum(1 for c in caught if c.label not in BENIGN_LABELS) / len(caught)


def _client_of(line: Any) -> Client:
    user_id = getattr(line, "user_id", None)
    ip = getattr(line, "ip", None)
    key = getattr(line, "client_key", None)
    if key:  # a request-log row: the key the middleware used (a person behind a shared address too)
        return Client(key=key, ip=ip, user_id=str(user_id) if user_id else None, authenticated=bool(user_id))
    if user_id:
        # a staff member signed in (a generated record says so): exempt from the behaviour, as live
        return Client(key=f"u:{user_id}", ip=ip, user_id=str(user_id), authenticated=True,
                      is_staff=bool(getattr(line, "staff", False)))
    cookie = getattr(line, "cookie", "") or ""
    return Client(key=ip_key(ip), ip=ip, user_id=None, authenticated=False,
                  cookie=cookie_hash(cookie) if cookie and sl_settings.SHARED_ADDRESS_COOKIES else None)


_VALUE = {a: a.value for a in Action}    # an enum's .value is a descriptor call: once per line adds up
_EXEMPT = ("exempt", "pass")
_NONE = ("none", "allow")
#: Bounds of the per-replay caches (cleared when full: memory stays bounded on any log).
_CLIENT_CACHE = 200_000
_SCAN_CACHE = 50_000


class _RememberedAnomalies:
    """The site profile as the payload decision reads it: :meth:`Profile.anomalies`, remembered per
    body-less request shape.

    What is odd about a request for the site is a pure function of its method, path and parameters
    (and of the settings, fixed for a replay); a body-less request's parameters are those of its
    query string.  A log repeats its pages and their queries, so the answer is worked out once per
    distinct (method, path, query) — :meth:`Replayer.feed` says which one through ``key`` before it
    asks (None: a request with a body, asked afresh).  Each call gets a list of its own, as from the
    profile."""

    __slots__ = ("_anomalies", "_memo", "key")

    def __init__(self, profile: Any) -> None:
        self._anomalies = profile.anomalies
        self._memo: dict[tuple[str, str, str], tuple[str, ...]] = {}
        self.key: tuple[str, str, str] | None = None

    def anomalies(self, method: str, path: str, params: Any) -> list[str]:
        key = self.key
        if key is None:
            return self._anomalies(method, path, params)
        found = self._memo.get(key)
        if found is None:
            if len(self._memo) >= _SCAN_CACHE:
                self._memo.clear()
            found = self._memo[key] = tuple(self._anomalies(method, path, params))
        return list(found)


class Replayer:
    """Feed request lines (in time order) through the detection pipeline."""

    def __init__(self, *, model: Any = "active", payloads: bool = True, profile: Any = "active",
                 guard: Any = None) -> None:
        if isinstance(model, str) and model == "active":
            from ..detectors.behaviour.detector import _active_model

            model = _active_model()
        if isinstance(profile, str) and profile == "active":
            # the profile travels with the model: no model, no profile
            from ..ml.runtime import get_active_profile

            profile = get_active_profile() if model is not None else None
        self.model = model
        self.profile = profile
        # views, not copies: each line's snapshot is done with before its outcome is recorded
        self.windows = LocalWindowStore(max_clients=10_000_000, views=True)
        self.bans = MemoryBans()
        # guard None: the live guard judges the model on the log's clock, as it would have live
        self.detector = Detector(self.windows, self.bans, use_llm=False, model=model, profile=profile, guard=guard,
                                 metrics=False)
        self.payloads = payloads
        self.result = ReplayResult(model_version=getattr(model, "version", "") or "")
        self.last: RequestContext | None = None   # the context of the line fed last
        from ..detectors.payload.scan import scan_parts
        from ..detectors.payload.validator import decide

        self._scan_parts, self._decide = scan_parts, decide
        self._clients: dict[tuple, tuple[Client, ClientResult]] = {}
        self._scans: dict[tuple[str, str, str], Any] = {}
        self._query_params: dict[str, list[list[str]]] = {}
        # what the payload decision asks the profile, remembered per request shape (the detector keeps
        # the profile itself)
        self._page_profile = _RememberedAnomalies(profile) if profile is not None else None

    def feed(self, line: Any) -> bool:
        """Replay one line; returns True when the pipeline refused it."""
        res = self.result
        ts = float(line.ts)
        res.replayed += 1
        if res.started is None or ts < res.started:
            res.started = ts
        if res.ended is None or ts > res.ended:
            res.ended = ts
        client, stats = self._sender(line)
        referer = getattr(line, "referer", "") or ""
        user_agent = line.user_agent or ""
        path = line.path or "/"
        ctx = RequestContext(client, line.method or "GET", path, user_agent, ts, 0.0, referer=referer)
        self.last = ctx
        plan = getattr(line, "plan", "") if client.authenticated else ""
        if plan:  # a signed-in line that records its plan: the plan governs its routes, as live
            ctx.user = PlanHolder(plan)
        stats.requests += 1
        if is_exempt(path, client.ip):
            res.outcomes[_EXEMPT] += 1
            return False  # never inspected, exactly as in the middleware

        decision = self.detector.inspect(ctx, ts)
        ctx.add(decision)
        if self.payloads and not decision.refuses:
            query = getattr(line, "query", "") or ""
            body = getattr(line, "body", "") or ""
            if query or body or user_agent or referer or self.profile is not None:
                raw = body.encode("utf-8", "replace") if body else None
                content_type = getattr(line, "content_type", "") or ""
                scan = self._scan(query, raw, content_type, user_agent, referer)
                page_profile = self._page_profile
                if page_profile is not None:
                    # most lines carry neither a query nor a body: no parameters, and no three calls to say so
                    ctx.params = self._params(query, raw, content_type) if query or raw is not None else []
                    page_profile.key = (ctx.method, path, query) if raw is None and not content_type else None
                payload_decision = self._decide(ctx, scan, bans=self.bans, now=ts, use_llm=False,
                                                profile=page_profile)
                if payload_decision is not None:
                    ctx.add(payload_decision)
                    decision = payload_decision if payload_decision.action is not Action.ALLOW else decision

        refused_by = ctx.refused_by
        decisions = res.decisions
        for d in ctx.decisions:
            decisions[(d.component, _VALUE[d.action])] += 1
        # the headline of one decision is that decision (or the refusal): no ranking to do
        head = refused_by if refused_by is not None else (ctx.decisions[0] if len(ctx.decisions) == 1
                                                          else ctx.headline())
        res.outcomes[(head.component, _VALUE[head.action]) if head is not None else _NONE] += 1
        if refused_by is not None:
            stats.blocked_requests += 1
            stats.reasons[refused_by.reason] += 1
            if stats.first_blocked_index is None:
                stats.first_blocked_index = stats.requests
                stats.first_blocked_at = ts
        stats.final_action = _VALUE[(head or decision).action]
        if ctx.rule_score is not None and ctx.rule_score > stats.max_rule_score:
            stats.max_rule_score = ctx.rule_score
        if ctx.model_score is not None:
            stats.max_model_score = max(stats.max_model_score or 0.0, ctx.model_score)
        if ctx.payload_score and ctx.payload_score > stats.max_payload_score:
            stats.max_payload_score = ctx.payload_score
        status = 403 if refused_by is not None else int(getattr(line, "status", 200) or 200)
        rt = getattr(line, "response_ms", None)
        # a 429 the log records for a plan's route was the quota answering (smartlayer's own
        # refusal, live): like every refusal of ours it is no error of the client's
        quota = status == 429 and ctx.user is not None
        self.detector.record_outcome(ctx, status, float(rt) if rt is not None else 0.0,
                                     refused_by is not None or quota, ts)
        return refused_by is not None

    def _sender(self, line: Any) -> tuple[Client, ClientResult]:
        """The line's client, whom the replay counts it for and that one's figures: found once per
        distinct sender, not per line (the client is immutable, the figures live in the result)."""
        key = (getattr(line, "client_key", None), line.ip, getattr(line, "user_id", None),
               getattr(line, "cookie", "") or "")
        sender = self._clients.get(key)
        if sender is None:
            if len(self._clients) >= _CLIENT_CACHE:
                self._clients.clear()
            client = _client_of(line)
            # whom the replay counts: a client behind a shared address by its cookie, as the middleware does
            who = person_key(client.key, client.cookie)
            clients = self.result.clients
            stats = clients.get(who)
            if stats is None:
                stats = clients[who] = ClientResult(who, getattr(line, "label", None) or None)
            sender = self._clients[key] = (client, stats)
        return sender

    def _scan(self, query: str, raw: bytes | None, content_type: str, user_agent: str, referer: str) -> Any:
        """The payload scan of these parts.  A scan is a pure function of the parts and the settings
        (fixed for a replay), so a body-less request identical in query, user agent and referer to one
        already scanned reuses its (never modified) result: most lines repeat a user agent and a page."""
        key = (query, user_agent, referer) if raw is None and not content_type else None
        if key is not None:
            scan = self._scans.get(key)
            if scan is not None:
                return scan
        scan = self._scan_parts(query_string=query, body=raw, content_type=content_type,
                                headers={"User-Agent": user_agent, "Referer": referer})
        if key is not None:
            if len(self._scans) >= _SCAN_CACHE:
                self._scans.clear()
            self._scans[key] = scan
        return scan

    def _params(self, query: str, raw: bytes | None, content_type: str) -> list[list[str]]:
        """The parameters of these parts, as the scan's result: a pure function of them, so a body-less
        request reuses those of an earlier one with the same query string (a log repeats its pages'
        queries).  Shared, never modified: the profile reads a request's parameters and keeps none."""
        if raw is not None or content_type:
            return request_params(query, raw, content_type)
        params = self._query_params.get(query)
        if params is None:
            if len(self._query_params) >= _SCAN_CACHE:
                self._query_params.clear()
            params = self._query_params[query] = request_params(query, None, "")
        return params

    def run(self, lines: Iterable[Any]) -> ReplayResult:
        for line in lines:
            self.feed(line)
        return self.result
