"""AIAnomalyDetector's logic, without HTTP.

:class:`Detector` takes a :class:`~smartlayer.request.context.RequestContext` and a
clock value and returns a decision: first the ban check, then the client's
window (arrival recorded), the documented rules, the active model, the one
combiner, and the side effects the decision calls for (a ban, a background
LLM question, the repeat-block counter).

Where the state lives is injected: the middleware uses the process-wide
window store and :class:`~smartlayer.state.ban_backends.CacheBans` (Django's
cache, the database behind it); the replay command uses its own window store
and :class:`~smartlayer.state.ban_backends.MemoryBans` with the log's
timestamps as the clock.  Same code, so a backtest means something.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any

from ...conf import sl_settings
from ...ml import runtime_module
from ...ml.features import scored, site_flags
from ...ml.guard import Guard, process_guard
from ...policy import enforce
from ...policy.enforce import BanBackend, counted, llm_available, staff_exempt
from ...request.client import person_key
from ...request.context import RequestContext, referer_host
from ...request.decision import PUBLIC_REASONS, Action, Decision, Evidence
from ...request.deferred import Deferred
from ...request.facts import FLAG_DECLARED_CRAWLER, arrival_flags
from ...request.reasons import ban_code
from ...state import bans as ban_service
from ...state import prom
from ...state.ban_backends import CacheBans
from ...state.windows import get_window_store
from ...state.windows.window import Outcome, WindowStore
from .. import ratelimit
from . import crawlers
from .rules import agreeing_score, evaluate


def _active_profile():
    return runtime_module().get_active_profile()


def _active_model():
    if not sl_settings.MODEL_ENABLED:
        return None
    return runtime_module().get_active_model()


class Detector:
    component = "anomaly"

    def __init__(self, windows: WindowStore | None = None, bans: BanBackend | None = None, *,
                 use_llm: bool = True, model: Any = "active", profile: Any = "active",
                 guard: Guard | None = None, metrics: bool = True) -> None:
        """``metrics=False``: no Prometheus observation (a replay's process is never scraped)."""
        self._windows = windows
        self.metrics = metrics
        self.bans = bans or CacheBans()
        self.use_llm = use_llm
        self._model = model  # "active": whatever the runtime has active; None: rules only
        # "active": the active version's site profile; None: no profile (nor with model=None: they travel together)
        self._profile = None if model is None and profile == "active" else profile
        # the live guard: the process's for the active model; a replay (or a test)
        # with a model of its own judges it on its own clock, publishing nothing
        self._guard = guard if guard is not None else (None if isinstance(model, str) and model == "active" else Guard())

    @property
    def guard(self) -> Guard:
        return self._guard if self._guard is not None else process_guard()

    @property
    def windows(self) -> WindowStore:
        # `is None`, not `or`: an empty store is falsy (it has a length)
        return self._windows if self._windows is not None else get_window_store()

    def model(self):
        return _active_model() if self._model == "active" else self._model

    def profile(self):
        return _active_profile() if isinstance(self._profile, str) else self._profile

    def _model_and_profile(self) -> tuple[Any, Any]:
        """:meth:`model` and :meth:`profile` for one request, with one look at the runtime when
        both are the active ones (the common case: every request asks for both)."""
        if self._model == "active" and isinstance(self._profile, str):
            return runtime_module().get_active()
        return self.model(), self.profile()

    def inspect(self, ctx: RequestContext, now: float | None = None, *, monitor: bool = False) -> Decision:
        now = time.time() if now is None else now
        client = ctx.client
        windows = self.windows   # once: the property looks the process's store up (a settings check each time)
        if not sl_settings.CACHE_FAIL_OPEN and not windows.available():
            # replicated windows never touch Redis per request; a site that asked
            # to fail closed when Redis is away still gets its 503s
            raise ConnectionError("smartlayer's Redis is unreachable (replication is failing)")

        # ── an active ban answers before anything else; then the window ────
        governed = client.authenticated and ratelimit.governs(client, ctx.user, ctx.path)
        flags = arrival_flags(authenticated=client.authenticated, user_agent=ctx.user_agent, path=ctx.path,
                              plan_governed=governed)
        active_model, profile = self._model_and_profile()   # once per request: both read below
        if profile is not None:
            flags |= site_flags(profile, ctx.path, referer_host(ctx.referer) if ctx.referer else "", ctx.host)
        arrival = (now, ctx.method, ctx.path, flags)
        shared = self._behind_shared_address(ctx, arrival, now, windows)
        client = ctx.client
        guarded = getattr(windows, "arrive_guarded", None)
        if staff_exempt(ctx):
            # staff are never banned: no ban is looked up for them (an office's
            # banned address must not lock its operators out of the admin)
            entry, snap = None, windows.arrive(client.key, arrival)
        elif guarded is not None and isinstance(self.bans, CacheBans):
            # Redis: the ban keys are checked inside the window's round trip
            ban_service.maybe_sync()
            snap, found = guarded(client.key, arrival, ban_service.lookup_keys(client))
            entry = ban_service.active_entry([found], now) if snap is None else None
            if snap is None and entry is None:  # a stale ban key: record as usual
                snap = windows.arrive(client.key, arrival)
        else:
            entry = self.bans.lookup(ctx, now)
            if entry is None and shared is not None and client.behind_shared_address:
                entry = self._address_ban(client.address_key, now)
            snap = None if entry is not None else windows.arrive(client.key, arrival)
        if entry is not None:
            return Decision(
                Action.BLOCK, "ban", reason=(code := ban_code(entry.get("source"))), reasons=[code],
                status=int(sl_settings.BLOCK_STATUS),
                details={"ban_id": entry.get("id"), "expires": entry.get("expires"),
                         "ban_reason": str(entry.get("reason", ""))[:200]},
                public_reason=PUBLIC_REASONS["ban"],
            )
        ctx.window_key = client.key
        # judged only for an agent the arrival's flags say declares a crawler (the same question, asked once)
        crawler = (crawlers.judge(ctx.user_agent, snap)
                   if not client.authenticated and flags & FLAG_DECLARED_CRAWLER else None)
        result = evaluate(snap, is_staff=client.is_staff, shared=shared, rate_governed=governed, crawler=crawler,
                          profile=profile)
        llm_ok = self.use_llm and not monitor and llm_available()
        # the first fields positionally (component, black, rule_score, rules_fired, in_grace): keywords to a
        # class cost a dict of them and a search of the 27 parameters for each, every request
        ev = Evidence(self.component, result.black, result.score, result.fired, result.in_grace)
        ev.llm_available = llm_ok
        if not result.in_grace:
            ctx.rule_score = result.score
            if (sl_settings.GREY_SUSTAINED_COUNT and result.hammering
                    and result.score >= int(sl_settings.grey_suspicion_threshold)):
                ev.grey_flags = counted(self.bans.note_flag, ctx, now, "grey")
        # score early, decide later: the model scores from the client's first requests (the grace
        # period included) so its flags accumulate from the start; the combiner still refuses nobody
        # in grace.  A page's assets and beacons are counted by the features of its page views.
        model = None if governed else active_model  # the plan's quota answers for a customer's pace
        if model is not None and scored(snap):
            scored_ = model.score(snap)
            ev.model_score, ev.model_threshold = scored_.score, scored_.threshold
            ev.model_version, ev.top_features = scored_.version, scored_.top_features  # worked out if read
            ctx.model_score, ctx.model_version = scored_.score, scored_.version
            if prom.ON and self.metrics:
                prom.model_score(scored_.score)
            block_at = sl_settings.MODEL_BLOCK_SCORE
            above = scored_.score >= (scored_.threshold if block_at is None else float(block_at))
            ev.model_demoted = not self.guard.note(model, client.key, above, now, scored_.score)
            tells = int(sl_settings.MODEL_TELL_COUNT or 0)
            if tells and getattr(scored_, "corroborated", False) and getattr(scored_, "tells_alone", True):
                # a tell beyond the site's ceiling, flagged or not: page after page of it is automation
                ev.model_tells = counted(self.bans.note_flag, ctx, now, "tell")
                if result.in_grace and not ev.model_demoted and ev.model_tells >= tells:
                    ev.in_grace = False
            if above:
                ev.model_flags = counted(self.bans.note_flag, ctx, now)
                # the flags alone count from the version's sustained threshold: what its training week's
                # visitors did request after request is not a sustained anomaly on this site
                # (an owner's MODEL_BLOCK_SCORE replaces both)
                # and a visit paced like a person's reading is flagged for its length, not for automation
                # (versions trained with the profile's classes judge it; the rule-agreeing, corroborated
                # and tells paths still count its flags)
                bar = getattr(scored_, "sustained_threshold", None)
                reading = getattr(scored_, "reading", None)
                # nor is a rule counting its pages a rule agreeing with those flags (rules.LENGTH_RULES)
                ev.rule_agreement = agreeing_score(result.fired, result.score, reading)
                if block_at is None and (reading is not None or (bar is not None and bar > scored_.threshold)):
                    ev.model_sustained = (counted(self.bans.note_flag, ctx, now, "sustained")
                                          if not reading and (bar is None or scored_.score >= bar) else 0)
                corroborate = int(sl_settings.MODEL_CORROBORATED_COUNT or 0)
                if corroborate and getattr(scored_, "corroborated", False):
                    ev.model_corroborated = counted(self.bans.note_flag, ctx, now, "corroborated")
                # the grace period protects from a refusal on little evidence: a sustained anomaly
                # (MODEL_SUSTAINED_ALONE flagged requests, or MODEL_CORROBORATED_COUNT flagged with
                # a tell beyond the site's ceiling; the guard green) is not little
                if (result.in_grace and not ev.model_demoted
                        and ((ev.model_flags if ev.model_sustained is None else ev.model_sustained)
                             >= int(sl_settings.MODEL_SUSTAINED_ALONE)
                             or (corroborate and ev.model_corroborated >= corroborate))):
                    ev.in_grace = False

        try:
            decision = enforce.decide(ev, ctx, bans=self.bans, now=now, monitor=monitor, facts=result.facts)
        except Deferred as deferred:      # on the event loop: the rest in a worker thread, this step after it
            raise deferred.then(lambda decided: self._noted(decided, ev, model, client.key, now)) from None
        return self._noted(decision, ev, model, client.key, now)

    def _noted(self, decision: Decision, ev: Evidence, model: Any, key: str, now: float) -> Decision:
        """A refused client is being dealt with: the guard leaves it out of "the typical request"."""
        if ev.model_score is not None and decision.refuses:
            refused = getattr(self.guard, "refused", None)   # a caller's own guard may not follow refusals
            if refused is not None:
                refused(model, key, now)
        return decision

    def _behind_shared_address(self, ctx: RequestContext, arrival: tuple, now: float, windows: WindowStore) -> Any:
        """For an anonymous client with a site cookie: the clients behind its address.

        A cookie this address has used before makes the client one of its own
        (``ctx.client`` is re-keyed ``<address>~c:<cookie>``): an office's
        people are judged one by one, not as one client.  A cookie seen for the
        first time is recorded for next time and the request is judged as the
        address — inventing a cookie per request, or dropping it, gains nothing.
        None when the client has no cookie or the store keeps no such index
        (``WINDOW_BACKEND = "redis"``).
        """
        client = ctx.client
        probe = getattr(windows, "shared_address", None)
        if client.cookie is None or client.authenticated or probe is None:
            return None
        cookie_key = person_key(client.key, client.cookie)
        shared = probe(client.key, cookie_key, now)
        if shared.established:
            ctx.client = dataclasses.replace(client, key=cookie_key)
        elif shared.room:
            windows.arrive(cookie_key, arrival)
        return shared

    def _address_ban(self, address: str, now: float) -> dict[str, Any] | None:
        """A ban of a cookie client's address that also applies to it: one an operator made.

        An automatic ban of the address (earned by its cookieless traffic) must
        not refuse the established clients behind it — that is the office this
        exists for; a deliberate one (the admin, the command) refuses everyone.
        """
        lookup = getattr(self.bans, "lookup_key", None)
        entry = lookup(address, now) if lookup is not None else None
        return entry if entry is not None and entry.get("source") == "admin" else None

    def record_outcome(self, ctx: RequestContext, status: int, elapsed_ms: float, blocked: bool,
                       now: float | None = None) -> None:
        """Record the finished request in the client's window (error rates read it)."""
        if ctx.window_key is None:
            return
        outcome: Outcome = (ctx.started if now is None else now, int(status), float(elapsed_ms), bool(blocked))
        self.windows.complete(ctx.window_key, outcome)
