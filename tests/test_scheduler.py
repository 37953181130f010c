"""ANALYSE_LOGS_AT: when the scheduler starts, and the once-per-day lock of its job."""
from __future__ import annotations

import logging
import sys
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from smartlayer.log import report, scheduler
from smartlayer.models import DailyReport
from tests.llm_server import ai_settings, isolated_llm_state

SERVER_ARGV = ["/venv/bin/gunicorn", "site.wsgi"]


@pytest.fixture(autouse=True)
def _isolated():
    with isolated_llm_state():
        yield
    scheduler.stop()


@pytest.mark.parametrize(("value", "expected"), [
    ("06:00", (6, 0)), ("6:05", (6, 5)), (" 23:59 ", (23, 59)), ("00:00", (0, 0)),
    ("24:00", None), ("06:60", None), ("6", None), ("06:00:00", None), ("noon", None), ("", None),
    (None, None), (600, None), ("٠٦:٠٠", None),
])
def test_parse_time(value, expected):
    assert scheduler.parse_time(value) == expected


@pytest.mark.parametrize(("argv", "environ", "start"), [
    (SERVER_ARGV, {}, True),
    (["uwsgi", "--ini", "x"], {}, True),
    (SERVER_ARGV, {"SMARTLAYER_SCHEDULER": "0"}, False),
    (["manage.py", "migrate"], {}, False),
    (["/srv/manage.py", "analyse_logs"], {}, False),
    (["/venv/bin/django-admin", "shell"], {}, False),
    (["/venv/lib/python3.11/site-packages/django/__main__.py", "migrate"], {}, False),
    (["manage.py", "runserver"], {}, False),                       # the autoreloader's parent
    (["manage.py", "runserver"], {"RUN_MAIN": "true"}, True),      # the serving child
    (["manage.py", "runserver", "--noreload"], {}, True),
    (["/venv/bin/pytest", "-q"], {}, False),
    (["/venv/lib/python3.11/site-packages/pytest/__main__.py"], {}, False),
])
def test_should_start(argv, environ, start):
    assert scheduler.should_start(argv, environ)[0] is start


def test_not_configured_starts_nothing():
    with ai_settings(None, ANALYSE_LOGS_AT=None):
        assert scheduler.start_if_configured(argv=SERVER_ARGV, environ={}) is None


def test_malformed_time_does_not_crash(caplog):
    with ai_settings(None, ANALYSE_LOGS_AT="6 am"), caplog.at_level(logging.WARNING, logger="smartlayer"):
        assert scheduler.start_if_configured(argv=SERVER_ARGV, environ={}) is None
    assert "not HH:MM" in caplog.text


def test_skipped_for_management_commands():
    with ai_settings(None, ANALYSE_LOGS_AT="06:00"):
        assert scheduler.start_if_configured(argv=["manage.py", "migrate"], environ={}) is None


def test_starts_one_scheduler_per_process():
    with ai_settings(None, ANALYSE_LOGS_AT="06:30"):
        first = scheduler.start_if_configured(argv=SERVER_ARGV, environ={})
        second = scheduler.start_if_configured(argv=SERVER_ARGV, environ={})
    assert first is not None and first is second
    assert first.running
    jobs = first.get_jobs()
    assert [j.id for j in jobs] == [scheduler.JOB_ID]
    trigger = str(jobs[0].trigger)
    assert "hour='6'" in trigger and "minute='30'" in trigger
    scheduler.stop()
    assert not first.running


def test_missing_apscheduler_is_one_warning(monkeypatch, caplog):
    for name in [m for m in sys.modules if m == "apscheduler" or m.startswith("apscheduler.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "apscheduler", None)  # import apscheduler → ImportError
    with ai_settings(None, ANALYSE_LOGS_AT="06:00"), caplog.at_level(logging.WARNING, logger="smartlayer"):
        assert scheduler.start_if_configured(argv=SERVER_ARGV, environ={}) is None
    warnings = [r for r in caplog.records if "APScheduler is not installed" in r.getMessage()]
    assert len(warnings) == 1


def test_job_runs_once_when_called_twice(db, monkeypatch):
    runs = []
    real_run = report.run
    monkeypatch.setattr(report, "run", lambda day: runs.append(day) or real_run(day))
    with ai_settings(None):
        assert scheduler.run_daily_job() is True
        assert scheduler.run_daily_job() is False
    yesterday = timezone.localdate() - timedelta(days=1)
    assert runs == [yesterday]
    assert DailyReport.objects.filter(date=yesterday).count() == 1


def test_database_guard_when_the_cache_lock_is_lost(db, monkeypatch):
    """Another process (own local-memory cache) already wrote today's report."""
    runs = []
    monkeypatch.setattr(report, "run", lambda day: runs.append(day))
    DailyReport.objects.create(date=timezone.localdate() - timedelta(days=1), report="written elsewhere")
    cache.clear()
    assert scheduler.run_daily_job() is False
    assert runs == []


def test_job_failure_is_reported_not_raised(db, monkeypatch):
    from smartlayer import state

    def boom(day):
        raise RuntimeError("report failed")

    monkeypatch.setattr(report, "run", boom)
    assert scheduler.run_daily_job() is False
    assert state.metrics["failure.analyse_logs"] == 1
