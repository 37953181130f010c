"""``manage.py smartlayer_status [--json]``: is every part of smartlayer working?

A thin shell over :mod:`smartlayer.status`: one line per part (cache,
database, replication bus, model, LLM, log queue, failures), or the whole
report as JSON for monitoring.  Exits 1 when a part is down, so a cron job or
a health probe can act on it; warnings alone exit 0.
"""
from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from smartlayer import status


class Command(BaseCommand):
    help = ("Say whether smartlayer's cache, database, replication bus, model, LLM and request-log queue "
            "work; exit status 1 when one is down.")
    requires_system_checks: list = []  # a status probe must answer even when a check would stop it

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        report = status.collect()
        if options.get("json"):
            self.stdout.write(json.dumps(report, indent=2, default=str))
        else:
            self.stdout.write(status.render_text(report))
        code = status.exit_code(report)
        if code:
            sys.exit(code)
