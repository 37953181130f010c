"""Replay throughput: ``smartlayer_replay`` end to end on a combined-format log.

    python tests/benchmarks/replay.py [--days 3]

Generates a normal week (to train a model) and ``--days`` attack days, writes
the days as one nginx/Apache combined log, and times the command — parsing,
rules, payload checks, the model and the combiner — printing lines per second
with the model and without it.  Target: ≥ 20,000 lines/s on this machine.
"""
from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sl-replay-bench-"))
    store_dir = tmp / "store"
    import django
    from django.conf import settings

    settings.configure(
        INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "smartlayer"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp / "bench.sqlite3")}},
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField", USE_TZ=True, MIDDLEWARE=[],
        SMART_MIDDLEWARE={"MODEL_STORE": str(store_dir), "LOG_WRITER": "manual"},
        SILENCED_SYSTEM_CHECKS=["smartlayer.W002", "smartlayer.W004"],
    )
    django.setup()
    from django.core.management import call_command

    from smartlayer.ml.registry import activate, register
    from smartlayer.ml.store import ModelStore
    from smartlayer.ml.training.frames import records_frame
    from smartlayer.ml.training.train import fit_frame
    from smartlayer.offline.accesslog import write_combined
    from smartlayer.sim import DEFAULT_START, generate_attack_day, generate_normal_week

    days = []
    for d in range(args.days):
        days += generate_attack_day(seed=100 + d, start=DEFAULT_START + (7 + d) * 86400)
    log = tmp / "access.log"
    with log.open("w") as fp:
        write_combined(days, fp, with_label=True)
    lines = len(days)
    print(f"{lines:,} lines ({args.days} generated attack days) in {log}")

    call_command("migrate", verbosity=0)
    fitted = fit_frame(records_frame(generate_normal_week(seed=1)), seed=0)
    store = ModelStore(store_dir)
    store.save("bench", estimator=fitted.model.forest_, forest=fitted.model.compiled_,
               manifest=dict(fitted.manifest))
    register(store.load("bench").manifest)
    activate("bench", store=store)
    for label, extra in (("with the model", []), ("rules and payload checks only", ["--no-model"])):
        out = io.StringIO()
        started = time.perf_counter()
        call_command("smartlayer_replay", str(log), *extra, stdout=out)
        seconds = time.perf_counter() - started
        model_line = next(line for line in out.getvalue().splitlines() if line.startswith("model:"))
        print(f"{label:<32} {seconds:6.2f} s  {lines / seconds:>9,.0f} lines/s   ({model_line})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
