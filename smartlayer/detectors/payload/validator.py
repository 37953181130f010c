"""AIRequestValidator's logic: from a payload scan to a decision, without HTTP.

The scan itself (normalisation, signatures, which parts of a request) lives in
:mod:`smartlayer.detectors.payload.scan`.  Here the score becomes evidence for the one
enforcement step (:func:`smartlayer.policy.enforce.decide`): 0 passes,
``VALIDATOR_BLOCK_SCORE`` (3) and above blocks, anything between is
borderline and — when an LLM is configured — asked synchronously under
``AI_PAYLOAD_TIMEOUT``; a confidence above ``AI_PAYLOAD_BLOCK_CONFIDENCE``
blocks, a timeout or error lets the request through and is recorded.
Repeated payload blocks of one client escalate to a ban like any block.
"""
from __future__ import annotations

import time
from typing import Any

from ...policy import enforce
from ...policy.enforce import BanBackend, llm_available
from ...request.context import RequestContext
from ...request.decision import Decision, Evidence


def decide(ctx: RequestContext, scan: Any, *, bans: BanBackend | None = None, now: float | None = None,
           monitor: bool = False, use_llm: bool = True) -> Decision | None:
    """The decision for one scanned request; None when the payload is clean."""
    ctx.payload_score = scan.score
    if scan.score <= 0:
        return None
    if bans is None:
        from ...state.ban_backends import CacheBans

        bans = CacheBans()
    ev = Evidence("validator", payload_score=scan.score, payload_hits=list(scan.hits),
                  llm_available=use_llm and llm_available())
    return enforce.decide(ev, ctx, bans=bans, now=time.time() if now is None else now, monitor=monitor,
                          excerpt=scan.excerpt)
