"""python manage.py smartlayer_replay FILE — backtest smartlayer on an access log."""
from __future__ import annotations

import contextlib
import gc
import json
import sys
import time
from pathlib import Path
from typing import Any

from django.core.checks import Tags
from django.core.management.base import BaseCommand, CommandError

#: Allocations between two collections of the youngest generation during a replay (Python's default: 700).
_GC_YOUNGEST = 20_000


def _overrides(value: str | None) -> dict[str, Any]:
    if not value:
        return {}
    text = Path(value).read_text() if Path(value).is_file() else value
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise CommandError(f"--config must be JSON (or a JSON file): {exc}") from None
    if not isinstance(data, dict):
        raise CommandError("--config must be a JSON object of SMART_MIDDLEWARE keys")
    return data


class Command(BaseCommand):
    help = ("Replay an access log (nginx/Apache combined format or JSON lines, .gz allowed) through the "
            "detection pipeline in monitor mode, on the log's own clock, and report what smartlayer would "
            "have refused.")

    # The checks that bear on a replay: smartlayer's own (its settings, its patterns, the cache), all
    # tagged so.  Django's model, URL and command checks judge the site, not an offline replay, and
    # importing what they inspect (the auth views and forms, the migration autodetector) was a
    # tenth of the command's start-up.
    requires_system_checks = [Tags.security, Tags.caches]

    #: Whether the process ends with this command (run from the command line, :meth:`run_from_argv`),
    #: rather than being called by a process that goes on (``call_command``).
    _process_ends = False

    def run_from_argv(self, argv):
        """The command line's entry: the process ends when the replay does.

        The cyclic collector is then off from here to the end, but for the replay loop (see
        :meth:`_replay`).  What start-up builds (the checks, NumPy, the model, the profile, the
        engines) lives as long as the process: the collector's passes over it found nothing to free
        and were a tenth of start-up's instructions, its passes at exit over everything the
        process built a few per cent more.  A ``call_command`` leaves the collector as it found it.
        """
        self._process_ends = True
        enabled = gc.isenabled()
        gc.disable()
        try:
            super().run_from_argv(argv)
        finally:
            if enabled:
                gc.enable()

    def add_arguments(self, parser):
        parser.add_argument("file", help="access log: combined format or JSON lines (.gz allowed)")
        parser.add_argument("--model", help="model version to use (default: the active one)")
        parser.add_argument("--no-model", action="store_true", help="rules and payload checks only")
        parser.add_argument("--config", help="JSON object (or file) of SMART_MIDDLEWARE overrides")
        parser.add_argument("--output", help="directory for report.html (one self-contained page), report.md with "
                                             "its SVG pictures, clients.csv and clients.jsonl")
        parser.add_argument("--top", type=int, default=15, help="clients listed in the printed verdicts")

    def handle(self, *args, **opts):
        from django.conf import settings

        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        overrides = _overrides(opts["config"])
        merged = {**getattr(settings, "SMART_MIDDLEWARE", {}), **overrides}
        from smartlayer.offline.replay_report import print_summary, write_report

        # the report explains its figures with the settings the replay ran with (--config included);
        # without --config those are the site's own (and django.test, 20-40 ms of imports, is not needed)
        if overrides:
            from django.test.utils import override_settings

            overridden = override_settings(SMART_MIDDLEWARE=merged)
        else:
            overridden = contextlib.nullcontext()
        with overridden:
            result, seconds = self._replay(path, opts)
            print_summary(result, self.stdout, seconds=seconds, top=opts["top"])
            if opts["output"]:
                out = write_report(result, Path(opts["output"]), title=f"Replay of {path.name}")
                self.stdout.write(f"\nreport: {out.with_name('report.html')} (and report.md)")
        if result.replayed == 0:
            raise CommandError(f"no line of {path} could be parsed ({result.malformed} malformed)")

    def _replay(self, path: Path, opts: dict[str, Any]):
        from smartlayer.detectors.payload.config import compile_on_first_use
        from smartlayer.offline.accesslog import iter_log
        from smartlayer.offline.replay import Replayer

        compile_on_first_use()   # a log has no bodies and the replay scans no path: those engines are not built

        model: Any = "active"
        profile: Any = "active"
        if opts["no_model"]:
            model = None
        elif opts["model"]:
            from smartlayer.ml.runtime import ActiveModel
            from smartlayer.ml.store import ModelStore
            from smartlayer.profile.core import Profile

            try:
                store = ModelStore()
                loaded = store.load(opts["model"])
                model = ActiveModel.from_loaded(loaded)
                data = store.load_profile(opts["model"], loaded.manifest)   # the profile learned with it
                profile = Profile(data, opts["model"]) if data is not None else None
            except Exception as exc:  # noqa: BLE001 - any load failure is a clear command error
                raise CommandError(f"cannot load model {opts['model']!r}: {exc}") from None
        replayer = Replayer(model=model, profile=profile)
        started = time.perf_counter()
        stats = None
        lines = iter_log(path)
        progress = sys.stderr.isatty()
        # What start-up built (Django, the model, the profile, the signatures) lives as long as the
        # process, and what the replay builds (windows, clients) mostly until its end: the cyclic
        # collector walking them again and again finds nothing (a few per cent of a replay).  It is
        # kept on, with its start-up objects set aside and its youngest generation collected rarer.
        # From the command line, the collector runs during the loop only (see run_from_argv), and what
        # the replay built is set aside with the rest at its end: the process's exit frees it.
        gc.freeze()
        threshold = gc.get_threshold()
        enabled = gc.isenabled()
        gc.set_threshold(_GC_YOUNGEST, *threshold[1:])
        gc.enable()
        try:
            for n, line in enumerate(lines, 1):
                replayer.feed(line)
                if progress and n % 50000 == 0:
                    sys.stderr.write(f"\r{n:,} lines replayed")
        finally:
            gc.set_threshold(*threshold)
            if not enabled:
                gc.disable()
            if self._process_ends:
                gc.freeze()
            else:
                gc.unfreeze()
        stats = getattr(lines, "stats", None)
        if progress:
            sys.stderr.write("\r")
        result = replayer.result
        if stats is not None:
            result.lines, result.malformed = stats.lines, stats.malformed
            result.first_errors = list(stats.first_errors)[:5]
        else:
            result.lines = result.replayed
        return result, time.perf_counter() - started
