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

How a batch reaches the database is :mod:`.insert`.

``LOG_WRITER = "manual"`` starts no thread: rows wait in the queue until
:meth:`LogWriter.flush` writes them in the calling thread (tests, replay).
"""
from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import deque
from typing import Any

from django.db import connections

from ..conf import sl_settings
from ..profile.pending import held_params
from ..request.context import build_log_row
from ..state import ban_persist, prom
from ..state.failures import count, report_failure
from ..state.singleton import ProcessSingleton
from . import heartbeat

# the insert half's names, looked up here by the writer (and by tests that replace insert_rows)
from .insert import _SQLITE_PLAIN_FIELDS, _copy_spec, data_errors, insert_rows, row_values  # noqa: F401

logger = logging.getLogger("smartlayer")

#: Seconds the writer's thread keeps a working database connection at least, whatever ``CONN_MAX_AGE``
#: says (see LogWriter._recycle).
CONNECTION_MAX_AGE = 60.0


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
    def put(self, row: dict[str, Any] | tuple) -> bool:
        """Queue one row — a dict, or a tuple whose first item makes the row from it in the writer's
        thread (``None``: the request log's :func:`build_log_row`; :meth:`_take`); never blocks.  Returns False (and counts) when full."""
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
            ban_persist.set_drainer(self)  # the request path's ban rows are written by this thread too

    def _take(self, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` rows off the queue.  A queued tuple is a row still to be made — the request
        thread only captured its values (``capture_log_row``); its first item makes the row, here, in the
        writer's thread (``None``: :func:`build_log_row`, named so because a function in the tuple would
        keep the collector tracking it while it waits).  One that cannot be made is dropped, counted and reported, never lost silently."""
        rows: list[dict[str, Any]] = []
        pop = self.queue.popleft
        try:
            while len(rows) < limit:
                row = pop()
                if row.__class__ is tuple:
                    make = row[0]
                    try:
                        row = build_log_row(row, held_params) if make is None else make(row)
                    except Exception as exc:  # noqa: BLE001 - one row, not the batch
                        self._drop_unbuilt(exc)
                        continue
                rows.append(row)
        except IndexError:
            pass
        return rows

    def _drop_unbuilt(self, exc: BaseException) -> None:
        self.stats["dropped_invalid"] += 1
        count("log.dropped_invalid")
        report_failure("log-row", f"a request log row could not be made, and was dropped: "
                                  f"{type(exc).__name__}: {str(exc)[:300]}")

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
            self._write_bans(thread=True)
            batch = int(sl_settings.LOG_BATCH_SIZE)
            self._batch = batch
            while True:
                rows = self._take(batch)
                if not rows and not self._pending:
                    break
                ok = False
                with self._write_lock:
                    try:
                        self._check_kept()
                        ok = self._write_with_retry_buffer(rows)
                    finally:
                        self._recycle(failed=not ok)
                if not ok:
                    backoff = min(30.0, max(0.5, backoff * 2))
                    break
                backoff = 0.0
                if len(self.queue) < batch:
                    break  # the rest waits for the next interval: full batches, few round trips
        connections.close_all()  # this thread's own: nobody else would close them

    def _write_bans(self, thread: bool = False) -> bool:
        """The ban rows the request path handed over (:mod:`smartlayer.state.ban_persist`); True when
        none is left.  A row the database cannot take now stays for the next batch."""
        if not ban_persist.pending():
            return True
        done = False
        with self._write_lock:
            try:
                done = ban_persist.drain(data_errors())
                return done
            finally:
                if thread:
                    self._recycle(failed=not done)

    def _recycle(self, failed: bool) -> None:
        """After a batch in the writer's thread: keep its database connection for the next batch, unless
        the batch failed (the database may be away: the next one starts afresh) or the connection is
        older than ``CONN_MAX_AGE`` and at least :data:`CONNECTION_MAX_AGE` seconds.

        Why not ``close_old_connections()``, as at the end of a request: ``CONN_MAX_AGE``'s default (0)
        closes a request's connection when it ends, and the writer's batches were made a new database
        session each — on PostgreSQL a backend process started and set up about twice a second per
        worker under load, ~34 µs of the server's CPU a request (``load.py``'s workload, 2026-12-07).
        The connection's age is Django's own: ``close_at`` is its opening plus ``CONN_MAX_AGE`` (None:
        kept for good, as the site asked)."""
        now = time.monotonic()
        for conn in connections.all(initialized_only=True):
            if conn.connection is None:
                continue
            close_at = conn.close_at
            expired = close_at is not None and now >= max(
                close_at, close_at - (conn.settings_dict["CONN_MAX_AGE"] or 0) + CONNECTION_MAX_AGE)
            if failed or expired or conn.get_autocommit() != conn.settings_dict["AUTOCOMMIT"]:
                conn.close()

    def _check_kept(self) -> None:
        """Before a batch: a kept connection the server has closed meanwhile (a restart, an idle
        timeout) is dropped here, with one ``SELECT 1``, rather than failing the batch — which would
        report the database as away and hold the rows back for the retry's back-off."""
        for conn in connections.all(initialized_only=True):
            if conn.connection is not None and not conn.is_usable():
                conn.close()

    def flush(self, timeout: float = 10.0) -> bool:
        """Write everything queued so far, in this thread.  True when all was written."""
        deadline = time.monotonic() + timeout
        ok = self._write_bans()
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
            if ban_persist.drainer() is self:
                ban_persist.set_drainer(None)  # from now on a ban's row is written where it is made
            self._thread.join(timeout=5)
            self._write_bans()  # what the thread had not written yet: nobody else would
        self._thread = None

    @property
    def backlog(self) -> int:
        return len(self.queue) + len(self._pending) + ban_persist.pending()


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
