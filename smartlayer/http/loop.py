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
  beforehand: a block or a ban (the block counter, the ban itself), a refusal's ``request_blocked``
  receivers and log line.  On the loop, the one enforcement step
  (:func:`smartlayer.policy.enforce.decide`) and the middleware's refusal handling raise it *before*
  any of it, carrying the rest of the work; the middleware then finishes the request's decisions in
  a worker thread from there, the window's arrival already recorded once (never a decision run twice).

Only while ``smartlayer.request.deferred.STATE`` says so (a thread-local flag the middleware sets
around the decisions it runs on the loop): the same code called anywhere else (WSGI, a worker
thread, the replay) never raises it.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings

from ..conf import derived, sl_settings
from ..ml import runtime
from ..ml.guard import process_guard
from ..request import exempt
from ..request.client import _certainly_anonymous
from ..request.deferred import STATE, Deferred
from ..state import bans
from ..state.ban_mirror import ban_mirror
from ..state.windows.store import window_backend

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
    the signature engines compiled).  Every test reads memory only: what the settings allow is
    worked out once per settings generation (:func:`_allowed`), the rest is a few attribute reads.
    """
    if not warm:
        return False
    allowed = _allowed()
    if allowed is None:
        return True                                  # smartlayer switched off: nothing to decide
    in_memory, routes = allowed
    if not in_memory:
        return False
    meta = request.META
    if meta.get("CONTENT_LENGTH") and not _body_in_memory(meta):
        return False
    user = getattr(request, "user", None)
    if user is not None and not _certainly_anonymous(request, user):
        return False                                 # the session store, the user's row
    if in_memory is _MIRROR and not _mirror_ready():
        return False
    if routes is not None and (routes is _UNKNOWN_PLAN or _ratelimit().match(routes, request.path) is not None):
        return False                                 # the anonymous plan's counters live in the cache
    urlconf = getattr(request, "urlconf", None) or exempt.root_urlconf()
    return str(urlconf) in exempt._loaded and not _due()


#: What :func:`_allowed` says of the bans when they are read from the worker's mirror (asked live:
#: the mirror is ready only while its subscription runs), and of an ``ANONYMOUS_PLAN`` that names no plan.
_MIRROR, _UNKNOWN_PLAN = object(), ()


@derived
def _allowed() -> tuple[Any, Any] | None:
    """Per settings generation: None when smartlayer is off; else (where the windows and bans are —
    False when a decision could reach Redis or the LLM, :data:`_MIRROR` when the bans are the
    worker's mirror, True when they are its local-memory cache —, the anonymous plan's routes or None)."""
    if not sl_settings.ENABLED:
        return None
    if sl_settings.AI_API_KEY or window_backend() == "redis":
        return False, None                           # a question may go out; a window is a round trip
    if bans._cache_is_this_process():
        stores: Any = True
    elif window_backend() == "replicated":
        stores = _MIRROR
    else:
        stores = False                               # local windows on a shared cache: bans read from it
    routes = None
    anonymous = sl_settings.ANONYMOUS_PLAN
    if anonymous and sl_settings.RATE_LIMIT_PLANS:
        routes = _ratelimit().compiled_plans().get(str(anonymous), _UNKNOWN_PLAN)
    return stores, routes


def _ratelimit() -> Any:
    from ..detectors import ratelimit  # a site may leave the rate limiter out: on first use

    return ratelimit


def _mirror_ready() -> bool:
    mirror = ban_mirror()
    return mirror is not None and mirror.ready


def _body_in_memory(meta: Any) -> bool:
    from ..detectors.payload.body import content_length  # a request with a body: the validator's module

    size = content_length(meta)
    return size is not None and size <= int(getattr(settings, "FILE_UPLOAD_MAX_MEMORY_SIZE", 0) or 0)


def _due() -> bool:
    """A ban sync, a model or profile reload, or the model guard's minute is due (or near)."""
    now = time.monotonic()
    if now + MARGIN >= bans._next_sync:
        return True
    if sl_settings.MODEL_ENABLED or sl_settings.PROFILE_ENABLED:
        rt = runtime._runtime.peek()
        if rt is None or now + MARGIN >= rt.next_check or rt.generation != sl_settings.generation:
            return True
        if rt.current is not None:
            wall = time.time()
            minute = process_guard().minute
            if int(wall // 60) != minute or int((wall + MARGIN) // 60) != minute:
                return True
    return False
