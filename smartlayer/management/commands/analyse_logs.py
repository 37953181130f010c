"""``manage.py analyse_logs [--date YYYY-MM-DD]``: the plain-English daily report.

A thin shell over :mod:`smartlayer.log.report`: parse the date, run, print one
status line (cron mail stays short); ``-v 2`` prints the whole report.  A
bad ``--date`` exits non-zero.  Without an LLM, or with a failing one, the
report still holds every figure and says why the summary is missing.
"""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from smartlayer.log import report


class Command(BaseCommand):
    help = ("Write the daily report of the request log (default: yesterday, site timezone), save it in the "
            "admin under Daily reports, then delete logs older than LOG_RETENTION_DAYS.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="Day to report on, YYYY-MM-DD (default: yesterday).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            day = report.parse_date(options.get("date"))
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        result = report.run(day)
        if options.get("verbosity", 1) >= 2:
            self.stdout.write(result.report)
        self.stdout.write(result.status_line())
