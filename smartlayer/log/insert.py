"""How WatchLog's rows reach the database: ``COPY`` on PostgreSQL, one ``executemany`` on SQLite.

Split from :mod:`.writer`, which owns the queue and the thread: this half
knows the database — which errors mean "these values are refused" rather than
"the database is away", and how a row's values are prepared without a model
instance per row (the writer shares the worker's CPU with the requests).
"""
from __future__ import annotations

import functools
from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Any


@functools.cache
def data_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean "the database refuses these values", as
    opposed to "the database is unavailable" (every other exception).

    Django's ``DataError``/``IntegrityError`` wrap what a query raises;
    ``COPY`` runs on psycopg's own cursor, whose errors are not wrapped;
    ``ValueError`` (``UnicodeEncodeError`` included) and ``TypeError`` come
    from adapting a value before anything is sent.
    """
    from django.db import DataError, IntegrityError

    found: list[type[BaseException]] = [DataError, IntegrityError, ValueError, TypeError]
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg 3 is the postgres extra
        pass
    else:
        found += [psycopg.DataError, psycopg.IntegrityError]
    return tuple(found)


def insert_rows(rows: list[dict[str, Any]]) -> None:
    """Insert request-log rows, all or none: ``COPY`` on PostgreSQL, ``bulk_create`` elsewhere.

    In a transaction of its own (a savepoint inside an enclosing one), so a
    refused row leaves the connection usable: a failed ``COPY`` aborts the
    transaction it runs in, and a failed query inside Django's ``atomic``
    would otherwise mark the enclosing block as needing a rollback.

    The writer shares the worker's CPU with the requests it serves.  Building
    a model instance per row and an INSERT costs ~67 µs a row on PostgreSQL;
    COPY costs a few µs, once each value goes straight to psycopg — Django's
    per-field preparation is only needed for the JSON column (see
    :func:`_copy_spec`).
    """
    from django.db import connection, transaction

    with transaction.atomic():
        _insert(connection, rows)


def _insert(connection: Any, rows: list[dict[str, Any]]) -> None:
    from ..models import RequestLog

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            copy = getattr(getattr(cursor, "cursor", None), "copy", None)  # psycopg 3
            if copy is not None:
                spec = _copy_spec()
                columns = ", ".join(connection.ops.quote_name(col) for col, _, _, _ in spec)
                table = connection.ops.quote_name(RequestLog._meta.db_table)
                values = row_values(rows, spec, connection)
                with copy(f"COPY {table} ({columns}) FROM STDIN") as stream:
                    write = stream.write_row
                    for row in values:
                        write(row)
                return
    if connection.vendor == "sqlite":
        _insert_many(connection, rows)
        return
    RequestLog.objects.bulk_create([RequestLog(**r) for r in rows], batch_size=len(rows))


def _insert_many(connection: Any, rows: list[dict[str, Any]]) -> None:
    """One ``executemany`` of prepared values: what ``bulk_create`` sends, without a model instance per row.

    ``bulk_create`` cost 120–200 µs a row on SQLite in the writer thread,
    which shares the GIL with the requests (``tests/benchmarks/overhead.py``);
    the same INSERT from plain values costs a tenth of that.  Fields whose
    Python value the driver would not store as Django does (datetimes, JSON,
    addresses) go through the field's own ``get_db_prep_save``.
    """
    from ..models import RequestLog

    spec = _copy_spec(plain=_SQLITE_PLAIN_FIELDS)
    columns = ", ".join(connection.ops.quote_name(col) for col, _, _, _ in spec)
    table = connection.ops.quote_name(RequestLog._meta.db_table)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(spec))})"
    with connection.cursor() as cursor:
        cursor.executemany(sql, row_values(rows, spec, connection))


def row_values(rows: list[dict[str, Any]], spec: list, connection: Any) -> list[list[Any]]:
    """The values of each row, in ``spec`` order, as the database takes them (:func:`_plan` says how
    each column is made): COPY's rows on PostgreSQL, ``executemany``'s parameters on SQLite."""
    plan = _plan(spec, connection)
    values = []
    for row in rows:
        get = row.get
        values.append([
            (fallback if fallback is not _PER_ROW else
             (prep(default(), connection) if prep is not None else default()))
            if (value := get(name, _MISSING)) is _MISSING else
            (value if convert is None else none if value is None else convert(value, connection))
            for name, fallback, convert, none, default, prep in plan
        ])
    return values


_MISSING = object()
_PER_ROW = object()
#: Defaults of these types are constants: prepared once per batch, not once per row that lacks them.
_CONSTANT = (str, int, float, bool, type(None))


def _plan(spec: list, connection: Any) -> list[tuple]:
    """``(attname, fallback, convert, none, default, prep)`` per column of a batch.

    ``fallback``: the prepared value of a column the row lacks, when the default is a constant
    (``_PER_ROW`` otherwise: default and prep per row, as before).  ``convert``: what stores a
    present value — None for a plain one, else the field's ``get_db_prep_save`` or, for the two
    fields every row has on SQLite, an exact shortcut of it (:func:`_utc_text`, :func:`_ip_text`; a test
    compares them with Django's on every kind of value); ``none``: a present None, prepared.  The writer shares the GIL with the
    requests: Django's datetime preparation alone cost ~10 µs a row.
    """
    from ..models import RequestLog

    plan = []
    sqlite = connection.vendor == "sqlite"
    utc = sqlite and connection.timezone is dt_timezone.utc   # USE_TZ and no database TIME_ZONE
    for _, name, default, prep in spec:
        value = default()
        if value.__class__ in _CONSTANT:
            fallback = prep(value, connection) if prep is not None else value
        else:   # a default made per row (``timezone.now``): made per row
            fallback = _PER_ROW
        convert = prep
        if prep is not None:
            kind = RequestLog._meta.get_field(name).get_internal_type()
            if kind == "DateTimeField" and utc:
                convert = functools.partial(_utc_text, prep)
            elif kind == "GenericIPAddressField" and sqlite:
                convert = functools.partial(_ip_text, prep)
        # a nullable column's None (no query string: no params) prepared once per batch as well
        none = prep(None, connection) if prep is not None else None
        plan.append((name, fallback, convert, none, default, prep))
    return plan


def _utc_text(prep: Any, value: Any, connection: Any) -> Any:
    """An aware UTC datetime as SQLite stores it under ``USE_TZ`` with a UTC connection: Django
    makes it naive in UTC (nothing to convert) and stores ``str()`` of it.  Anything else: ``prep``."""
    if value.__class__ is datetime and value.tzinfo is dt_timezone.utc:
        return str(value.replace(tzinfo=None))
    return prep(value, connection)


def _ip_text(prep: Any, value: Any, connection: Any) -> Any:
    """An IPv4 address as Django stores it (``str`` of it); IPv6 (normalised by Django), "" and None: ``prep``."""
    if value.__class__ is str and value and ":" not in value:
        return value
    return prep(value, connection)


#: Field types whose Python values psycopg adapts exactly as Django would.
_PLAIN_FIELDS = ("CharField", "TextField", "IntegerField", "SmallIntegerField", "PositiveSmallIntegerField",
                 "PositiveIntegerField", "BigIntegerField", "FloatField", "BooleanField", "DateTimeField",
                 "GenericIPAddressField")
#: The same on SQLite, whose driver stores neither datetimes nor JSON as Django does.
_SQLITE_PLAIN_FIELDS = ("CharField", "TextField", "IntegerField", "SmallIntegerField", "PositiveSmallIntegerField",
                        "PositiveIntegerField", "BigIntegerField", "FloatField", "BooleanField")
_specs: dict[tuple[str, ...], list] = {}


def _copy_spec(plain: tuple[str, ...] = _PLAIN_FIELDS) -> list:
    """``(column, attname, default, prep)`` per non-key column; ``prep`` is the
    field's own ``get_db_prep_save`` where a plain value would not do (JSON)."""
    spec = _specs.get(plain)
    if spec is None:
        from ..models import RequestLog

        spec = []
        for f in RequestLog._meta.concrete_fields:
            if f.primary_key:
                continue
            spec.append((f.column, f.attname, f.get_default, None if f.get_internal_type() in plain else f.get_db_prep_save))
        _specs[plain] = spec
    return spec
