"""A failure's log line says what smartlayer did about it.

Most failures fail open (the request is served without that component's say) and the line says so.
A payload set whose search stopped short is answered pattern by pattern — nothing is let through —
and its line must not tell an operator "failing open", which would send them looking for a hole
that is not there.
"""
from __future__ import annotations

import logging

import pytest

from smartlayer.detectors.payload import engine
from smartlayer.detectors.payload.engine_sets import report_unfinished
from smartlayer.state import failures


@pytest.fixture
def fresh_log():
    failures.reset_failure_log()
    yield
    failures.reset_failure_log()


def test_a_failure_fails_open_unless_told_otherwise(fresh_log, caplog):
    with caplog.at_level(logging.WARNING, logger="smartlayer"):
        failures.report_failure("cache", "connection refused")
    (line,) = [r.getMessage() for r in caplog.records]
    assert "cache failed (connection refused); failing open." in line


@pytest.mark.skipif(engine.ENGINE != "re2", reason="the stdlib fallback has no set")
def test_a_set_that_stopped_short_is_not_logged_as_failing_open(fresh_log, caplog):
    with caplog.at_level(logging.WARNING, logger="smartlayer"):
        report_unfinished("whole table", 65536)
    (line,) = [r.getMessage() for r in caplog.records]
    assert "failing open" not in line
    assert "searched one by one" in line and "stopped short on 65536 bytes" in line
