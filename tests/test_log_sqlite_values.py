"""The SQLite writer's parameters equal what each field's own ``get_db_prep_save`` makes.

The suite may run on PostgreSQL (COPY), so the SQLite path is checked on an unconnected SQLite
connection object: preparing values needs its operations and time zone, never a query.  The writer
prepares a constant default once per batch and stores UTC timestamps and IPv4 addresses without
Django's per-value calls; the reference below prepares every value of every row the long way.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from django.db.backends.sqlite3.base import DatabaseWrapper

from smartlayer.log import writer as logwriter

SETTINGS = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:", "TIME_ZONE": None, "OPTIONS": {},
            "AUTOCOMMIT": True, "ATOMIC_REQUESTS": False, "CONN_MAX_AGE": 0, "CONN_HEALTH_CHECKS": False,
            "USER": "", "PASSWORD": "", "HOST": "", "PORT": "", "TEST": {}}
T = datetime(2026, 12, 4, 18, 5, 6, 789012, tzinfo=timezone.utc)


def _reference(rows, spec, connection):
    return [[(prep(row[name] if name in row else default(), connection) if prep is not None
              else (row[name] if name in row else default()))
             for _, name, default, prep in spec] for row in rows]


ROWS = [
    {"timestamp": T, "client_key": "ip:203.0.113.9", "ip_address": "203.0.113.9", "method": "GET", "path": "/",
     "status_code": 200, "response_time_ms": 1.5, "params": [["q", "q", "text:1"]], "details": None},
    {"timestamp": T.replace(microsecond=0), "ip_address": "2001:DB8::0:1", "method": "POST", "path": "/a",
     "status_code": 403, "response_time_ms": 0.0, "details": {"decisions": []}, "action": "block", "reason": "x"},
    {"timestamp": T.astimezone(timezone(timedelta(hours=5, minutes=30))), "ip_address": "::ffff:10.0.0.1",
     "method": "GET", "path": "/b", "status_code": 200, "response_time_ms": 2.0},
    {"timestamp": datetime(2026, 1, 1, tzinfo=timezone.utc), "ip_address": "", "method": "GET", "path": "/c",
     "status_code": 200, "response_time_ms": 2.0, "user_id": None, "params": None},
    {"ip_address": None, "method": "HEAD", "path": "/d", "status_code": 204, "response_time_ms": 0.25},
]


@pytest.mark.parametrize("db_time_zone", [None, "Europe/Paris"])
def test_sqlite_parameters_equal_the_fields_own_preparation(settings, db_time_zone):
    settings.USE_TZ = True
    connection = DatabaseWrapper({**SETTINGS, "TIME_ZONE": db_time_zone})
    spec = logwriter._copy_spec(plain=logwriter._SQLITE_PLAIN_FIELDS)
    rows = [dict(r) for r in ROWS if "timestamp" in r]
    got = logwriter.row_values(rows, spec, connection)
    assert got == _reference(rows, spec, connection)
    assert any(isinstance(v, str) and v.startswith("2026-12-04 ") for v in got[0])


def test_a_row_without_a_timestamp_gets_one_made_for_it(settings):
    settings.USE_TZ = True
    connection = DatabaseWrapper(SETTINGS)
    spec = logwriter._copy_spec(plain=logwriter._SQLITE_PLAIN_FIELDS)
    got, = logwriter.row_values([dict(ROWS[-1])], spec, connection)
    want, = _reference([dict(ROWS[-1])], spec, connection)
    at = [name for _, name, _, _ in spec].index("timestamp")
    assert got[:at] + got[at + 1:] == want[:at] + want[at + 1:]   # the time it was made differs, nothing else
    assert isinstance(got[at], str) and got[at][:4].isdigit()
