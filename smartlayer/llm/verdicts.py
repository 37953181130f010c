"""LLM verdicts: grey-zone clients in the background, borderline payloads synchronously.

Grey zone (:func:`submit_grey`)
    A client whose rule score is in the grey zone is let through; its raw
    behavioural facts are queued for the model on the bounded worker pool.
    If the model answers BLOCK, the client is banned (``source="llm"``), so
    the ban is in force from its *next* request.  Each client is asked at most
    once per ``AI_GREY_RECHECK_INTERVAL`` (0 disables the de-duplication).

Borderline payloads (:func:`judge_payload`)
    Asked synchronously, bounded by ``AI_PAYLOAD_TIMEOUT`` in total (retries
    and back-off included).  Answers are cached by the SHA-256 of the excerpt
    for ``AI_VERDICT_CACHE_TTL`` so a repeated payload costs one call.  No
    answer (timeout, error, breaker open, budget used up, unparseable) gives
    ``confidence=None`` and the caller lets the request through.

Stricter only
    An LLM verdict can only make a decision stricter.  The combiner
    (:func:`smartlayer.policy.decisions.combine`) blocks on a payload confidence above
    ``AI_PAYLOAD_BLOCK_CONFIDENCE`` and bans on a grey-zone BLOCK, and ignores
    an ALLOW for anything the rules, the model or the patterns already block.
    Nothing in this module lifts a ban or unblocks anything.

Record keeping
    Every grey-zone outcome (BLOCK, ALLOW, or none with the error) is saved as
    a :class:`~smartlayer.models.Verdict`, as is every payload verdict that
    reached the provider (``confidence`` set, ``verdict`` left empty: the
    threshold belongs to the combiner).  Cache hits and calls skipped before reaching the
    provider (breaker open, budget used up) are counted in
    :data:`smartlayer.state.failures.metrics` instead, so an attack cannot turn into a
    flood of database writes.  A failing database write is reported and
    swallowed: it never turns into a failed request.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

from .. import state
from ..conf import sl_settings
from ..state import bans
from . import prompts
from .client import LLMClient, LLMError, LLMSkipped, get_client

GREY_MAX_TOKENS = 3
PAYLOAD_MAX_TOKENS = 4
GREY_BAN_REASON = "LLM verdict: BLOCK"


@dataclass(frozen=True, slots=True)
class PayloadVerdict:
    """The model's confidence (0–100) that a payload is malicious, or None with the error."""

    confidence: int | None
    error: str = ""
    cached: bool = False
    latency_ms: float = 0.0


def _usable(client: LLMClient) -> bool:
    return client.is_configured() and not client.breaker.is_open()


def llm_available() -> bool:
    """True when an LLM is configured and its circuit breaker is not open (no I/O)."""
    return _usable(get_client())


def _elapsed_ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


def _record(**fields: Any) -> None:
    """Save one Verdict row; a database failure is reported, never raised."""
    from django.db import transaction

    from ..dbtext import clean_fields
    from ..models import Verdict

    for name in ("client_key", "error", "ai_model"):
        fields[name] = fields.get(name) or ""
    fields = clean_fields(Verdict, fields)  # what the model answered and what it was asked about are free text
    try:
        with transaction.atomic():  # a savepoint inside a request's transaction
            Verdict.objects.create(**fields)
    except Exception as exc:  # noqa: BLE001 - bookkeeping must not fail a request
        state.report_failure("database", exc)


def _unparseable() -> str:
    state.count("llm.unparseable")
    state.report_failure("llm-answer", "the model's answer was not in the required format")
    return "unparseable answer"


# ── grey-zone clients ──────────────────────────────────────────────────────

def submit_grey(*, client_key: str, facts: dict, ip: str | None, user_id: str | None) -> bool:
    """Queue a background BLOCK/ALLOW verdict about a grey-zone client; True if queued.

    Not queued (False): no LLM, breaker open, already asked within
    ``AI_GREY_RECHECK_INTERVAL``, the cache failing, or the queue full.
    """
    client = get_client()
    if not _usable(client):
        return False
    dedupe_key = state.make_key("llm-grey", client_key)
    interval = int(sl_settings.AI_GREY_RECHECK_INTERVAL or 0)
    if interval > 0:
        try:
            if not state.get_cache().add(dedupe_key, 1, timeout=interval):
                state.count("llm.skipped_duplicate")
                return False
        except Exception as exc:  # noqa: BLE001 - without de-duplication, do not ask at all
            state.report_failure("cache", exc)
            return False
    clean = prompts.clean_facts(facts)
    if client.submit(_judge_grey, client, client_key, clean, ip, user_id) is None:
        _forget(dedupe_key)  # nothing was asked: let a later request try again
        return False
    state.count("llm.grey_submitted")
    return True


