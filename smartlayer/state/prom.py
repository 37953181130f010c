"""Prometheus instruments, when the ``metrics`` extra is installed; nothing otherwise.

Whether ``prometheus_client`` is there is looked for once, at import, without
importing it: the import itself (and its exposition stack) costs some 40 ms
of every process's start — the replay command, ``manage.py`` runs — that
never counts anything.  The client is imported and the instruments created
on the first event counted, or by :func:`instruments` (the exposition view
calls it, so a scrape before any event lists every series at zero).
Without it :data:`ON` is False and every function here is a no-op that the
request path does not even call (it checks :data:`ON` first), so the extra
costs nothing unless installed.  With it, the counters live in
``prometheus_client``'s default registry — or, under a multi-process server
(gunicorn), in the files of ``PROMETHEUS_MULTIPROC_DIR``, which must be set
in the environment *before* the workers start; :mod:`smartlayer.metrics`
then adds the processes up at scrape time.

Labels are smartlayer's own words (component, action, reason code, failure
kind), never request data, so their number stays bounded; a reason is cut to
:data:`LABEL_MAX` characters all the same.
"""
from __future__ import annotations

import importlib.util
import threading
from typing import Any

LABEL_MAX = 80


def _installed() -> bool:
    try:  # the one guard: the extra is optional (None in sys.modules reads as absent, as an import would)
        return importlib.util.find_spec("prometheus_client") is not None
    except (ImportError, ValueError):  # pragma: no cover - a broken installation reads as absent
        return False


#: True when prometheus_client is importable (the instruments are created on first use).
ON = _installed()

_LOCK = threading.Lock()
_SCORE_BUCKETS = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.9, 1.0)
#: The instruments, None until :func:`instruments` (every function here calls it on its first event).
REQUESTS: Any = None
DECISIONS: Any = None
BANS: Any = None
FAILURES: Any = None
EVENTS: Any = None
LOG_DROPPED: Any = None
LOG_WRITTEN: Any = None
LOG_QUEUE: Any = None
LLM_CALLS: Any = None
LLM_LATENCY: Any = None
MODEL_SCORE: Any = None


def instruments() -> bool:
    """Import prometheus_client and create the instruments, once per process; False without the extra."""
    global REQUESTS, DECISIONS, BANS, FAILURES, EVENTS, LOG_DROPPED, LOG_WRITTEN, LOG_QUEUE, LLM_CALLS
    global LLM_LATENCY, MODEL_SCORE, ON
    if not ON:
        return False
    if MODEL_SCORE is not None:     # the last one created: all are there
        return True
    with _LOCK:
        if MODEL_SCORE is not None:
            return True
        try:
            import prometheus_client as pc
        except Exception:  # noqa: BLE001 - found but broken: counted as absent (fail open), as an import failing at start was
            ON = False
            return False

        REQUESTS = pc.Counter("smartlayer_requests", "Requests seen by smartlayer's middlewares.")
        DECISIONS = pc.Counter("smartlayer_decisions", "Decisions other than a plain allow, by the component "
                               "that made them, what it did and its reason code; monitor=true when only "
                               "recorded.", ["component", "action", "reason", "monitor"])
        BANS = pc.Counter("smartlayer_bans", "Bans created, by source (rule, model, llm, admin, …).", ["source"])
        FAILURES = pc.Counter("smartlayer_failures", "Failures smartlayer swallowed and failed open on, by kind "
                              "(cache, database, model, llm, log-queue, …).", ["kind"])
        EVENTS = pc.Counter("smartlayer_events", "Other counted events (bus messages, LLM skips, …).", ["name"])
        LOG_DROPPED = pc.Counter("smartlayer_log_dropped", "Request-log rows dropped, by why (full, error, "
                                 "invalid).", ["why"])
        LOG_WRITTEN = pc.Counter("smartlayer_log_written", "Request-log rows written.")
        LOG_QUEUE = pc.Gauge("smartlayer_log_queue_depth", "Request-log rows waiting to be written (summed over "
                             "live processes).", multiprocess_mode="livesum")
        LLM_CALLS = pc.Counter("smartlayer_llm_calls", "LLM calls by outcome (ok, failed, skipped).", ["outcome"])
        LLM_LATENCY = pc.Histogram("smartlayer_llm_latency_seconds", "Duration of successful LLM calls, retries "
                                   "included.", buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 16))
        MODEL_SCORE = pc.Histogram("smartlayer_model_score", "Anomaly scores of the active model (higher = more "
                                   "anomalous).", buckets=_SCORE_BUCKETS)
    return True


def _cut(value: Any) -> str:
    return str(value)[:LABEL_MAX]


def request() -> None:
    if ON:
        if REQUESTS is None and not instruments():
            return
        REQUESTS.inc()


def decision(component: str, action: str, reason: str, monitor: bool) -> None:
    if ON:
        key = (component, action, reason, monitor)
        child = _decision_children.get(key)
        if child is None:
            if not instruments():
                return
            # labels() validates and converts its values and takes the metric's lock on every call;
            # it returns the same child for the same values, so each is asked for once (bounded:
            # smartlayer's own words, emptied if ever full)
            if len(_decision_children) >= _CHILDREN_MAX:
                _decision_children.clear()
            child = _decision_children[key] = DECISIONS.labels(
                _cut(component), _cut(action), _cut(reason), "true" if monitor else "false")
        child.inc()


_decision_children: dict[tuple, Any] = {}
_CHILDREN_MAX = 4096


def event(name: str, n: int = 1) -> None:
    """Mirror of :func:`smartlayer.state.failures.count`: each name to its instrument (its labelled child
    asked for once per name, as :func:`decision`'s: the replication bus counts on every message)."""
    child = _event_children.get(name)
    if child is None:
        if not instruments():
            return
        if name == "bans":
            return  # counted with its source by ban()
        if len(_event_children) >= _CHILDREN_MAX:
            _event_children.clear()
        if name.startswith("failure."):
            child = FAILURES.labels(_cut(name[8:]))
        elif name.startswith("log.dropped_"):
            child = LOG_DROPPED.labels(_cut(name[12:]))
        else:
            child = EVENTS.labels(_cut(name))
        _event_children[name] = child
    child.inc(n)


_event_children: dict[str, Any] = {}


def ban(source: str) -> None:
    if instruments():
        BANS.labels(_cut(source)).inc()


def log_written(n: int) -> None:
    if ON and n and instruments():
        LOG_WRITTEN.inc(n)


def log_queue(depth: int) -> None:
    if instruments():
        LOG_QUEUE.set(depth)


def llm_call(outcome: str, seconds: float | None = None) -> None:
    if instruments():
        LLM_CALLS.labels(outcome).inc()
        if seconds is not None:
            LLM_LATENCY.observe(seconds)


def model_score(score: float) -> None:
    if ON:
        if MODEL_SCORE is None and not instruments():
            return
        MODEL_SCORE.observe(score)
