"""Write generated traffic into the request log, as WatchLog would have.

The demo and the tests seed a site's history with it, so ``train_smartlayer``
and ``analyse_logs`` can work from the database exactly as on a real site.

Rows go in as plain parameter lists (``COPY`` on PostgreSQL, through the log
writer; one ``executemany`` elsewhere): a generated week is ~100,000 rows, and
``bulk_create`` spent most of the demo's time preparing each value of each
row through its model field.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from ..request.client import ip_key
from . import TrafficRecord


def write_requestlog(records: Iterable[TrafficRecord], *, batch_size: int = 5000) -> int:
    """Insert the records as RequestLog rows; returns how many were written."""
    written = 0
    batch: list[dict[str, Any]] = []
    for r in records:
        batch.append({
            "timestamp": datetime.fromtimestamp(r.ts, tz=timezone.utc),
            "client_key": f"u:{r.user_id}" if r.user_id else ip_key(r.ip),
            "user_id": r.user_id, "ip_address": r.ip, "method": r.method[:10], "path": r.path[:500],
            "status_code": r.status, "response_time_ms": r.response_ms, "user_agent": r.user_agent[:256],
        })
        if len(batch) >= batch_size:
            _insert(batch)
            written += len(batch)
            batch = []
    if batch:
        _insert(batch)
        written += len(batch)
    return written


def _insert(rows: list[dict[str, Any]]) -> None:
    from django.db import connection, transaction

    if connection.vendor == "postgresql":
        from ..log.writer import insert_rows

        insert_rows(rows)
        return
    from ..models import RequestLog

    fields = [f for f in RequestLog._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    sql = (f"INSERT INTO {quote(RequestLog._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
           f"VALUES ({', '.join(['%s'] * len(fields))})")
    defaults = {f.name: f.get_db_prep_save(f.get_default(), connection) for f in fields}
    when = connection.ops.adapt_datetimefield_value
    params = [[when(row["timestamp"]) if f.name == "timestamp" else row[f.name] if f.name in row
               else defaults[f.name] for f in fields] for row in rows]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, params)
