"""The per-request context shared by the smartlayer middlewares.

The first smartlayer middleware that sees a request creates the context and
becomes its *owner*; the owner is the outermost one, so when the response
comes back through it every inner decision is known — including a block by an
inner smartlayer middleware, whose request WatchLog (the innermost) never sees.
The owner then records the outcome in the client's window and queues the log
row.  That is how WatchLog records every request, blocked ones included.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..conf import derived, sl_settings
from ..dbtext import columns, db_json, db_text
from .client import Client, resolve_client
from .decision import Action, Decision
from .exempt import is_exempt, view_exemptions
from .flat import flat_decisions, flat_params, read_flat, read_params

ATTR = "_smartlayer"
#: ``Action.ALLOW`` as a module name: read on every decision added (an enum's class attribute is read
#: through its metaclass's ``__getattr__`` hook in Python 3.11, ~1 k instructions; see policy.enforce)
_ALLOW = Action.ALLOW


@derived
def watchlog_installed() -> bool:
    from django.conf import settings

    return any(m.rsplit(".", 1)[-1] == "WatchLog" and m.startswith("smartlayer") for m in settings.MIDDLEWARE)


@dataclass(slots=True)
class RequestContext:
    client: Client
    method: str
    path: str
    user_agent: str
    started: float                    # wall clock, seconds
    t0: float                         # perf_counter at start
    exempt: bool = False              # exempt path or allow-listed IP: never refused
    skip: frozenset[str] = frozenset()  # components the view opted out of (@smartlayer_exempt)
    owner: Any = None
    window_key: str | None = None     # set when the anomaly detector recorded an arrival
    decisions: list[Decision] = field(default_factory=list)
    refused_by: Decision | None = None
    rule_score: int | None = None
    model_score: float | None = None
    model_version: str = ""
    payload_score: int | None = None
    response_headers: dict[str, str] | None = None  # set by a component, added to the response (quota headers)
    user: Any = None                  # request.user as the request has it (lazy; read only for signed-in clients)
    finished: bool = False
    # how the client asked: what the site profile learns from and compares with (smartlayer.profile)
    referer: str = ""
    host: str = ""
    query: str = ""                   # the raw query string
    accept: str = ""
    fetch: str = ""                   # "dest/mode/site" of the Sec-Fetch-* headers, "" without them
    xrw: bool = False                 # X-Requested-With: XMLHttpRequest
    #: [where, name, shape] per parameter (set by the validator or at the end), or the validator's
    #: ``PendingParams`` (:mod:`smartlayer.profile.pending`), which works them out when read: its ``get()``
    params: list[list[str]] | None = None

    def add(self, decision: Decision) -> None:
        if decision.action is _ALLOW and not decision.reasons:
            return
        self.decisions.append(decision)
        if decision.enforced and self.refused_by is None:
            self.refused_by = decision

    def headline(self) -> Decision | None:
        """The decision that explains this request best: the enforced refusal,
        else the strongest recorded one (monitor-mode blocks first)."""
        if self.refused_by is not None:
            return self.refused_by
        # the first of the strongest, as the log row's headline (build_log_row) picks among its records
        return max(self.decisions, key=_decision_rank) if self.decisions else None


#: How strongly each action explains a request (:meth:`RequestContext.headline`), by the action's value:
#: what a decision and a queued row's record of it (:mod:`.flat`) both hold.
_RANK = {Action.BAN.value: 6, Action.BLOCK.value: 5, Action.THROTTLE.value: 4, Action.DENY.value: 4,
         Action.ASK_LLM.value: 3, Action.RECORD.value: 2, Action.ALLOW.value: 1}


def _decision_rank(decision: Decision) -> int:
    return _RANK[decision.action._value_]


def _record_rank(record: tuple) -> int:
    return _RANK[record[0]]


def begin(request: Any, owner: Any) -> RequestContext:
    """Get the request's context, creating it (and making ``owner`` its owner)."""
    ctx = getattr(request, ATTR, None)
    if ctx is not None:
        return ctx
    client = resolve_client(request)
    path = request.path
    meta = request.META
    ua = meta.get("HTTP_USER_AGENT", "")
    if not isinstance(ua, str):
        ua = ""
    exempt = is_exempt(path, client.ip)
    # the texts as _text() reads them, inline (four calls fewer a request)
    referer, host, query, accept = (meta.get("HTTP_REFERER"), meta.get("HTTP_HOST"), meta.get("QUERY_STRING"),
                                    meta.get("HTTP_ACCEPT"))
    # positional, in field order (client … params): a class called with keywords builds a dict of them
    # and the generated __init__ matches each against its 26 parameters (~5 k instructions a request)
    ctx = RequestContext(
        client, request.method or "GET", path, ua, time.time(), time.perf_counter(), exempt,
        view_exemptions(request), owner, None, [], None, None, None, "", None, None,
        getattr(request, "user", None) if client.authenticated else None, False,
        referer if isinstance(referer, str) else "", host if isinstance(host, str) else "",
        query if isinstance(query, str) else "", accept if isinstance(accept, str) else "",
        fetch_of(meta), meta.get("HTTP_X_REQUESTED_WITH") == "XMLHttpRequest",
    )
    setattr(request, ATTR, ctx)
    return ctx


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def fetch_of(meta: Any) -> str:
    """``dest/mode/site`` of the Sec-Fetch-* headers a browser sends; "" when it sent none."""
    dest = meta.get("HTTP_SEC_FETCH_DEST")
    mode = meta.get("HTTP_SEC_FETCH_MODE")
    if not dest and not mode:
        return ""
    return f"{_text(dest)[:16]}/{_text(mode)[:16]}/{_text(meta.get('HTTP_SEC_FETCH_SITE'))[:12]}"


