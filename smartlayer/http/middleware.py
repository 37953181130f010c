"""The four middlewares.  Thin on purpose.

Each one builds (or joins) the request context, asks its pure core for a
decision, and maps the decision to a response.  The cores —
:mod:`smartlayer.detectors.behaviour.detector`, :mod:`smartlayer.detectors.payload.validator`,
:mod:`smartlayer.detectors.ratelimit` — know nothing about HTTP responses, and
:mod:`smartlayer.request.context` records every request once, whoever refused it.

**One pass.**  The four classes stay the entry points and the switches, but
when several sit next to each other in ``settings.MIDDLEWARE`` (the documented
setup) the outermost one runs all of their components in a single pass: one
context, the decisions in settings order up to the first enforced refusal, the
after-hooks innermost first, one log row — and, under ASGI, one thread hop at most.
The inner ones are left out of the chain.  With another middleware between
two of them each keeps its own pass, so that middleware still runs between
their decisions.

All four work under WSGI and ASGI (``sync_capable`` and ``async_capable``).
Under ASGI the cores, which may talk to the cache or database, run in a
worker thread via ``sync_to_async`` so the event loop never blocks on I/O —
unless :mod:`.loop` shows that a request's decisions start none (a warm
worker, an anonymous client judged from memory), when they run on the loop
and hand any I/O their outcome calls for to a thread; the bookkeeping after
the response (memory operations only) runs on the loop.  A
request Django cancels because its client went away is logged with status
499, like nginx's "client closed request".
Any failure inside a core is logged once per interval, counted, and the
request is served (``CACHE_FAIL_OPEN``, the default) or answered 503.
"""
from __future__ import annotations

import asyncio
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.core.handlers.exception import response_for_exception
from django.db import close_old_connections
from django.http import HttpResponse

from .. import signals
from ..conf import sl_settings
from ..request import context as ctxmod
from ..request.decision import _REFUSING, Action, Decision
from ..request.deferred import Deferred, on_loop
from ..state import prom
from ..state.failures import report_failure
from . import loop
from .record import detector, finish
from .responses import log_refusal, render

#: the status logged for a request whose client went away before its response (nginx's 499)
CLIENT_CLOSED = 499
#: read per decision: a module name, not the enum's class attribute (see smartlayer.policy.enforce._BLOCK);
#: ``._value_`` below for the same reason (``.value`` is a Python-level property of the enum)
_ALLOW = Action.ALLOW


