"""The reason codes a decision may carry: one catalogue, the README's table made from it.

A reason code names *why*, never *how much*: ``grey:score`` rather than
``grey:score_8``.  An operator filters and counts the request log by code, so a
code carrying a counter splits one cause into dozens of rows (one client once
produced 26 distinct reasons, ``grey:sustained_rate_5`` … ``_30``).  Scores,
counts and confidences go to the decision's details, under the keys listed
here.

A decision has one ``reason`` (the code that decided) and a list of
``reasons`` (every code that contributed); both hold codes from
:data:`CATALOGUE`.  Two families are open-ended: ``payload:<signature>`` (a
payload signature, built in or from ``VALIDATOR_EXTRA_PATTERNS``) and the
behaviour rules, whose names are the rule names of
:mod:`smartlayer.detectors.behaviour.rules`; a test reads that module and
fails on a rule missing here.

Plain data, no imports: the policy, the detectors, the admin and the docs all
read it.
"""
from __future__ import annotations

from typing import NamedTuple


class Reason(NamedTuple):
    component: str      # the component that gives it ("anomaly", "validator", "ratelimit", "ban", "any")
    meaning: str        # one line: what happened
    details: str = ""   # the detail keys that carry its numbers, if any


#: code → what it means.  The README's reason-code table is :func:`readme_table`.
CATALOGUE: dict[str, Reason] = {
    # ── BLACK rules: refuse at once ────────────────────────────────────────
    "black:empty_user_agent": Reason("anomaly", "no User-Agent header"),
    "black:request_flood": Reason("anomaly", "black_requests_10s requests or more in 10 s", "rules"),
    "black:address_flood": Reason("anomaly", "the requests of every client behind one address passed the flood "
                                             "limit times their number"),
    "black:error_flood": Reason("anomaly", "most recent responses were errors (black_error_rate_percent)"),
    "black:login_flood": Reason("anomaly", "LOGIN_FLOOD_ATTEMPTS login POSTs within LOGIN_FLOOD_WINDOW: bans"),
    "black:crawler_not_allowed": Reason("anomaly", "a declared crawler that CRAWLER_POLICY does not allow"),
    # ── GREY signals: they add to the rule score ───────────────────────────
    "grey:suspicious_user_agent": Reason("anomaly", "a scripting or scanning user agent"),
    "grey:elevated_rate": Reason("anomaly", "20–49 requests in 10 s"),
    "grey:moderate_error_rate": Reason("anomaly", "40–74 % errors in 2 min"),
    "grey:sensitive_path": Reason("anomaly", "a sensitive path such as /.env or /wp-admin"),
    "grey:endpoint_scanning": Reason("anomaly", "many distinct paths in a minute"),
    "grey:sequential_id_probing": Reason("anomaly", "consecutive ids on one path template"),
    "grey:burst_after_idle": Reason("anomaly", "a burst on few paths after an idle spell"),
    "grey:unauthenticated": Reason("anomaly", "not signed in"),
    # ── GREY score: the decision ───────────────────────────────────────────
    "grey:score": Reason("anomaly", "the rule score (with the model's assist) reached grey_hard_block_score: "
                                    "blocked", "score, rule_score, rules"),
    "grey:suspicion": Reason("anomaly", "the rule score is in the grey zone: recorded, or asked to the LLM",
                             "score, rule_score, rules"),
    "grey:sustained_rate": Reason("anomaly", "GREY_SUSTAINED_COUNT grey-zone requests hammering few paths "
                                             "within GREY_SUSTAINED_WINDOW: blocked", "grey_flags, rule_score"),
    # ── the learned model ──────────────────────────────────────────────────
    "model:ban_score": Reason("anomaly", "the model's score reached MODEL_BAN_SCORE: banned",
                              "model_score, model_threshold, model_version"),
    "model:sustained": Reason("anomaly", "MODEL_SUSTAINED_COUNT requests above the model's threshold within "
                                         "MODEL_SUSTAINED_WINDOW: blocked", "model_flags, model_score"),
    "model:corroborated": Reason("anomaly", "MODEL_CORROBORATED_COUNT requests above the model's threshold with a "
                                            "tell of automation beyond the site's ceiling: blocked",
                                 "model_corroborated, model_flags, model_score"),
    "model:tells": Reason("anomaly", "MODEL_TELL_COUNT requests with a tell of automation beyond the site's "
                                     "ceiling within MODEL_SUSTAINED_WINDOW: blocked", "model_tells, model_score"),
    "model:above_threshold": Reason("anomaly", "above the model's threshold: MODEL_RULE_ASSIST added to the score",
                                    "model_score, model_threshold"),
    "model:record_only": Reason("anomaly", "above the model's threshold while the live guard has demoted it and no "
                                           "rule agrees: recorded, not counted", "model_score, model_threshold"),
    # ── payloads ───────────────────────────────────────────────────────────
    "payload:<signature>": Reason("validator", "an attack signature (sqli_union_select, xss_script_tag, …) scored "
                                               "VALIDATOR_BLOCK_SCORE or more: blocked",
                                  "payload_score, payload_hits (signature@where)"),
    "payload:borderline": Reason("validator", "a payload score below VALIDATOR_BLOCK_SCORE: recorded, or asked to "
                                              "the LLM", "payload_score, payload_hits"),
    # ── the site profile: what is odd for this site ─────────────────────────
    "param:unknown_name": Reason("validator", "a parameter name this endpoint has never been sent", "profile_hits, "
                                                                                                     "profile_score"),
    "param:shape": Reason("validator", "a parameter value outside the shape the endpoint's values have",
                          "profile_hits, profile_score"),
    "path:unknown": Reason("validator", "a path the site never served under a prefix it knows", "profile_hits"),
    "path:restricted_ext": Reason("validator", "a file extension probes ask for (.bak, .old, .inc, …) that the site "
                                               "never served", "profile_hits"),
    "profile:sustained": Reason("validator", "PROFILE_SUSTAINED_COUNT requests odd for this site within the window: "
                                             "blocked", "profile_flags, profile_hits"),
    # ── LLM verdicts ───────────────────────────────────────────────────────
    "llm:block": Reason("anomaly", "the LLM judged a grey-zone client BLOCK: banned", "llm"),
    "llm:payload_block": Reason("validator", "the LLM's confidence in a borderline payload passed "
                                             "AI_PAYLOAD_BLOCK_CONFIDENCE: blocked", "llm.confidence"),
    "llm:payload_below_confidence": Reason("validator", "the LLM judged a borderline payload, not confidently "
                                                        "enough to block: recorded", "llm.confidence"),
    "llm:no_verdict": Reason("validator", "no LLM verdict in time (timeout, error, breaker open): recorded",
                             "llm_error"),
    # ── escalation and protections ─────────────────────────────────────────
    "repeat:blocks": Reason("any", "the client was blocked BAN_AFTER_BLOCKS times within BAN_BLOCK_WINDOW: "
                                   "banned", "blocks"),
    "ban_withheld:staff": Reason("any", "a ban was due but the client is signed-in staff (STAFF_EXEMPT)"),
    "ban_withheld:loopback": Reason("any", "a ban was due but the client is a loopback address"),
    "staff_exempt": Reason("anomaly", "signed-in staff are never refused by the behaviour rules: recorded"),
    # ── bans ───────────────────────────────────────────────────────────────
    "ban:rule": Reason("ban", "refused by an active ban the rules made", "ban_id, ban_reason, expires"),
    "ban:model": Reason("ban", "refused by an active ban the model made", "ban_id, ban_reason, expires"),
    "ban:llm": Reason("ban", "refused by an active ban an LLM verdict made", "ban_id, ban_reason, expires"),
    "ban:admin": Reason("ban", "refused by an active ban an operator made (admin, smartlayer_bans)",
                        "ban_id, ban_reason, expires"),
    # ── quotas ─────────────────────────────────────────────────────────────
    "ratelimit:per_minute": Reason("ratelimit", "the plan's per-minute quota for the route is used up (429)",
                                   "plan, route, limit"),
    "ratelimit:per_hour": Reason("ratelimit", "the plan's per-hour quota is used up (429)", "plan, route, limit"),
    "ratelimit:per_day": Reason("ratelimit", "the plan's per-day quota is used up (429)", "plan, route, limit"),
    "ratelimit:lifetime": Reason("ratelimit", "the plan's lifetime quota is used up (429)", "plan, route, limit"),
    "ratelimit:plan_required": Reason("ratelimit", "the route is limited only in higher plans (403)",
                                      "plan, required"),
    # ── failures ───────────────────────────────────────────────────────────
    "unavailable": Reason("any", "a component failed and CACHE_FAIL_OPEN is off (503)"),
}

