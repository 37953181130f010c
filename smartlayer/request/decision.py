"""What can be decided about a request, and the evidence a decision is made from.

Plain data: the actions, a :class:`Decision` (which component, which action,
a stable reason code, the details that explain it) and the :class:`Evidence`
a component gathers.  The policy that turns evidence into a decision is
:mod:`smartlayer.policy.decisions`; these types live below it so that the
request context, the state backends and the policy all speak them without
importing each other.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Action(str, Enum):
    ALLOW = "allow"
    RECORD = "record"        # noteworthy, let through
    ASK_LLM = "ask_llm"      # grey zone / borderline: let through (or ask synchronously)
    BLOCK = "block"          # refuse this request
    BAN = "ban"              # refuse this and every request for BAN_TTL
    THROTTLE = "throttle"    # 429, rate limit
    DENY = "deny"            # 403, route not in the client's plan

    @property
    def refuses(self) -> bool:
        return self in _REFUSING


_REFUSING = {Action.BLOCK, Action.BAN, Action.THROTTLE, Action.DENY}

#: What a refused client is told, per component (details stay in the log).
PUBLIC_REASONS = {
    "ban": "client banned",
    "anomaly": "suspicious activity",
    "validator": "malicious payload",
    "ratelimit": "rate limit exceeded",
}


@dataclass(slots=True)
class Decision:
    action: Action
    component: str
    reason: str = ""
    reasons: list[str] = field(default_factory=list)
    status: int = 403
    details: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    ban_ttl: int | None = None
    monitor: bool = False
    public_reason: str = ""

    @property
    def refuses(self) -> bool:
        return self.action in _REFUSING   # Action.refuses without its property call (asked a few times a request)

    @property
    def enforced(self) -> bool:
        """Refuses and is not in monitor mode."""
        return self.action in _REFUSING and not self.monitor


ALLOW = Decision(Action.ALLOW, "")


@dataclass(slots=True)
class Evidence:
    """Everything known about a request when a component must decide."""

    component: str
    black: list[str] = field(default_factory=list)
    rule_score: int | None = None
    rules_fired: list[str] = field(default_factory=list)
    in_grace: bool = False
    model_score: float | None = None        # higher = more anomalous, 0 … 1
    model_threshold: float | None = None
    model_version: str = ""
    model_flags: int = 0                    # requests above the threshold in MODEL_SUSTAINED_WINDOW, this one included
    model_corroborated: int = 0             # of those, requests with a tell beyond the site's ceiling (tell_ceilings)
    model_tells: int = 0                    # scored requests with a tell beyond the site's ceiling, flagged or not
    model_sustained: int | None = None      # of the flags, those at or above the version's sustained_threshold
    #                                         (None: every flag counts, model_flags)
    model_demoted: bool = False             # the live guard demoted the model: it refuses only with a rule agreeing
    rule_agreement: int | None = None       # the part of rule_score that agrees with the model's flags (None: all
    #                                         of it; less on a visit paced like reading, rules.agreeing_score)
    grey_flags: int = 0                     # grey-zone hammering requests in GREY_SUSTAINED_WINDOW, this one included
    top_features: Sequence[Any] = field(default_factory=list)  # (name, z) pairs, possibly worked out lazily
    payload_score: int | None = None
    payload_hits: list[str] = field(default_factory=list)
    profile_hits: list[str] = field(default_factory=list)   # reason codes of the site profile (param:…, path:…)
    profile_score: int = 0                  # their weight (PROFILE_WEIGHTS), part of the payload score
    profile_flags: int = 0                  # requests with a profile anomaly in PROFILE_SUSTAINED_WINDOW, this one included
    llm_verdict: str | None = None          # "BLOCK" / "ALLOW" / None
    llm_confidence: int | None = None
    llm_available: bool = False

    def details(self, lazy: bool = False) -> dict[str, Any]:
        """What a decision records of this evidence (its ``details``).

        ``lazy``: the decision refuses nobody, so its details go only to its request's log row: the
        ``top_features`` pairs are left as the lazy sequence the model gave (worked out, and left
        out when empty, by the log writer's thread: :func:`smartlayer.request.context.decision_details`)
        instead of being worked out on the request thread (~60 k instructions a flagged request).
        """
        d: dict[str, Any] = {}
        if self.black:
            d["black"] = list(self.black)
        if self.rule_score is not None:
            d["rule_score"] = self.rule_score
            d["rules"] = list(self.rules_fired)
            if self.rule_agreement is not None:   # what of it agreed with the model (a reading visit)
                d["rule_agreement"] = self.rule_agreement
        if self.in_grace:
            d["grace"] = True
        if self.model_score is not None:
            d["model_score"] = round(self.model_score, 4)
            d["model_threshold"] = self.model_threshold
            d["model_version"] = self.model_version
            if self.model_flags:
                d["model_flags"] = self.model_flags
            if self.model_corroborated:
                d["model_corroborated"] = self.model_corroborated
            if self.model_tells:
                d["model_tells"] = self.model_tells
            if self.model_demoted:
                d["model_guard"] = "record-only"
        if self.grey_flags:
            d["grey_flags"] = self.grey_flags
        if self.grey_flags or self.model_flags or self.model_corroborated or self.model_tells:
            # why the model scored so, where its score counts toward a decision (read lazily: most
            # scored requests are never explained)
            top = self.top_features
            if lazy and top.__class__ is not list and top.__class__ is not tuple:
                d["top_features"] = top
            else:
                top = list(top)
                if top:
                    d["top_features"] = top
        if self.payload_score is not None:
            d["payload_score"] = self.payload_score
            d["payload_hits"] = list(self.payload_hits)
        if self.profile_hits:
            d["profile_hits"] = list(self.profile_hits)
            d["profile_score"] = self.profile_score
            if self.profile_flags:
                d["profile_flags"] = self.profile_flags
        if self.llm_verdict is not None or self.llm_confidence is not None:
            d["llm"] = {"verdict": self.llm_verdict, "confidence": self.llm_confidence}
        return d
