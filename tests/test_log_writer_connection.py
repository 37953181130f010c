"""The log writer's thread keeps its database connection from one batch to the next.

With ``CONN_MAX_AGE = 0`` (Django's default, and these tests') a request's connection is closed
when the request ends.  The writer is no request: closing after every batch made a new database
session per batch — on PostgreSQL a backend process started about twice a second per worker under
load.  It still starts afresh after a batch that failed, and after ``CONNECTION_MAX_AGE``.
"""
from __future__ import annotations

import threading
import time

import pytest
from django.db import OperationalError
from django.db.backends.signals import connection_created
from django.utils import timezone

from smartlayer.log import writer as logwriter
from smartlayer.models import RequestLog


def _row(i: int) -> dict:
    return {"timestamp": timezone.now(), "client_key": f"ip:198.51.100.{i % 250}", "method": "GET",
            "path": f"/c/{i}", "status_code": 200, "response_time_ms": 1.0}


@pytest.fixture
def writer_connections():
    """The database connections made by the writer's thread."""
    made: list[int] = []

    def created(sender, connection, **kwargs):
        if threading.current_thread().name == "smartlayer-logwriter":
            made.append(id(connection))

    connection_created.connect(created)
    yield made
    connection_created.disconnect(created)


def _write_batches(writer, batches: int, per_batch: int = 5) -> None:
    """``batches`` separate batches: each waits until the thread has written the one before."""
    n = writer.stats["written"]
    for _ in range(batches):
        for _ in range(per_batch):
            writer.put(_row(n))
            n += 1
        deadline = time.monotonic() + 10
        while writer.stats["written"] < n and time.monotonic() < deadline:
            time.sleep(0.01)


@pytest.mark.django_db(transaction=True)
def test_one_connection_serves_every_batch(sl, writer_connections):
    sl(LOG_WRITER="thread", LOG_FLUSH_INTERVAL=0.02)
    writer = logwriter.get_writer()
    _write_batches(writer, 4)
    assert writer.stats["written"] == 20 and RequestLog.objects.count() == 20
    assert len(writer_connections) == 1   # closed after each batch before: 4


@pytest.mark.django_db(transaction=True)
def test_a_failed_batch_and_age_start_a_new_connection(sl, writer_connections, monkeypatch):
    sl(LOG_WRITER="thread", LOG_FLUSH_INTERVAL=0.02)
    writer = logwriter.get_writer()
    _write_batches(writer, 1)
    assert len(writer_connections) == 1

    real = logwriter.insert_rows
    failing = {"left": 1}

    def down_once(rows):
        if failing["left"]:
            failing["left"] -= 1
            raise OperationalError("the database went away")
        return real(rows)

    monkeypatch.setattr(logwriter, "insert_rows", down_once)
    _write_batches(writer, 1)          # fails once, kept, written on the retry after the back-off
    assert writer.stats["written"] == 10 and writer.stats["write_errors"] == 1
    assert len(writer_connections) == 2   # the failed batch's connection was not used again

    monkeypatch.setattr(logwriter, "CONNECTION_MAX_AGE", 0.0)
    _write_batches(writer, 2)          # the open one serves the first and is closed; a new one the second
    assert writer.stats["written"] == 20 and len(writer_connections) == 3


@pytest.mark.django_db(transaction=True)
def test_a_kept_connection_the_server_closed_is_replaced_before_the_batch(sl, writer_connections):
    """A kept connection that died between batches (a database restart, an idle timeout) is found
    with one query before the next batch and replaced: the batch is written at once, no failure
    reported, nothing held back.  (PostgreSQL: SQLite has no server to lose, and Django reads an
    SQLite connection as always usable.)"""
    from django.db import connections

    if connections["default"].vendor != "postgresql":
        pytest.skip("a server that closes the connection: PostgreSQL (SMARTLAYER_TEST_DATABASE_URL)")
    sl(LOG_WRITER="thread", LOG_FLUSH_INTERVAL=0.02)
    writer = logwriter.get_writer()
    _write_batches(writer, 1)
    assert len(writer_connections) == 1

    def made_after_the_server_closed_the_connection(captured):
        # a queued tuple's first item makes the row in the writer's thread (LogWriter._take): close that
        # thread's DB-API connection under Django's feet, as a server restart would, then give the row
        connections["default"].connection.close()
        return _row(5)

    writer.put((made_after_the_server_closed_the_connection,))
    deadline = time.monotonic() + 10
    while writer.stats["written"] < 6 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert writer.stats["written"] == 6 and writer.stats["write_errors"] == 0
    assert len(writer_connections) == 2