class _SmartLayerMiddleware:
    component = ""
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
        #: the components this instance runs, in settings order: itself, then
        #: every smartlayer middleware directly inside it (see :func:`_adjacent`)
        self.members: tuple[_SmartLayerMiddleware, ...] = (self,)
        #: the outer middleware that does this one's work, when it was fused into one
        self.fused_into: _SmartLayerMiddleware | None = None
        #: a request was decided already (in a thread): imports, the detector and the engines are ready
        self._warm = False
        inner = _adjacent(get_response, self.is_async)
        if inner is not None:
            # One pass: Django builds the chain from the inside out, so the
            # smartlayer middleware right inside this one is already built
            # (with the ones inside it fused into it).  Take its components
            # and hand the request straight to what comes after them: the
            # context, the decisions, the after-hooks and the log row then
            # cost one call (and one thread hop under ASGI), not four.
            self.members = (self, *inner.members)
            self.get_response = inner.get_response
            for member in inner.members:
                member.fused_into = self
        #: whether this pass may decide on the loop at all, once warm (:func:`.loop.keeps_windows`)
        self._loop_capable = loop.keeps_windows(self.members)

    # ── the core's hooks ───────────────────────────────────────────────────
    def decide(self, request: Any, ctx: ctxmod.RequestContext, monitor: bool) -> Decision | None:
        return None

    def after(self, request: Any, ctx: ctxmod.RequestContext, response: HttpResponse) -> None:
        """Runs on the event loop under ASGI: memory operations only, never I/O."""
        return None

    # ── plumbing ───────────────────────────────────────────────────────────
    def _before(self, request: Any, resume: Deferred | None = None
                ) -> tuple[ctxmod.RequestContext | None, HttpResponse | None, tuple]:
        """Every member's decision in settings order, up to the first enforced
        refusal: (context, the refusal's response or None, the members that ran).

        ``resume``: what the event loop handed over (:mod:`.loop`): the decisions go on from that
        member, with the rest of its decision, in the context the loop began."""
        if not sl_settings.ENABLED:
            return None, None, ()
        try:
            ctx = ctxmod.begin(request, self)
        except Exception as exc:  # noqa: BLE001 - identity resolution must never break a request
            report_failure("context", exc)
            return None, None, ()
        members = self.members
        start = 0 if resume is None else resume.at
        for i in range(start, len(members)):
            member = members[i]
            if type(member).decide is _NO_DECISION:   # WatchLog: nothing to decide, no call for it
                continue
            try:
                if resume is None or i != start:
                    early = _decide(member, request, ctx)
                else:                                   # the rest of the decision the loop handed over
                    early = _decide(member, request, ctx, resume.finish)
            except Deferred as deferred:
                deferred.at = i
                raise
            except Exception as exc:
                if i == 0:
                    raise
                # What Django's handler around a separate inner middleware
                # would do with it: an error response, which the outer
                # components still see on its way out and the owner logs.
                early = response_for_exception(request, exc)
            if early is not None:
                return ctx, early, members[:i + 1]
        return ctx, None, members

    def _after(self, request: Any, ctx: ctxmod.RequestContext | None, response: HttpResponse,
               ran: tuple = ()) -> HttpResponse:
        """The members' after-hooks, innermost first (as separate middlewares
        would run them), then — for the context's owner — the record, once."""
        if ctx is None:
            return response
        for member in reversed(ran):
            if type(member).after is _NO_AFTER:   # the validator, WatchLog: no after-hook to call
                continue
            try:
                member.after(request, ctx, response)
            except Exception as exc:  # noqa: BLE001
                report_failure("finish", exc)
        if ctx.owner is self:
            try:
                finish(ctx, response)
            except Exception as exc:  # noqa: BLE001
                report_failure("finish", exc)
        return response

    def __call__(self, request: Any) -> Any:
        if self.is_async:
            return self.__acall__(request)
        ctx, early, ran = self._before(request)
        response = early if early is not None else self.get_response(request)
        return self._after(request, ctx, response, ran)

    async def __acall__(self, request: Any) -> Any:
        # Decided on the loop when that provably starts no I/O (.loop), else — or from where a decision
        # on the loop would start some — in a worker thread.  Shielded: a thread cannot be cancelled,
        # so the decision runs to its end anyway, and if the request is cancelled meanwhile, its end
        # is where the request gets logged (see below).
        before = loop.decide_on_loop(self._before, self._in_thread, request, self._warm)
        if before is None:
            before = self._in_thread(request)
        try:
            ctx, early, ran = await asyncio.shield(before)
            self._warm = self._loop_capable
            response = early if early is not None else await self.get_response(request)
        except asyncio.CancelledError:
            # The client went away and Django cancelled the request.  It still
            # happened: log it as nginx would (499, "client closed request"),
            # or it would vanish from the record without a trace.
            gone = HttpResponse(status=CLIENT_CLOSED)
            if before.done():
                self._late_after(request, gone, before)
            else:
                before.add_done_callback(lambda done: self._late_after(request, gone, done))
            raise
        # On the loop, no thread hop: _after only adds headers, queues the
        # outcome for the window store and the row for the log writer — every
        # one a memory operation by design (a hop costs ~0.4 ms of latency on
        # the test machine; four middlewares × two hops were 3.8 ms a request).
        return self._after(request, ctx, response, ran)

    def _in_thread(self, request: Any, resume: Deferred | None = None) -> Any:
        """The decisions (or, ``resume``, the rest of them) in a worker thread, as a future."""
        loop.COUNTS["thread"] += 1
        return asyncio.ensure_future(
            sync_to_async(_releasing_db(self._before), thread_sensitive=False)(request, resume))

    def _late_after(self, request: Any, response: HttpResponse, before: Any) -> None:
        """The after-hooks of a cancelled request, once its decisions are done."""
        ran = self.members
        if not before.cancelled() and before.exception() is None:
            ran = before.result()[2]
        self._after(request, getattr(request, ctxmod.ATTR, None), response, ran)


#: The base class's hooks: a member whose class keeps them has nothing to decide / nothing to do after
#: the response, and the pass skips the call (looked up on the class per request, so a hook replaced
#: on a class later is called).
_NO_DECISION = _SmartLayerMiddleware.decide
_NO_AFTER = _SmartLayerMiddleware.after


def _adjacent(get_response: Any, is_async: bool) -> _SmartLayerMiddleware | None:
    """The smartlayer middleware ``get_response`` is, when it is the next one in
    ``settings.MIDDLEWARE`` (Django wraps each middleware in its exception
    handler, which keeps the middleware as ``__wrapped__``), else None.

    Only a direct neighbour of the same mode qualifies: with another
    middleware between two smartlayer ones, that middleware's work must run
    between their decisions, so each keeps its own pass.
    """
    target = get_response
    for _ in range(3):
        if isinstance(target, _SmartLayerMiddleware):
            return target if target.is_async == is_async and target.fused_into is None else None
        target = getattr(target, "__wrapped__", None)
        if target is None:
            return None
    return None


