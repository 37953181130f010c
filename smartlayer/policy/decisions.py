"""Decisions, and the one place that turns evidence into a decision.

Every component gathers *evidence* (BLACK rules, the GREY score, the model's
anomaly score, the payload score, an LLM verdict) and hands it to
:func:`combine`.  The policy, in order:

1. a BLACK rule fired → **block**; a rule in :data:`BANNING_RULES` → **ban**;
2. a borderline payload or a grey-zone client with an LLM verdict: the LLM
   can only make a decision stricter — a payload verdict above
   ``AI_PAYLOAD_BLOCK_CONFIDENCE`` → **block**;
3. payload score (signatures plus the site profile's anomalies, weighted by
   ``PROFILE_WEIGHTS``) ≥ ``VALIDATOR_BLOCK_SCORE`` → **block**; a client
   with ``PROFILE_SUSTAINED_COUNT`` anomalous requests within
   ``PROFILE_SUSTAINED_WINDOW`` → **block**; profile anomalies alone below
   that → **record**; 1 … below → **ask the LLM** (recorded only when no LLM
   is configured);
4. the model alone, above ``MODEL_BAN_SCORE`` → **ban** for ``BAN_TTL``
   (not while the live guard has demoted it, :mod:`smartlayer.ml.guard`: then
   the model counts only where a rule agrees — a rule score of at least
   ``MODEL_SUSTAINED_RULE_SCORE`` — and is otherwise recorded; on a visit paced like reading, a rule
   that counts its pages, ``endpoint_scanning``, does not agree: ``Evidence.rule_agreement``);
5. the model above its threshold adds ``MODEL_RULE_ASSIST`` to the rule
   score, so model and rules together block sooner; and a *sustained*
   anomaly blocks: ``MODEL_SUSTAINED_COUNT`` requests above the threshold
   within ``MODEL_SUSTAINED_WINDOW`` together with a rule score of at least
   ``MODEL_SUSTAINED_RULE_SCORE``, or ``MODEL_SUSTAINED_ALONE`` of them
   whatever the rules say (of those alone, only the ones at the version's sustained bar on a visit
   not paced like a person's reading: :func:`smartlayer.ml.tells.paced_like_reading`), or ``MODEL_CORROBORATED_COUNT`` of them *corroborated* (a tell of
   automation beyond the site's own ceiling, :mod:`smartlayer.ml.training.tells`): the model says
   rare, the site's week says never this much of that; or ``MODEL_TELL_COUNT`` requests with such a
   tell, above the threshold or not (``model:tells``: page after page beyond anything the week showed).
   One odd request is common for people with long
   sessions; attackers are odd request after request (measured on generated
   traffic: ``training/README.md``);
6. (assisted) rule score ≥ ``grey_hard_block_score`` → **block**;
   ≥ ``grey_suspicion_threshold`` → **ask the LLM** (recorded without one) —
   unless the grey zone is a *sustained elevated rate*:
   ``GREY_SUSTAINED_COUNT`` grey-zone requests within ``GREY_SUSTAINED_WINDOW``
   with the elevated-rate rule on at most ``grey_burst_max_paths`` paths
   (hammering one endpoint, not a page fanning out to many) → **block**, LLM
   or not;
7. a client blocked ``BAN_AFTER_BLOCKS`` times within ``BAN_BLOCK_WINDOW``
   is **banned** for ``BAN_TTL``.

Clients in the grace period get no grey-zone rule score and are not refused: the model scores
them from ``MODEL_SCORE_FROM`` on so that evidence accumulates from their first requests, and
only a sustained anomaly (``MODEL_SUSTAINED_ALONE`` flagged requests, ``MODEL_CORROBORATED_COUNT``
corroborated ones or ``MODEL_TELL_COUNT`` tells, the live guard green)
ends the grace period early — the detector clears ``in_grace`` then, not this module.
Every non-allow decision carries its reasons — stable codes from
:data:`smartlayer.request.reasons.CATALOGUE`, never a number — and its
details: rules fired, scores and counts, model version and the features that
stood out most.
"""
from __future__ import annotations

from typing import Any

from ..conf import sl_settings
from ..request.decision import ALLOW, PUBLIC_REASONS, Action, Decision, Evidence
from ..request.reasons import payload_code

#: BLACK rules that ban at once instead of blocking one request: after a login
#: flood, whatever that client does next — including the session of an account
#: it has just broken into, from the same IP — is refused.
BANNING_RULES = frozenset({"login_flood"})

#: The actions as module names (read once per request or more: see :data:`smartlayer.policy.enforce._BLOCK`).
_ALLOW, _RECORD, _BLOCK, _BAN, _ASK_LLM = Action.ALLOW, Action.RECORD, Action.BLOCK, Action.BAN, Action.ASK_LLM


def _decision(action: Action, ev: Evidence, reason: str, reasons: list[str], **details: Any) -> Decision:
    ttl = None
    if action is _BAN:
        ttl = int(sl_settings.BAN_TTL or 0) or None
    # a new dict each time: the decision's own; one that refuses nobody only reaches the log row,
    # which works out the model's explanation off the request thread (Evidence.details)
    merged = ev.details(lazy=action is not _BLOCK and action is not _BAN)
    if details:
        merged.update(details)
    component = ev.component
    # positional, in field order (action, component, reason, reasons, status, details, headers, ban_ttl,
    # monitor, public_reason): most requests past the grace period carry a decision, built here
    return Decision(action, component, reason, reasons, int(sl_settings.BLOCK_STATUS), merged, {}, ttl, False,
                    PUBLIC_REASONS.get(component, "forbidden"))


