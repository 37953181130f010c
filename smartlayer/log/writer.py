"""WatchLog's writer: one bounded queue, one background thread, batched inserts.

The request path only appends the row to a deque — no lock, no wake-up.  One
daemon thread per process drains it and writes rows (``COPY`` on PostgreSQL,
``bulk_create`` elsewhere) every ``LOG_FLUSH_INTERVAL`` seconds, or as soon as
``LOG_BATCH_SIZE`` rows are waiting, and once more when the interpreter exits.

Why not :class:`queue.Queue`: its ``put`` takes a lock and notifies the
waiting consumer, so under load the writer thread was woken for every single
request — a context switch and a GIL hand-over per row, measured at roughly a
third of WatchLog's cost under gunicorn (``tests/benchmarks/load.py --only
WatchLog``).  Now the producer signals only when a batch is full.

Nothing is lost silently:

* queue full → the request is still served; the row is dropped, counted in
  ``stats["dropped_full"]`` and reported (one log line per interval);
* database unavailable (any error but the data errors below) → the batch is
  kept and retried with back-off while new rows keep queueing up to the
  bound; only what no longer fits is dropped, and counted
  (``stats["dropped_error"]``);
* a row the database refuses (:func:`data_errors`: a value out of a column's
  range, a broken constraint, text it cannot store) → the batch is split in
  halves until the refused rows are alone; the others are written, each
  refused row is dropped, counted (``stats["dropped_invalid"]``,
  ``log.dropped_invalid``) and reported.  One bad row costs ``O(log batch)``
  extra inserts and is never retried.  (Text is cleaned before it is queued
  — :mod:`smartlayer.dbtext` — so this is the last line, not the first.)

Every insert runs in its own transaction (a savepoint inside an enclosing
one): a failed ``COPY`` aborts its transaction on PostgreSQL, and the
rollback leaves the connection usable for the next attempt.

``LOG_WRITER = "manual"`` starts no thread: rows wait in the queue until
:meth:`LogWriter.flush` writes them in the calling thread (tests, replay).
"""
from __future__ import annotations

import atexit
import functools
import logging
import threading
import time
from collections import deque
from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Any

from django.db import close_old_connections

from ..conf import sl_settings
from ..state import prom
from ..state.failures import count, report_failure
from ..state.singleton import ProcessSingleton
from . import heartbeat

logger = logging.getLogger("smartlayer")


