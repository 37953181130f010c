"""Write generated traffic into the request log, as WatchLog would have.

The demo and the tests seed a site's history with it, so ``train_smartlayer``
and ``analyse_logs`` can work from the database exactly as on a real site.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone

from ..profile.shapes import request_params
from ..request.client import ip_key
from ..request.context import referer_host
from . import TrafficRecord


def write_requestlog(records: Iterable[TrafficRecord], *, batch_size: int = 5000) -> int:
    """Insert the records as RequestLog rows; returns how many were written."""
    from ..models import RequestLog

    written = 0
    batch: list[RequestLog] = []
    for r in records:
        batch.append(RequestLog(
            timestamp=datetime.fromtimestamp(r.ts, tz=timezone.utc),
            client_key=f"u:{r.user_id}" if r.user_id else ip_key(r.ip),
            user_id=r.user_id, ip_address=r.ip, method=r.method[:10], path=r.path[:500], status_code=r.status,
            response_time_ms=r.response_ms, user_agent=r.user_agent[:256],
            response_type=r.response_type[:64], accept=r.accept[:64], fetch=r.fetch[:48], xrw=r.xrw,
            referer_host=referer_host(r.referer)[:100],
            params=request_params(r.query, r.body.encode("utf-8", "replace") if r.body else None,
                                  r.content_type) or None,
        ))
        if len(batch) >= batch_size:
            RequestLog.objects.bulk_create(batch)
            written += len(batch)
            batch = []
    if batch:
        RequestLog.objects.bulk_create(batch)
        written += len(batch)
    return written