#: The open-ended payload family's entry in :data:`CATALOGUE`.
PAYLOAD_FAMILY = "payload:<signature>"


def payload_code(hit: str) -> str:
    """``payload:<signature>`` for a scan hit ``"<signature>@<where>"`` (where goes to the details)."""
    return "payload:" + hit.split("@", 1)[0]


def ban_code(source: object) -> str:
    """The reason code of a refusal by a ban made by ``source`` (an unknown source reads as an operator's)."""
    code = f"ban:{source}"
    return code if code in CATALOGUE else "ban:admin"


def quota_code(limit_type: str) -> str:
    """The reason code of a used-up quota (``per_minute``, ``per_hour``, ``per_day``, ``lifetime``)."""
    return _QUOTA_CODES[limit_type]


_QUOTA_CODES = {"per_minute": "ratelimit:per_minute", "per_hour": "ratelimit:per_hour",
                "per_day": "ratelimit:per_day", "lifetime": "ratelimit:lifetime"}


def entry(code: str) -> Reason | None:
    """The catalogue entry of ``code``, or None for a code that is not catalogued."""
    found = CATALOGUE.get(code)
    if found is None and code.startswith("payload:") and code != PAYLOAD_FAMILY:
        name = code[len("payload:"):]
        if name and "@" not in name and not any(ch.isspace() for ch in name):
            return CATALOGUE[PAYLOAD_FAMILY]
    return found


def readme_table() -> str:
    """The README's reason-code table (a test keeps the two the same)."""
    lines = ["| code | component | what happened | numbers in the details |", "|---|---|---|---|"]
    for code, r in CATALOGUE.items():
        details = ", ".join(f"`{k.strip()}`" for k in r.details.split(",")) if r.details else ""
        lines.append(f"| `{code}` | {r.component} | {r.meaning} | {details} |")
    return "\n".join(lines) + "\n"