class LogWriter:
    def __init__(self, maxsize: int | None = None) -> None:
        self.maxsize = int(maxsize or sl_settings.LOG_QUEUE_SIZE)
        # deque.append / popleft are atomic: producers (request threads) and the
        # one consumer need no lock.  The bound is checked before appending, so
        # concurrent producers may overshoot it by at most one row each.
        self.queue: deque = deque()
        self.stats = {"enqueued": 0, "written": 0, "dropped_full": 0, "dropped_error": 0, "dropped_invalid": 0,
                      "write_errors": 0}
        self._pending: list[dict[str, Any]] = []   # a batch that failed and waits for a retry
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()              # set by a producer when a batch is ready
        self._write_lock = threading.Lock()
        self._batch = int(sl_settings.LOG_BATCH_SIZE)

    # ── request path ───────────────────────────────────────────────────────
    def put(self, row: dict[str, Any]) -> bool:
        """Queue one row; never blocks.  Returns False (and counts) when full."""
        q = self.queue
        if len(q) >= self.maxsize:
            self.stats["dropped_full"] += 1
            count("log.dropped_full")
            report_failure("log-queue", f"queue full ({self.maxsize} rows); row dropped")
            return False
        q.append(row)
        self.stats["enqueued"] += 1
        if self._thread is None and sl_settings.LOG_WRITER == "thread":
            self._start()
        elif len(q) >= self._batch and not self._wake.is_set():
            self._wake.set()
        return True

    # ── writing ────────────────────────────────────────────────────────────
    def _start(self) -> None:
        with self._write_lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="smartlayer-logwriter", daemon=True)
            self._thread.start()

    def _take(self, limit: int) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        pop = self.queue.popleft
        try:
            while len(rows) < limit:
                rows.append(pop())
        except IndexError:
            pass
        return rows

    def _write(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Write ``rows``; returns the rows left unwritten because the
        database is unavailable (in order), ``[]`` when every row was written
        or dropped as refused.

        A data error splits the failing part in halves (an explicit stack,
        first half first) until the refused rows are alone.
        """
        parts = [rows] if rows else []
        invalid = data_errors()
        while parts:
            part = parts.pop()
            try:
                insert_rows(part)
            except invalid as exc:
                if len(part) > 1:
                    mid = len(part) // 2
                    parts += (part[mid:], part[:mid])
                else:
                    self._drop_invalid(exc)
                continue
            except Exception as exc:  # noqa: BLE001 - database down: keep the rows, report
                self.stats["write_errors"] += 1
                report_failure("log-write", exc)
                return part + [row for rest in reversed(parts) for row in rest]
            self.stats["written"] += len(part)
            prom.log_written(len(part))
        return []

    def _drop_invalid(self, exc: BaseException) -> None:
        self.stats["dropped_invalid"] += 1
        count("log.dropped_invalid")
        report_failure("log-row", f"the database refused a request log row, which was dropped: "
                                  f"{type(exc).__name__}: {str(exc)[:300]}")

    def _write_with_retry_buffer(self, rows: list[dict[str, Any]]) -> bool:
        batch = self._pending + rows
        self._pending = []
        left = self._write(batch)
        if not left:
            return True
        # keep at most the queue bound in memory while the database is away
        overflow = len(left) - self.maxsize
        if overflow > 0:
            self.stats["dropped_error"] += overflow
            count("log.dropped_error", overflow)
            left = left[overflow:]
        self._pending = left
        return False

    def _run(self) -> None:
        backoff = 0.0
        while not self._stop.is_set():
            self._wake.wait(float(sl_settings.LOG_FLUSH_INTERVAL) if backoff == 0 else backoff)
            self._wake.clear()
            if self._stop.is_set():
                break
            heartbeat.maybe_publish(self)
            prom.log_queue(len(self.queue))
            batch = int(sl_settings.LOG_BATCH_SIZE)
            self._batch = batch
            while True:
                rows = self._take(batch)
                if not rows and not self._pending:
                    break
                with self._write_lock:
                    try:
                        ok = self._write_with_retry_buffer(rows)
                    finally:
                        close_old_connections()
                if not ok:
                    backoff = min(30.0, max(0.5, backoff * 2))
                    break
                backoff = 0.0
                if len(self.queue) < batch:
                    break  # the rest waits for the next interval: full batches, few round trips

    def flush(self, timeout: float = 10.0) -> bool:
        """Write everything queued so far, in this thread.  True when all was written."""
        deadline = time.monotonic() + timeout
        ok = True
        with self._write_lock:
            while True:
                rows = self._take(int(sl_settings.LOG_BATCH_SIZE))
                if not rows and not self._pending:
                    break
                if not self._write_with_retry_buffer(rows):
                    ok = False
                    break
                if time.monotonic() > deadline:
                    ok = False
                    break
        # rows the background thread took before we got the lock: wait for them
        while ok and time.monotonic() < deadline and self._accounted() < self.stats["enqueued"]:
            time.sleep(0.005)
        return ok and not self.queue and not self._pending and self._accounted() >= self.stats["enqueued"]

    def _accounted(self) -> int:
        s = self.stats
        return s["written"] + s["dropped_error"] + s["dropped_invalid"]

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None

    @property
    def backlog(self) -> int:
        return len(self.queue) + len(self._pending)


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


_writer: ProcessSingleton[LogWriter] = ProcessSingleton("log writer", LogWriter, close=lambda w: w.stop())


def get_writer() -> LogWriter:
    return _writer.get()


def reset_writer() -> None:
    """Stop and forget the writer (tests)."""
    _writer.reset()


@atexit.register
def _flush_at_exit() -> None:
    writer = _writer.peek()
    if writer is None:
        return
    try:
        # Stop the thread first, whatever the backlog says: a batch the thread
        # has already taken off the queue is in no backlog until it is written,
        # and returning here would let interpreter exit kill it mid-batch.
        writer.stop()
        if writer.backlog and not writer.flush(timeout=10):
            logger.error("smartlayer: %d request log rows could not be written at exit", writer.backlog)
    except Exception as exc:  # noqa: BLE001
        logger.error("smartlayer: flushing request logs at exit failed: %s", exc)
