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

from ..profile.params import request_params
from ..request.client import RecordKeys
from ..request.context import referer_host
from . import TrafficRecord


def write_requestlog(records: Iterable[TrafficRecord], *, batch_size: int = 5000) -> int:
    """Insert the records (in time order) as RequestLog rows; returns how many were written.

    ``client_key`` is the key the middleware judged the request as and logs
    (:class:`~smartlayer.request.client.RecordKeys`): a cookie's first request
    from an address is the address's, its later ones its own — so the profile
    and the model trained from this log see the clients a live site's log holds.
    """
    written = 0
    batch: list[dict[str, Any]] = []
    keys = RecordKeys()
    for r in records:
        batch.append({
            "timestamp": datetime.fromtimestamp(r.ts, tz=timezone.utc),
            "client_key": keys.keys(r.ip, getattr(r, "cookie", "") or "", r.user_id)[0],
            "user_id": r.user_id, "ip_address": r.ip, "method": r.method[:10], "path": r.path[:500],
            "status_code": r.status, "response_time_ms": r.response_ms, "user_agent": r.user_agent[:256],
            "response_type": r.response_type[:64], "accept": r.accept[:64], "fetch": r.fetch[:48], "xrw": r.xrw,
            "referer_host": referer_host(r.referer)[:100],
            "params": request_params(r.query, r.body.encode("utf-8", "replace") if r.body else None,
                                     r.content_type) or None,
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
        from ..log.insert import insert_rows

        insert_rows(rows)
        return
    from ..models import RequestLog

    fields = [f for f in RequestLog._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    sql = (f"INSERT INTO {quote(RequestLog._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
           f"VALUES ({', '.join(['%s'] * len(fields))})")
    defaults = {f.name: f.get_db_prep_save(f.get_default(), connection) for f in fields}
    when = connection.ops.adapt_datetimefield_value
    json_fields = {f.name for f in fields if f.get_internal_type() == "JSONField"}

    def value(f: Any, row: dict[str, Any]) -> Any:
        if f.name not in row:
            return defaults[f.name]
        if f.name == "timestamp":
            return when(row["timestamp"])
        return f.get_db_prep_save(row[f.name], connection) if f.name in json_fields else row[f.name]

    params = [[value(f, row) for f in fields] for row in rows]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, params)