def _decide(member: _SmartLayerMiddleware, request: Any, ctx: ctxmod.RequestContext,
            finish: Any = None) -> HttpResponse | None:
    """One component's decision on the request: recorded in ``ctx``, refusals
    signalled and logged; the response when it is an enforced refusal.

    ``finish``: the rest of the decision the event loop handed over (:mod:`.loop`), called instead
    of the member's ``decide``.  On the loop a refusal is handed over before it is recorded."""
    component = member.component
    if finish is None and (ctx.exempt or ctx.refused_by is not None or component in ctx.skip):
        return None
    monitor = sl_settings.is_monitor(component)
    try:
        decision = member.decide(request, ctx, monitor) if finish is None else finish()
    except Deferred:
        raise
    except Exception as exc:  # noqa: BLE001
        report_failure(component, exc)
        if sl_settings.CACHE_FAIL_OPEN:
            return None
        decision = Decision(Action.BLOCK, component, reason="unavailable", status=503,
                            public_reason="temporarily unavailable")
    if decision is None:
        return None
    refuses = decision.action in _REFUSING   # Decision.refuses, asked once here (a property call each time)
    if refuses and on_loop():                # its receivers and log line: in a worker thread
        raise Deferred(lambda: decision)
    decision.monitor = decision.monitor or (monitor and refuses)
    if decision.component == "ban" and sl_settings.is_monitor("ban"):
        decision.monitor = True
    ctx.add(decision)
    if prom.ON and (decision.action is not _ALLOW or decision.reasons):
        prom.decision(decision.component, decision.action._value_, decision.reason, decision.monitor)
    if refuses:
        signals.request_blocked.send(sender=type(member), request=request, client=ctx.client, decision=decision)
        log_refusal(ctx, decision)
    if decision.action in _REFUSING and not decision.monitor:   # Decision.enforced (a receiver may change it)
        return render(request, decision)
    return None


def _releasing_db(func: Any) -> Any:
    """``func``, then release the database connection it may have opened.

    Under ASGI the cores run in executor threads; Django closes connections at
    request end only in the thread that handles ``request_finished``, never in
    these.  Without this, a connection opened there (ban sync, a ban, lifetime
    limits) would stay open for the thread's life and, once broken (a database
    restart), would fail every later query of that thread.
    """

    def run(*args: Any) -> Any:
        try:
            return func(*args)
        finally:
            close_old_connections()

    return run


def _payload_modules() -> tuple[Any, Any]:
    from ..detectors.payload import scan, validator

    return scan, validator


def _ratelimit_module() -> Any:
    from ..detectors import ratelimit

    return ratelimit


#: Detector modules imported on first use (not at start-up: a site may leave their component out),
#: then kept: an ``import`` statement per request costs a microsecond.  The modules themselves are
#: kept, not their functions, so a function replaced on its module (tests) is the one called.
_modules: dict[str, Any] = {}


def _lazy(name: str, load: Any) -> Any:
    found = _modules.get(name)
    if found is None:
        found = _modules[name] = load()
    return found


class AIAnomalyDetector(_SmartLayerMiddleware):
    """Bans, the documented behaviour rules and the learned model."""

    component = "anomaly"

    def decide(self, request, ctx, monitor):
        return detector().inspect(ctx, ctx.started, monitor=monitor)

    def after(self, request, ctx, response):
        if ctx.path == "/robots.txt":  # what the site tells crawlers (memory only: see crawlers.learn_robots)
            from ..detectors.behaviour.crawlers import learn_robots

            learn_robots(ctx.path, getattr(response, "status_code", 0), response)


class AIRequestValidator(_SmartLayerMiddleware):
    """Attack payloads in the query string, the body and attacker-controlled headers."""

    component = "validator"

    def __init__(self, get_response: Any) -> None:
        super().__init__(get_response)
        # Compile the signature engines now, when the worker loads the app, not on its first request:
        # under a burst a worker busy compiling (tens of ms, more on a loaded host) misses the burst.
        try:
            from ..detectors.payload.config import _config

            _config()
        except Exception as exc:  # noqa: BLE001 - the first request meets the same error and fails open
            report_failure(self.component, exc)

    def decide(self, request, ctx, monitor):
        scan_mod, validator = _lazy("payload", _payload_modules)
        scan = scan_mod.scan_request(request)
        ctx.params = scan.shapes   # as the scan left them: maybe worked out only when read (PendingParams)
        return validator.decide(ctx, scan, now=ctx.started, monitor=monitor)


class RateLimiter(_SmartLayerMiddleware):
    """Per-plan, per-route quotas (minute, hour, day, lifetime)."""

    component = "ratelimit"

    def decide(self, request, ctx, monitor):
        decision = _lazy("ratelimit", _ratelimit_module).check(ctx.client, getattr(request, "user", None), ctx.path, ctx.started)
        if decision is not None and decision.action is _ALLOW:
            ctx.response_headers = decision.headers
            return None
        return decision

    def after(self, request, ctx, response):
        for name, value in (ctx.response_headers or {}).items():
            if name not in response:
                response[name] = value


class WatchLog(_SmartLayerMiddleware):
    """Records every request (queued, written in batches by one background thread)."""

    component = "watchlog"