def referer_host(referer: str) -> str:
    """``https://shop.example/a?b`` → ``shop.example`` (lower case, port kept); "" for none.

    Remembered per referer: a site's requests come from a few hundred of its own pages, each asked
    about on every request it sends (the profile's judgement, the log row).  Bounded in entries and
    length, as the user-agent answers are: an attacker's invented referers only empty the memo."""
    host = _hosts.get(referer)
    if host is None:
        host = _referer_host(referer)
        if len(referer) <= _HOSTS_LENGTH:
            if len(_hosts) >= _HOSTS_MAX:
                _hosts.clear()
            _hosts[referer] = host
    return host


_hosts: dict[str, str] = {}
_HOSTS_MAX, _HOSTS_LENGTH = 4096, 512


def _referer_host(referer: str) -> str:
    if "//" not in referer:
        return ""
    rest = referer.split("//", 1)[1]
    end = len(rest)
    for sep in "/?#":
        i = rest.find(sep)
        if 0 <= i < end:
            end = i
    return rest[:end].rsplit("@", 1)[-1].lower()


def log_row(ctx: RequestContext, status: int, elapsed_ms: float, response_type: str = "") -> dict[str, Any]:
    """The RequestLog fields of a finished request: :func:`build_log_row` of :func:`capture_log_row`,
    in the calling thread (tests, the browser fixture's rows)."""
    return build_log_row(capture_log_row(ctx, status, elapsed_ms, response_type))


