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

from ...ml import runtime_module
from ...policy import enforce
from ...policy.enforce import BanBackend, counted, llm_available
from ...profile.core import score
from ...request.context import RequestContext
from ...request.decision import Decision, Evidence


def profile_reasons(ctx: RequestContext, profile: Any) -> list[str]:
    """What is odd about this request *for this site* (the profile's reason codes); [] without a profile.

    Staff are left out: they administer pages and parameters few others use.
    """
    if profile is None or ctx.client.is_staff:
        return []
    return profile.anomalies(ctx.method, ctx.path, ctx.params)


def decide(ctx: RequestContext, scan: Any, *, bans: BanBackend | None = None, now: float | None = None,
           monitor: bool = False, use_llm: bool = True, profile: Any = "active") -> Decision | None:
    """The decision for one scanned request; None when the payload is clean and nothing is odd.

    ``profile``: the site profile whose anomalies join the evidence ("active":
    the active version's; None: signatures alone, as without a profile).
    """
    if isinstance(profile, str):
        profile = runtime_module().get_active_profile()
    reasons = profile_reasons(ctx, profile)
    extra = score(reasons) if reasons else 0
    ctx.payload_score = scan.score + extra
    if scan.score <= 0 and not reasons:
        return None
    now = time.time() if now is None else now
    if bans is None:
        from ...state.ban_backends import CacheBans

        bans = CacheBans()
    ev = Evidence("validator", payload_score=scan.score + extra, payload_hits=list(scan.hits),
                  profile_hits=reasons, profile_score=extra, llm_available=use_llm and llm_available())
    if reasons:
        ev.profile_flags = counted(bans.note_flag, ctx, now, "profile")
    return enforce.decide(ev, ctx, bans=bans, now=now, monitor=monitor, excerpt=scan.excerpt)
