"""Write generated traffic into the request log, as WatchLog would have.

The demo and the tests seed a site's history with it, so ``train_smartlayer``
and ``analyse_logs`` can work from the database exactly as on a real site.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone

from ..request.client import ip_key
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
        ))
        if len(batch) >= batch_size:
            RequestLog.objects.bulk_create(batch)
            written += len(batch)
            batch = []
    if batch:
        RequestLog.objects.bulk_create(batch)
        written += len(batch)
    return written