def capture_log_row(ctx: RequestContext, status: int, elapsed_ms: float, response_type: str = "") -> tuple:
    """What the request log row of a finished request needs, as the request has it: one tuple.

    The request thread only takes the values it already holds; the row itself (cleaning and cutting
    the texts, the timestamp, the rounding, the details' JSON) is made by :func:`build_log_row` in the
    log writer's thread, which shares the GIL but not the request's latency.  Building it here cost
    ~100 k instructions a request with a model active (``tests/benchmarks/request_instructions.py
    --wrap smartlayer.request.context:log_row``) — a fifth of smartlayer's own cost.

    Everything taken is final once the request is finished: the decisions are not changed after
    ``finish`` (their details are their own, made by :meth:`Evidence.details`), the client is an
    immutable value, and the texts are ``str``.  The decisions are taken as their values
    (:func:`~.flat.flat_decisions`), so a late ``add`` could not reach the row.  The user-agent cut
    is a setting: read now, as before.

    Parameters not worked out on the request thread are left to the writer (``params_of`` of
    :func:`build_log_row`), as the plain values they are worked out from: a request the validator did
    not scan (WatchLog alone), its raw query string; a request the validator scanned and nothing read
    its parameters since (the scan's ``PendingParams``, :mod:`smartlayer.profile.pending`), its query
    string, body and content type.

    A benign request's tuple holds no container, only atomic values (the client's key, address and
    user id rather than the client; ``None`` for no parameters; ``None`` first, which the writer reads
    as "made by :func:`build_log_row`"): CPython's collector untracks such a tuple at the first young
    collection it survives.  The rows wait up to ``LOG_FLUSH_INTERVAL`` for the writer, and, tracked,
    every young and middle collection traversed them and moved them up to the old generation, whose
    growth is what triggers a full collection (tens of ms with the host's whole heap).  A client past
    its grace period has a decision on every request, and a query string brings parameters: both are
    taken as one flat tuple of plain values each (:mod:`.flat`), untracked by the second collection.
    """
    params = ctx.params
    deferred = None
    if params is None:
        if ctx.query:   # no validator scanned the request: the query string, for the writer
            deferred = (ctx.query, None, "", False, False)
    elif params.__class__ is not list:
        # the scan's PendingParams: what it holds, for the writer, unless read on the request thread already
        deferred = params.held()
        params = params.get() if deferred is None else None
    client = ctx.client
    # the decisions as plain values (:func:`~.flat.flat_decisions`), the refusal as its position among them
    decisions, refused = ctx.decisions, ctx.refused_by
    if refused is not None:
        found = next((i for i, d in enumerate(decisions) if d is refused), None)
        if found is None:   # a refusal set on the context without add()
            found, decisions = len(decisions), [*decisions, refused]
        refused = found
    records = flat_decisions(decisions) if decisions else ()
    return (None, client.key, client.ip, client.user_id, ctx.started, ctx.method, ctx.path, ctx.user_agent,
            status, elapsed_ms, refused, records, ctx.rule_score, ctx.model_score,
            ctx.payload_score, ctx.model_version, response_type, ctx.accept, ctx.fetch, ctx.xrw, ctx.referer,
            flat_params(params) if params else None, sl_settings.LOG_USER_AGENT_MAX, deferred)


