"""Recording a finished request: its outcome in the client's window, its row in the request log.

Split from :mod:`.middleware`, whose pass calls :func:`finish` once per request, for the context's
owner, after the response (on the event loop under ASGI: both steps are memory operations — the
window store's queue and the log writer's).  The detector lives here too because recording the
outcome is its other half: one instance per process serves both the decision and the record.
"""
from __future__ import annotations

import time

from django.http import HttpResponse

from ..log.writer import get_writer
from ..request import context as ctxmod
from ..state import prom
from ..state.failures import report_failure
from ..state.singleton import ProcessSingleton


def _build_detector():
    from ..detectors.behaviour.detector import Detector

    return Detector()


#: The detector of the middleware (its state lives in the window store and
#: the ban backend, so one instance serves every request of the process).
_detector_singleton = ProcessSingleton("detector", _build_detector)
detector = _detector_singleton.get


def finish(ctx: ctxmod.RequestContext, response: HttpResponse) -> None:
    """Record a finished request: its outcome in the window, its row in the log."""
    if ctx.finished:
        return
    ctx.finished = True
    if prom.ON:
        prom.request()
    elapsed_ms = (time.perf_counter() - ctx.t0) * 1000.0
    status = getattr(response, "status_code", 0) or 0
    if ctx.window_key is not None:
        try:
            detector().record_outcome(ctx, status, elapsed_ms, blocked=ctx.refused_by is not None)
        except Exception as exc:  # noqa: BLE001
            report_failure("window", exc)
    if ctxmod.watchlog_installed() and "watchlog" not in ctx.skip:
        headers = getattr(response, "headers", None)
        rtype = headers.get("Content-Type", "") if headers is not None else ""
        # the parameters no component read are worked out by the log writer (capture_log_row)
        get_writer().put(ctxmod.capture_log_row(ctx, status, elapsed_ms, rtype if isinstance(rtype, str) else ""))
