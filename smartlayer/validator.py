"""AIRequestValidator's logic: from a payload scan to a decision, without HTTP.

The scan itself (normalisation, signatures, which parts of a request) lives in
:mod:`smartlayer.payload`.  Here the score goes through the one combiner:
0 passes, ``VALIDATOR_BLOCK_SCORE`` (3) and above blocks, anything between is
borderline and — when an LLM is configured — asked synchronously under
``AI_PAYLOAD_TIMEOUT``; a confidence above ``AI_PAYLOAD_BLOCK_CONFIDENCE``
blocks, a timeout or error lets the request through and is recorded.
Repeated payload blocks of one client escalate to a ban like any block.
"""
from __future__ import annotations

import time
from typing import Any

from .context import RequestContext
from .decisions import Action, Decision, Evidence, combine, escalate
from .detector import BanBackend, CacheBans, _llm_available


def decide(ctx: RequestContext, scan: Any, *, bans: BanBackend | None = None, now: float | None = None,
           monitor: bool = False, use_llm: bool = True) -> Decision | None:
    """The decision for one scanned request; None when the payload is clean."""
    ctx.payload_score = scan.score
    if scan.score <= 0:
        return None
    now = time.time() if now is None else now
    llm_ok = use_llm and _llm_available()
    ev = Evidence("validator", payload_score=scan.score, payload_hits=list(scan.hits), llm_available=llm_ok)
    decision = combine(ev)
    if decision.action is Action.ASK_LLM:
        from .llm.verdicts import judge_payload

        verdict = judge_payload(excerpt=scan.excerpt, hits=list(scan.hits), client_key=ctx.client.key)
        if verdict.confidence is None:
            decision.action = Action.RECORD
            decision.reasons.append(f"llm:none({verdict.error or 'no verdict'})"[:120])
        else:
            ev.llm_confidence = verdict.confidence
            decision = combine(ev)
            if decision.action is not Action.BLOCK:
                decision.action = Action.RECORD
                decision.reasons.append(f"llm:confidence_{verdict.confidence}")
    if decision.action is Action.BLOCK:
        backend = bans or CacheBans()
        decision = escalate(decision, backend.note_block(ctx, now))
        if decision.action is Action.BAN and not monitor:
            backend.ban(ctx, decision, now)
    return decision