def build_log_row(captured: tuple,
                  params_of: Callable[..., list[list[str]] | None] | None = None) -> dict[str, Any]:
    """The RequestLog fields of :func:`capture_log_row`'s tuple (the writer calls it for each one it takes).

    ``params_of``: what works out parameters the request left for later from the values it held (the
    writer hands :func:`smartlayer.profile.pending.held_params`, a layer above this one); without it
    such a row records none.

    Every text value is cleaned of what the database refuses and cut to its
    column (:mod:`smartlayer.dbtext`): a ``%00`` in a path must cost that
    row a replacement character, not the batch it is written with.  The common
    row — all of its texts ASCII without a NUL — is checked in one pass over
    their concatenation instead of one call per column.
    """
    (_, client_key, ip, user_id, started, method, path, user_agent, status, elapsed_ms, refused_by, decisions,
     rule_score, model_score, payload_score, model_version, response_type, accept, fetch, xrw, referer, params,
     ua_max, deferred) = captured
    if deferred is not None:   # the parameters left for later (capture_log_row), worked out by params_of
        params = params_of(*deferred) if params_of is not None else None
    elif params.__class__ is tuple:
        params = read_params(params)
    decisions = read_flat(decisions) if decisions else ()
    # the refusal's record, else the strongest recorded decision (RequestContext.headline's order)
    head = (decisions[refused_by] if refused_by is not None
            else max(decisions, key=_record_rank) if decisions else None)
    cut = log_columns()
    texts = (client_key, method, path, user_agent, model_version,
             response_type.partition(";")[0].strip().lower(), accept, fetch,
             referer_host(referer) if referer else "", "" if user_id is None else user_id)
    try:
        joined = "".join(texts)
    except TypeError:  # a value that is no str (db_text turns it into one)
        joined = None
    if joined is None or not joined.isascii() or "\x00" in joined:
        texts = tuple(db_text(t) for t in texts)   # the rare text the database refuses: cleaned one by one
    key, method, path, ua, version, rtype, accept, fetch, rhost, uid = texts
    row: dict[str, Any] = {
        "timestamp": datetime.fromtimestamp(started, tz=timezone.utc),
        "client_key": key[:cut["client_key"]],
        "user_id": None if user_id is None else uid[:cut["user_id"]],
        "ip_address": ip or None,  # an inet column: never ""
        "method": method[:cut["method"]],
        "path": path[:cut["path"]],
        "status_code": max(0, min(int(status), 32767)),
        "response_time_ms": round(elapsed_ms, 3),
        "user_agent": ua[:min(int(ua_max), cut["user_agent"])],
        "was_blocked": refused_by is not None,
        "rule_score": rule_score,
        "model_score": model_score,
        "payload_score": payload_score,
        "model_version": version[:cut["model_version"]],
        "response_type": rtype[:cut["response_type"]],
        "accept": accept[:cut["accept"]],
        "fetch": fetch[:cut["fetch"]],
        "xrw": xrw,
        "referer_host": rhost[:cut["referer_host"]],
        "params": db_json(params) if params else None,
    }
    if head is not None:
        action, component, reason, _, monitor, refuses, _ = head
        row["blocked_by"] = component if refuses else ""
        row["action"] = action
        row["monitor_only"] = refuses and monitor
        row["reason"] = db_text(reason, cut["reason"])
        row["details"] = {"decisions": [_decision_json(d) for d in decisions]}
    return row


def _decision_json(record: tuple) -> dict[str, Any]:
    """One decision (read back by :func:`~.flat.read_flat`) as the row's details hold it: what ``db_json`` of the
    whole would make of it, without walking what is never dirty — the containers built here, the
    action's value and the monitor flag (a bool)."""
    action, component, reason, reasons, monitor, _, details = record
    entry = {"component": component if component.__class__ is str and component.isascii() and "\x00" not in component
             else db_json(component),
             "action": action,
             "reason": reason if reason.__class__ is str and reason.isascii() and "\x00" not in reason
             else db_json(reason),
             "reasons": db_json(reasons), "monitor": monitor}
    if details:
        entry.update(db_json(decision_details(details)))
    return entry


def decision_details(details: dict[str, Any]) -> dict[str, Any]:
    """A decision's ``details`` as recorded: a decision that refuses nobody may hold the model's
    ``top_features`` as a lazy sequence (:meth:`Evidence.details`), worked out here, in the log writer's
    thread — a list, or no key at all when it has no pairs, as the request thread would have made it."""
    top = details.get("top_features")
    if top is None or top.__class__ is list:
        return details
    details = dict(details)   # the same key order; the decision's own dict is left as it is
    pairs = list(top)
    if pairs:
        details["top_features"] = pairs
    else:
        del details["top_features"]
    return details


def log_columns() -> dict[str, int]:
    """``max_length`` of the request log's text columns (computed once: the
    import alone costs microseconds, which ``log_row`` cannot spend)."""
    global _log_columns
    if _log_columns is None:
        from ..models import RequestLog

        _log_columns = columns(RequestLog)
    return _log_columns


_log_columns: dict[str, int] | None = None
