"""A request's parameters worked out when first read (:class:`PendingParams`), not while it is scanned.

Kept apart from :mod:`.params`, which reads parameters: this module decides
*when* — on the request thread for the site profile, in the log writer's
thread otherwise — and what a queued log row holds meanwhile (plain values,
:meth:`PendingParams.held`).
"""
from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from .params import request_params

#: Characters of a request's query string and body up to which the scan leaves its parameters to be
#: worked out when first read (:class:`PendingParams`); a longer request has them worked out at once, so
#: that a row waiting for the log writer never holds a large body.
PENDING_CHARS = 4096


class PendingParams:
    """A request's parameters (:func:`request_params`), worked out when first read rather than when the
    request is scanned.

    Why: on a request of values never seen before (a search, a comment) they were a third of the payload
    scan's cost, and on most requests nothing on the request thread reads them: the log row does, in the
    writer's thread (:meth:`held`), and the site profile only for an endpoint it knows
    (:meth:`~.core.Profile.anomalies`, through :func:`resolved`).  Holds what :func:`request_params`
    reads, the scan's decoded pairs included; the scan defers only requests up to :data:`PENDING_CHARS`
    (:func:`pending_params`).

    Never raises: a failure is counted and logged (``payload_scan``), and the request has no parameters.
    """

    __slots__ = ("_args", "_value")

    def __init__(self, args: tuple) -> None:
        self._args: tuple | None = args
        self._value: list[list[str]] | None = None

    def get(self) -> list[list[str]] | None:
        """The parameters, worked out on the first call (a second thread meanwhile works them out too:
        the same answer, a pure function of what is held)."""
        args = self._args
        if args is not None:
            try:
                self._value = request_params(*args)
            except Exception as exc:  # noqa: BLE001 - what a client sent must not cost its row
                from ..state.failures import report_failure

                report_failure("payload_scan", f"parameter shapes: {type(exc).__name__}: {exc}",
                               then="the request is judged and logged without its parameters")
            self._args = None          # after the value: a reader that sees no arguments sees the value
        return self._value

    def held(self) -> tuple | None:
        """What works the parameters out, as plain values — the arguments of :func:`held_params`, which
        the log writer calls — or None once they were worked out (:meth:`get` has them).  No container:
        a queued row the collector untracks (``request.context.capture_log_row``), so the scan's
        decoded pairs are left out and the writer decodes again (the same names and shapes)."""
        args = self._args
        return None if args is None else (args[0], args[1], args[2], "query" in args[5], "body" in args[5])


def held_params(query_string: str | bytes, body: bytes | None, content_type: str, query_known: bool,
                body_known: bool) -> list[list[str]]:
    """:func:`request_params` of what a request left for the log writer (:meth:`PendingParams.held`;
    a request no validator scanned leaves its query string): ``*_known``, whether the scan remembered
    that form part (see :func:`.params._pairs`)."""
    known = ("query",) * query_known + ("body",) * body_known
    return request_params(query_string, body, content_type, None, None, known)


def pending_params(query_string: str, body: bytes | None = None, content_type: str = "",
                   fields: Mapping[str, Any] | None = None,
                   decoded: Mapping[str, tuple[str, list[str]]] | None = None,
                   known: Collection[str] = ()) -> PendingParams | list[list[str]]:
    """:func:`request_params`' answer, or — for a request of at most :data:`PENDING_CHARS` characters of
    query string and body, without multipart fields — a :class:`PendingParams` that works it out when read."""
    if not query_string and not body and not fields:
        return []
    if fields or len(query_string) + (len(body) if body else 0) > PENDING_CHARS:
        return request_params(query_string, body, content_type, fields, decoded, known)
    return PendingParams((query_string, body, content_type, None, decoded, tuple(known)))


def resolved(params: Any) -> list[list[str]] | None:
    """``params`` as a list (or None): a :class:`PendingParams` worked out, anything else as it is."""
    return params.get() if params.__class__ is PendingParams else params

