"""Deciding on the event loop under ASGI: which requests may, and how the others are handed over.

Why: under ASGI the decisions ran in a worker thread for every request, because some of them may
block (a quota counter in Redis, a signed-in user's session, a ban written, the LLM).  The hop to
the thread and back cost more CPU than the decisions themselves (~170 of ~300 µs added a request,
``docs/production.md``), and most requests need none of that I/O: an anonymous visitor on a page
no quota limits, judged from this worker's memory.

Two parts:

* :func:`may_decide_here` — asked before anything is recorded: True only when every I/O the
  decisions could start *before* their outcome is known is ruled out (a signed-in or possibly
  signed-in client, a quota route of its plan, a window store or ban store that is not in this
  worker's memory, a ban sync or model reload due, a process not yet warm, a body not in memory,
  an LLM configured).  Conservative: a request it turns away is decided in a thread, as before.
* :class:`~smartlayer.request.deferred.Deferred` — what follows from the outcome cannot be known
  beforehand: a block or a ban (the block counter, the ban itself), a refusal's ``request_blocked`` receivers and log line.
  On the loop, the one enforcement step (:func:`smartlayer.policy.enforce.decide`) and the
  middleware's refusal handling raise it *before* any of it, carrying the rest of
  the work; the middleware then finishes the request's decisions in a worker thread from there,
  the window's arrival already recorded once (never a decision run twice).

Only while ``smartlayer.request.deferred.STATE`` says so (a thread-local flag the middleware sets around the decisions it
runs on the loop): the same code called anywhere else (WSGI, a worker thread, the replay) never
raises it.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from ..conf import sl_settings
from ..request.deferred import STATE, Deferred

#: Requests whose decisions ran on the loop, in a thread, and (of those in a thread) handed over
#: after deciding on the loop — for the benchmark and the tests.
COUNTS = {"loop": 0, "thread": 0, "deferred": 0}
#: A periodic task due within this many seconds sends the request to a thread.  The question and the
#: decisions run back to back on the loop's thread (nothing awaited between them): microseconds apart.
MARGIN = 0.05


def decide_on_loop(before: Callable[[Any], Any], in_thread: Callable[[Any, Deferred], Any], request: Any,
                   warm: bool) -> asyncio.Future | None:
    """``before(request)`` run on the loop, its result as a done future, when :func:`may_decide_here`;
    the future of ``in_thread(request, deferred)`` when a decision there handed the rest over; None
    when the request is not for the loop (the caller decides it in a thread)."""
    if not may_decide_here(request, warm):
        return None
    STATE.on = True
    try:
        done = before(request)
    except Deferred as deferred:
        STATE.on = False
        COUNTS["deferred"] += 1
        return in_thread(request, deferred)
    finally:
        STATE.on = False
    COUNTS["loop"] += 1
    future = asyncio.get_running_loop().create_future()
    future.set_result(done)
    return future


def keeps_windows(members: Any) -> bool:
    """Whether a pass of ``members`` may decide on the loop at all: the validator counts a profile
    flag in the client's window, which exists once the detector recorded the arrival; run before it
    (or without it) the count falls back to the cache — a round trip in production."""
    components = [member.component for member in members]
    return "validator" not in components or (
        "anomaly" in components and components.index("anomaly") < components.index("validator"))


def may_decide_here(request: Any, warm: bool) -> bool:
    """True when deciding on ``request`` provably starts no I/O before its outcome is known.

    ``warm``: the middleware has decided a request already (modules imported, the detector built,
    the signature engines compiled).  Every test reads memory only.
    """
    if not warm:
        return False
    if not sl_settings.ENABLED:
        return True
    if sl_settings.AI_API_KEY:                       # a grey-zone or borderline question may go out
        return False
    if not _body_in_memory(request.META):
        return False
    from ..request.client import _certainly_anonymous

    user = getattr(request, "user", None)
    if user is not None and not _certainly_anonymous(request, user):
        return False                                 # the session store, the user's row
    return _stores_in_memory() and not _due() and _urlconf_loaded(request) and not _quota_route(request)


def _body_in_memory(meta: Any) -> bool:
    length = meta.get("CONTENT_LENGTH")
    if not length:
        return True
    try:
        size = int(length)
    except (TypeError, ValueError):
        return False
    from django.conf import settings

    return size <= int(getattr(settings, "FILE_UPLOAD_MAX_MEMORY_SIZE", 0) or 0)


def _stores_in_memory() -> bool:
    """Windows in this worker's memory, and bans read from its mirror or its own local-memory cache."""
    from ..state import bans
    from ..state.ban_mirror import ban_mirror
    from ..state.windows.store import window_backend

    if window_backend() == "redis":
        return False
    mirror = ban_mirror()
    return (mirror is not None and mirror.ready) or bans._cache_is_this_process()


def _due() -> bool:
    """A ban sync, a model or profile reload, or the model guard's minute is due (or near)."""
    from ..state import bans

    now = time.monotonic()
    if now + MARGIN >= bans._next_sync:
        return True
    if sl_settings.MODEL_ENABLED or sl_settings.PROFILE_ENABLED:
        from ..ml import runtime

        rt = runtime._runtime.peek()
        if rt is None or now + MARGIN >= rt.next_check or rt.generation != sl_settings.generation:
            return True
        if rt.current is not None:
            from ..ml.guard import process_guard

            wall = time.time()
            minute = process_guard().minute
            if int(wall // 60) != minute or int((wall + MARGIN) // 60) != minute:
                return True
    return False


def _urlconf_loaded(request: Any) -> bool:
    from ..request import exempt

    urlconf = getattr(request, "urlconf", None) or exempt.root_urlconf()
    return str(urlconf) in exempt._loaded


def _quota_route(request: Any) -> bool:
    """An anonymous client's plan (``ANONYMOUS_PLAN``) limits this path: its counters live in the cache."""
    anonymous = sl_settings.ANONYMOUS_PLAN
    if not anonymous or not sl_settings.RATE_LIMIT_PLANS:
        return False
    from ..detectors import ratelimit

    routes = ratelimit.compiled_plans().get(str(anonymous))
    return routes is None or ratelimit.match(routes, request.path) is not None
