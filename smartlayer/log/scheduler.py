"""Run ``analyse_logs`` daily at ``ANALYSE_LOGS_AT`` inside the web process (optional).

Cron is the robust choice; this exists for sites without one.  When
``ANALYSE_LOGS_AT`` ("HH:MM", site timezone) is set and APScheduler 3 is
installed, :func:`start_if_configured` (called from ``AppConfig.ready``)
starts one ``BackgroundScheduler`` per process — but not for management
commands other than ``runserver`` (``migrate`` must not start threads), not
in runserver's autoreloader parent, not under pytest, and not when the
environment says ``SMARTLAYER_SCHEDULER=0``.

Every worker process of a site has its own scheduler, so the job itself makes
sure the report is written once per day (:func:`run_daily_job`): first a
``cache.add`` lock keyed by the date (26 h, so it outlives the day), then —
because a local-memory cache is not shared between processes — a database
check that the day's DailyReport does not exist yet.  Two processes that
pass both at the same instant both write the same report; ``update_or_create``
makes that harmless.  (Under ``gunicorn --preload`` the scheduler lives in
the master process, whose thread does not survive into the forked workers.)

Failures never crash the site: a missing APScheduler is one warning line, a
malformed time is one warning line (the system check reports it too), and an
exception in the job is reported and counted.
"""
from __future__ import annotations

import logging
import os
import re
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from ..conf import sl_settings
from ..state.cache import get_cache, make_key
from ..state.failures import report_failure
from ..state.singleton import ProcessSingleton

logger = logging.getLogger("smartlayer")

JOB_ID = "smartlayer_analyse_logs"
LOCK_TIMEOUT = 26 * 3600
_TIME_RE = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)", re.ASCII)
_MANAGE_SCRIPTS = ("manage.py", "django-admin", "django-admin.py")

def _start_configured() -> Any:
    """The started APScheduler for ``ANALYSE_LOGS_AT``; raises when it cannot start."""
    hour, minute = parse_time(sl_settings.ANALYSE_LOGS_AT)  # checked by the caller
    return _start(hour, minute)


_scheduler: ProcessSingleton[Any] = ProcessSingleton(
    "scheduler", lambda: _start_configured(), close=lambda s: s.shutdown(wait=False))


def parse_time(value: Any) -> tuple[int, int] | None:
    """``"06:00"`` → ``(6, 0)``; anything that is not a valid HH:MM → None."""
    if not isinstance(value, str):
        return None
    match = _TIME_RE.fullmatch(value.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def _management_command(argv: Sequence[str]) -> str | None:
    """The management command this process runs, or None when it is not ``manage.py``/``django-admin``."""
    if not argv:
        return None
    script = os.path.basename(argv[0])
    is_django_main = script == "__main__.py" and os.path.basename(os.path.dirname(argv[0])) == "django"
    if script in _MANAGE_SCRIPTS or is_django_main:
        return argv[1] if len(argv) > 1 else ""
    return None


def should_start(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> tuple[bool, str]:
    """``(start?, why not)`` for this process."""
    argv = sys.argv if argv is None else argv
    environ = os.environ if environ is None else environ
    if environ.get("SMARTLAYER_SCHEDULER", "").strip() == "0":
        return False, "SMARTLAYER_SCHEDULER=0"
    if argv and ("pytest" in os.path.basename(argv[0]) or "pytest" in argv[0].split(os.sep)):
        return False, "running tests"
    command = _management_command(argv)
    if command is not None and command != "runserver":
        return False, f"management command {command or '(none)'!r}"
    if command == "runserver" and environ.get("RUN_MAIN") != "true" and "--noreload" not in argv:
        return False, "runserver autoreloader parent"
    return True, ""


def start_if_configured(*, argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> Any:
    """Start this process's scheduler if configured; returns it, or None.  Never raises."""
    value = sl_settings.ANALYSE_LOGS_AT
    if not value:
        return None
    at = parse_time(value)
    if at is None:
        logger.warning("smartlayer: ANALYSE_LOGS_AT=%r is not HH:MM; the daily report is not scheduled.", value)
        return None
    start, why_not = should_start(argv, environ)
    if not start:
        logger.debug("smartlayer: scheduler not started (%s).", why_not)
        return None
    try:
        return _scheduler.get()
    except ImportError:
        logger.warning("smartlayer: ANALYSE_LOGS_AT is set but APScheduler is not installed; "
                       "pip install 'django-smartlayer[scheduler]' or run analyse_logs from cron.")
    except Exception as exc:  # noqa: BLE001 - the site must start anyway
        report_failure("scheduler", exc)
    return None


def _start(hour: int, minute: int) -> Any:
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger
    from django.utils import timezone

    tz = timezone.get_default_timezone()
    scheduler = BackgroundScheduler(timezone=tz, daemon=True)
    scheduler.add_job(run_daily_job, CronTrigger(hour=hour, minute=minute, timezone=tz), id=JOB_ID,
                      replace_existing=True, coalesce=True, max_instances=1, misfire_grace_time=3600)
    scheduler.start()
    logger.info("smartlayer: daily report scheduled at %02d:%02d (%s).", hour, minute, tz)
    return scheduler


def stop() -> None:
    """Shut this process's scheduler down (tests, graceful exits)."""
    _scheduler.reset()


def _take_lock(day: Any) -> bool:
    """The once-per-day lock: True for the first caller.  Both guards are described above."""
    from ..models import DailyReport

    try:
        if not get_cache().add(make_key("analyse-logs", day.isoformat()), 1, timeout=LOCK_TIMEOUT):
            return False
    except Exception as exc:  # noqa: BLE001 - the database guard still holds
        report_failure("cache", exc)
    return not DailyReport.objects.filter(date=day).exists()


def run_daily_job() -> bool:
    """The scheduled job: write yesterday's report unless another process did.  True if it wrote it."""
    from django.db import connections

    from . import report

    day = report.default_date()
    try:
        if not _take_lock(day):
            logger.info("smartlayer: report for %s already written or in progress; skipped.", day)
            return False
        result = report.run(day)
        logger.info(result.status_line())
        return True
    except Exception as exc:  # noqa: BLE001 - a scheduler thread has nobody to raise to
        report_failure("analyse_logs", exc)
        return False
    finally:
        if threading.current_thread() is not threading.main_thread():
            connections.close_all()  # the scheduler's thread keeps no stale connection
