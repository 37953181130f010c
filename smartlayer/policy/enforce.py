"""The one enforcement step after a decision, used by every component.

The behaviour detector and the payload validator gather their evidence, and
both end here: :func:`decide` runs the combiner and then, in this order,

1. asks the LLM about a borderline payload (synchronously, within
   ``AI_PAYLOAD_TIMEOUT``) and combines again with its confidence;
2. escalates a block to a ban once the client reached ``BAN_AFTER_BLOCKS``;
3. protects the clients no automatic ban may target: signed-in staff
   (``STAFF_EXEMPT``: never banned, never refused by the behaviour rules;
   their payload blocks stay blocks) and loopback addresses (a missing proxy
   setting would otherwise ban every visitor at once);
4. records the ban;
5. queues a background LLM question about a grey-zone client.

Why one place: the detector and the validator used to repeat steps 2–4, and
the copy in the validator lacked the guard the detector had — a cache fault
while counting blocks turned a detected SQL injection into a pass.  Here
every step that talks to the cache or the LLM is guarded: a fault costs the
escalation (or the question), is counted and logged once per interval
(:func:`smartlayer.state.failures.report_failure`), and the decision already made —
the block — stands.
"""
from __future__ import annotations

import functools
import ipaddress
import time
from collections.abc import Callable
from typing import Any, Protocol

from ..conf import sl_settings
from ..request.context import RequestContext
from ..request.decision import Action, Decision, Evidence
from ..request.deferred import Deferred, on_loop
from ..state.failures import report_failure
from .decisions import combine, escalate

#: The component whose refusals come from the behaviour rules and the model.
BEHAVIOUR = "anomaly"

#: The actions :func:`decide` compares with, as module names: in Python 3.11 every ``Action.X`` is read
#: through the enum metaclass's ``__getattr__`` hook (a method-wrapper made and called, ~1 k instructions,
#: against a few tens for a global), and every request past its grace period makes seven such reads here.
_RECORD, _BLOCK, _BAN, _ASK_LLM = Action.RECORD, Action.BLOCK, Action.BAN, Action.ASK_LLM


class BanBackend(Protocol):
    """Where bans and the counters that lead to them live (cache, or memory in a replay)."""

    def lookup(self, ctx: RequestContext, now: float) -> dict[str, Any] | None: ...

    def ban(self, ctx: RequestContext, decision: Decision, now: float) -> None: ...

    def note_block(self, ctx: RequestContext, now: float) -> int: ...

    def note_flag(self, ctx: RequestContext, now: float, kind: str = "model") -> int: ...


def llm_available() -> bool:
    """An LLM is configured and its breaker is closed (no I/O; httpx is not imported without a key)."""
    if not sl_settings.AI_API_KEY:
        return False
    from ..llm.verdicts import llm_available as breaker_closed

    return breaker_closed()


def counted(counter: Callable[..., int], *args: Any) -> int:
    """A shared counter's value, or 0 when the cache cannot be reached.

    The decision at hand was made from the window or the payload; only the
    escalation that needs the counter (repeat blocks → ban, sustained flags)
    is lost while the cache is away.  Reported and counted, like every
    fail-open.
    """
    try:
        return counter(*args)
    except Exception as exc:  # noqa: BLE001 - see the docstring
        report_failure("counters", exc)
        return 0


def is_loopback(ip: str | None) -> bool:
    if not ip:
        return False
    return _is_loopback(ip)


@functools.lru_cache(maxsize=4096)
def _is_loopback(ip: str) -> bool:
    """Parsing an address costs more than the rest of the ban check: remembered
    for the addresses seen lately (bounded, so an attacker rotating addresses
    only evicts entries)."""
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


def ban_protection(ctx: RequestContext) -> str | None:
    """Why no automatic ban may target this client (``"staff"``, ``"loopback"``), or None."""
    client = ctx.client
    if client.is_staff and sl_settings.STAFF_EXEMPT:
        return "staff"
    if not client.authenticated and is_loopback(client.ip):
        return "loopback"
    return None