def _forget(key: str) -> None:
    try:
        state.get_cache().delete(key)
    except Exception as exc:  # noqa: BLE001
        state.report_failure("cache", exc)


def _judge_grey(client: LLMClient, client_key: str, facts: dict[str, Any], ip: str | None,
                user_id: str | None) -> str | None:
    """Worker-pool task: ask, ban on BLOCK, record the outcome.  Returns the verdict."""
    from django.db import connections

    started = time.monotonic()
    verdict, error, answer = None, "", None
    try:
        answer = client.complete(prompts.grey_messages(facts), max_tokens=GREY_MAX_TOKENS).text
        verdict = prompts.parse_verdict(answer)
        if verdict is None:
            error = _unparseable()
    except LLMError as exc:  # already reported by the client
        error = str(exc)
    latency = _elapsed_ms(started)
    details: dict[str, Any] = {"facts": facts}
    if verdict is None and answer is not None:
        details["answer"] = answer[:100]
    try:
        # the verdict is on record before the ban it causes: whoever sees the ban can read why
        _record(kind="grey", client_key=client_key, verdict=verdict or "", error=error, latency_ms=latency,
                ai_model=client.model, details=details)
        if verdict == "BLOCK":
            _ban(client, client_key, ip, user_id, facts, latency)
    finally:
        connections.close_all()  # this thread's connections only; pool threads live long
    return verdict


def _ban(client: LLMClient, client_key: str, ip: str | None, user_id: str | None, facts: dict[str, Any],
         latency_ms: float) -> None:
    try:
        bans.ban(client_key, reason=GREY_BAN_REASON, source="llm", ip=ip, user_id=user_id,
                 details={"ai_model": client.model, "latency_ms": latency_ms, "facts": facts})
    except Exception as exc:  # noqa: BLE001 - bans.ban reports its own storage failures; this is the rest
        state.report_failure("ban", exc)


# ── borderline payloads ────────────────────────────────────────────────────

def judge_payload(*, excerpt: str, hits: list[str], client_key: str = "") -> PayloadVerdict:
    """The model's 0–100 confidence that ``excerpt`` is an attack, within ``AI_PAYLOAD_TIMEOUT``.

    ``confidence`` is None whenever no answer was obtained in time; the
    caller then lets the request through.
    """
    started = time.monotonic()
    client = get_client()
    if not client.is_configured():
        return PayloadVerdict(None, error="not configured", latency_ms=_elapsed_ms(started))
    digest = hashlib.sha256(excerpt.encode("utf-8", "surrogatepass")).hexdigest()
    cache_key = state.make_key("llm-payload", client.model, digest)
    hit = _cache_get(cache_key)
    if hit is not None:
        state.count("llm.payload_cache_hits")
        return PayloadVerdict(hit, cached=True, latency_ms=_elapsed_ms(started))

    deadline = started + float(sl_settings.AI_PAYLOAD_TIMEOUT)
    confidence, error, answer = None, "", None
    try:
        answer = client.complete(prompts.payload_messages(excerpt, hits), max_tokens=PAYLOAD_MAX_TOKENS,
                                 deadline=deadline).text
        confidence = prompts.parse_confidence(answer)
        if confidence is None:
            error = _unparseable()
        else:
            _cache_set(cache_key, confidence)
    except LLMSkipped as exc:  # never reached the provider: counted, not recorded
        return PayloadVerdict(None, error=str(exc), latency_ms=_elapsed_ms(started))
    except LLMError as exc:  # already reported by the client
        error = str(exc)
    latency = _elapsed_ms(started)
    details: dict[str, Any] = {"hits": [str(h)[:100] for h in hits[:20]]}
    if confidence is None and answer is not None:
        details["answer"] = answer[:100]
    _record(kind="payload", client_key=client_key, confidence=confidence, error=error, latency_ms=latency,
            ai_model=client.model, payload_hash=digest, details=details)
    return PayloadVerdict(confidence, error=error, latency_ms=latency)


def _cache_get(key: str) -> int | None:
    if not sl_settings.AI_VERDICT_CACHE_TTL:
        return None
    try:
        value = state.get_cache().get(key)
    except Exception as exc:  # noqa: BLE001
        state.report_failure("cache", exc)
        return None
    return value if isinstance(value, int) else None


def _cache_set(key: str, confidence: int) -> None:
    ttl = int(sl_settings.AI_VERDICT_CACHE_TTL or 0)
    if ttl <= 0:
        return
    try:
        state.get_cache().set(key, confidence, timeout=ttl)
    except Exception as exc:  # noqa: BLE001
        state.report_failure("cache", exc)