def escalate(decision: Decision, blocks: int) -> Decision:
    """Step 7: the ``blocks``-th block of a client within BAN_BLOCK_WINDOW
    (this one included) turns into a ban once it reaches BAN_AFTER_BLOCKS."""
    limit = int(sl_settings.BAN_AFTER_BLOCKS or 0)
    if decision.action is _BLOCK and limit and blocks >= limit:
        decision.action = _BAN
        decision.ban_ttl = int(sl_settings.BAN_TTL or 0) or None
        decision.reasons.append("repeat:blocks")
        decision.details["blocks"] = blocks
    return decision


def combine(ev: Evidence) -> Decision:
    """The policy described in the module docstring.  Pure: no I/O."""
    s = sl_settings
    reasons: list[str] = []

    # 1. BLACK rules
    if ev.black:
        reasons = [f"black:{b}" for b in ev.black] + [f"grey:{r}" for r in ev.rules_fired]
        action = _BAN if BANNING_RULES.intersection(ev.black) else _BLOCK
        return _decision(action, ev, reasons[0], reasons)

    # 2–3. payloads, and what is odd for this site (the profile's parameter and path anomalies)
    if ev.payload_score is not None and ev.payload_score > 0:
        hits = list(dict.fromkeys(payload_code(h) for h in ev.payload_hits)) + ev.profile_hits  # where: in details
        if ev.payload_score >= int(s.VALIDATOR_BLOCK_SCORE):
            return _decision(_BLOCK, ev, hits[0] if hits else "payload:borderline", hits)
        sustained = int(s.PROFILE_SUSTAINED_COUNT or 0)
        if ev.profile_hits and sustained and ev.profile_flags >= sustained:
            reasons = ["profile:sustained"] + hits
            return _decision(_BLOCK, ev, reasons[0], reasons, profile_flags=ev.profile_flags)
        if ev.profile_hits and ev.payload_score <= ev.profile_score:
            # odd for this site, nothing an attack string: recorded, never worth a synchronous LLM call
            return _decision(_RECORD, ev, hits[0], hits)
        if ev.llm_confidence is not None and ev.llm_confidence > int(s.AI_PAYLOAD_BLOCK_CONFIDENCE):
            reasons = hits + ["llm:payload_block"]
            return _decision(_BLOCK, ev, reasons[-1], reasons)
        action = _ASK_LLM if ev.llm_available and ev.llm_confidence is None else _RECORD
        return _decision(action, ev, "payload:borderline", hits)

    if ev.in_grace:
        return ALLOW

    score = int(ev.rule_score or 0)
    reasons = [f"grey:{r}" for r in ev.rules_fired]

    # 4–5. the model (demoted by the live guard: only where a rule agrees)
    if ev.model_score is not None and ev.model_threshold is not None:
        alone = not ev.model_demoted
        # on a visit paced like reading, a rule counting its pages is no agreement (rules.LENGTH_RULES)
        agreed = (score if ev.rule_agreement is None else ev.rule_agreement) >= int(s.MODEL_SUSTAINED_RULE_SCORE)
        if alone and ev.model_score >= float(s.MODEL_BAN_SCORE):
            reasons = ["model:ban_score"] + reasons
            return _decision(_BAN, ev, reasons[0], reasons)
        tells = int(s.MODEL_TELL_COUNT or 0)
        if alone and tells and ev.model_tells >= tells:
            reasons = ["model:tells"] + reasons
            return _decision(_BLOCK, ev, reasons[0], reasons)
        block_at = s.MODEL_BLOCK_SCORE if s.MODEL_BLOCK_SCORE is not None else ev.model_threshold
        if ev.model_score >= float(block_at):
            flags = ev.model_flags
            corroborate = int(s.MODEL_CORROBORATED_COUNT or 0)
            if not (alone or agreed):
                reasons.append("model:record_only")
            elif ((alone and (flags if ev.model_sustained is None else ev.model_sustained)
                   >= int(s.MODEL_SUSTAINED_ALONE))
                    or (flags >= int(s.MODEL_SUSTAINED_COUNT) and agreed)):
                reasons = ["model:sustained"] + reasons
                return _decision(_BLOCK, ev, reasons[0], reasons)
            elif alone and corroborate and ev.model_corroborated >= corroborate:
                reasons = ["model:corroborated"] + reasons
                return _decision(_BLOCK, ev, reasons[0], reasons)
            else:
                score += int(s.MODEL_RULE_ASSIST)
                reasons.append("model:above_threshold")

    # 6. rule score
    if score >= int(s.grey_hard_block_score):
        return _decision(_BLOCK, ev, "grey:score", reasons, score=score)
    if score >= int(s.grey_suspicion_threshold):
        if ev.llm_verdict == "BLOCK":
            return _decision(_BAN, ev, "llm:block", reasons + ["llm:block"], score=score)
        sustained = int(s.GREY_SUSTAINED_COUNT or 0)
        if sustained and ev.grey_flags >= sustained:
            reasons = ["grey:sustained_rate"] + reasons
            return _decision(_BLOCK, ev, reasons[0], reasons, score=score)
        action = _ASK_LLM if ev.llm_available else _RECORD
        return _decision(action, ev, "grey:suspicion", reasons, score=score)
    if reasons:
        return _decision(_ALLOW, ev, "", reasons)
    return ALLOW