def staff_exempt(ctx: RequestContext) -> bool:
    """Signed-in staff: never banned, never refused by the behaviour rules."""
    return ctx.client.is_staff and bool(sl_settings.STAFF_EXEMPT)


def _ask_payload(ev: Evidence, decision: Decision, ctx: RequestContext, excerpt: str) -> Decision:
    """Step 1: a borderline payload, judged by the LLM within its budget.

    No verdict (timeout, error, breaker open) lets the request through and is
    recorded; a confidence above ``AI_PAYLOAD_BLOCK_CONFIDENCE`` blocks.
    """
    from ..llm.verdicts import judge_payload

    try:
        verdict = judge_payload(excerpt=excerpt, hits=list(ev.payload_hits), client_key=ctx.client.key)
        confidence, error = verdict.confidence, verdict.error
    except Exception as exc:  # noqa: BLE001 - a borderline payload without a verdict is recorded
        report_failure("llm", exc)
        confidence, error = None, type(exc).__name__
    if confidence is None:
        decision.action = Action.RECORD
        decision.reasons.append("llm:no_verdict")
        decision.details["llm_error"] = str(error or "no verdict")[:120]
        return decision
    ev.llm_confidence = confidence
    decision = combine(ev)
    if decision.action is not Action.BLOCK:
        decision.action = Action.RECORD
        decision.reasons.append("llm:payload_below_confidence")
    return decision


def decide(ev: Evidence, ctx: RequestContext, *, bans: BanBackend, now: float | None = None,
           monitor: bool = False, excerpt: str = "", facts: dict[str, Any] | None = None) -> Decision:
    """Combine ``ev`` and carry out what the decision calls for (see the module docstring).

    ``monitor``: decide and record, but change nothing (no ban is written, no
    LLM is asked about a grey-zone client).  ``excerpt``: the payload text an
    LLM may judge; ``facts``: the behaviour summary it may be shown.
    """
    now = time.time() if now is None else now
    decision = combine(ev)
    if (decision.action is _BLOCK or decision.action is _BAN or (decision.action is _ASK_LLM and ev.llm_available)) \
            and on_loop():
        # the block counter, a ban, the LLM: the rest of this step in a worker thread (smartlayer.http.loop)
        raise Deferred(functools.partial(decide, ev, ctx, bans=bans, now=now, monitor=monitor, excerpt=excerpt,
                                         facts=facts))
    if decision.action is _ASK_LLM and ev.payload_score and ev.llm_available:
        decision = _ask_payload(ev, decision, ctx, excerpt)

    # asked only of a refusal that could turn into a ban or be one (pure: most decisions allow)
    protection = ban_protection(ctx) if decision.action is _BLOCK or decision.action is _BAN else None
    if decision.action is _BLOCK and sl_settings.BAN_AFTER_BLOCKS and protection is None:
        decision = escalate(decision, counted(bans.note_block, ctx, now))
    if decision.action is _BAN and protection is not None:
        decision.action = _BLOCK
        decision.ban_ttl = None
        decision.reasons.append(f"ban_withheld:{protection}")
    if decision.component == BEHAVIOUR and decision.refuses and staff_exempt(ctx):
        decision.action = _RECORD
        decision.reasons.append("staff_exempt")

    if decision.action is _BAN and not monitor:
        try:
            bans.ban(ctx, decision, now)
        except Exception as exc:  # noqa: BLE001 - the ban is lost, this request is still refused
            report_failure("ban", exc)
    elif decision.action is _ASK_LLM and ev.llm_available and not monitor and facts is not None:
        try:
            from ..llm.verdicts import submit_grey

            client = ctx.client
            submit_grey(client_key=client.key, facts=facts, ip=client.ip, user_id=client.user_id)
        except Exception as exc:  # noqa: BLE001 - the question is lost, the decision stands
            report_failure("llm", exc)
    return decision
