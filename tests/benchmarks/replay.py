"""Replay throughput: ``smartlayer_replay`` end to end, start-up included, model and site profile on.

    python tests/benchmarks/replay.py [--days 3] [--telemetry-days 1] [--readers 120] [--rounds 1]
                                      [--workdir DIR] [--instructions] [--byte-compile]

Two logs, each replayed by the command in a fresh process (``python -m django
smartlayer_replay LOG``), timed from the process's start to its exit — Django
set-up, imports, loading the model and the profile, parsing, rules, payload
checks, the model, the combiner and the printed report all included:

* **generated** — ``--days`` generated attack days (``profiled``: telemetry
  readers, product clickers, tampering and path probing among the usual
  people, crawlers and attackers), with a model and site profile learned from
  a generated normal week;
* **telemetry every 2 s** — ``--telemetry-days`` days of a site whose every
  reader's page posts a beacon every ~2 s (:mod:`smartlayer.sim.telemetry_log`;
  most lines are beacons), attackers mixed in, with a model and profile
  learned from a week of the same site.

Each log is replayed with the model (and the profile learned with it) and
with ``--no-model``.  Prints lines, wall seconds, lines per second start-up
included (wall clock, and over the process's CPU time, steadier on a shared
machine), and the command's own figure (the replay loop alone); then the
start-up alone: the same command on the log's first line (every import,
the model, the profile, one line's engines and the report).  Target
(issue 17): ≥ 20,000 lines/s start-up included on both logs.

``--workdir DIR`` keeps the logs, the stores and the settings there and uses
them again on the next run with the same arguments (generating and training
take a minute or two).  ``--instructions``: instead of the clock, each replay
with the model and profile, and its one-line start-up, run once under
``valgrind --tool=callgrind`` — instructions counted, the same on a loaded
machine as on a quiet one: the whole command, its start-up, and per line the
difference over the lines.

Whether smartlayer's own modules are byte-compiled is printed with the figures: where
``PYTHONDONTWRITEBYTECODE`` is set and the tree holds no ``.pyc``, every run compiles them from
source first — 0.2 s of CPU, a third of the start-up (2026-12-06: 2,632 M instructions against
1,948 M for a one-line replay), which an installed package (pip compiles what it installs) never
pays.  ``--byte-compile`` compiles them first, as an installation does.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

SETTINGS = '''\
import os
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "smartlayer"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["SL_BENCH_DB"]}}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
MIDDLEWARE = []
SECRET_KEY = "replay-benchmark"
SMART_MIDDLEWARE = {"MODEL_STORE": os.environ["SL_BENCH_STORE"], "LOG_WRITER": "manual"}
SILENCED_SYSTEM_CHECKS = ["smartlayer.W002", "smartlayer.W004"]
'''
_RATE = re.compile(r"replayed: ([\d,]+).* in ([\d.]+) s \(([\d,]+) lines/s\)")
_COLLECTED = re.compile(r"Collected : (\d+)")


def _train(week: list, store_dir: Path, version: str) -> None:
    """A model and the site profile of ``week``, stored together and activated (as train_smartlayer does)."""
    from smartlayer.ml.registry import activate, register
    from smartlayer.ml.store import ModelStore
    from smartlayer.ml.training.frames import records_frame
    from smartlayer.ml.training.sources import profile_summary
    from smartlayer.ml.training.train import fit_frame
    from smartlayer.profile.learn import learn_profile, rows_from_records

    profile = learn_profile(rows_from_records(week), resolver=False)
    # the model learns from vectors judged by that profile, as train_smartlayer's are: without it the
    # profiled counts (silent pages, hurried direct pages) are 0 in training and not in serving
    fitted = fit_frame(records_frame(week), seed=0, profile=profile)
    manifest = dict(fitted.manifest)
    manifest["profile"] = profile_summary(profile)
    store = ModelStore(store_dir)
    store.save(version, estimator=fitted.model.forest_, forest=fitted.model.compiled_, manifest=manifest,
               profile=profile)
    register(store.load(version).manifest)
    activate(version, store=store)


def _env(store_dir: Path, tmp: Path) -> dict[str, str]:
    return dict(os.environ, DJANGO_SETTINGS_MODULE="bench_settings", SL_BENCH_STORE=str(store_dir),
                SL_BENCH_DB=str(tmp / "bench.sqlite3"), PYTHONPATH=os.pathsep.join([str(tmp), str(ROOT)]))


def _instructions(log: Path, store_dir: Path, tmp: Path) -> int:
    """Instructions of one replay (model and profile) in a fresh process, counted by callgrind."""
    proc = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-m",
                           "django", "smartlayer_replay", str(log)], env=_env(store_dir, tmp), capture_output=True,
                          text=True, check=True)
    return int(_COLLECTED.findall(proc.stderr)[-1])


def _run(log: Path, store_dir: Path, tmp: Path, extra: list[str]) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds, output) of one replay in a fresh process."""
    env = _env(store_dir, tmp)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "django", "smartlayer_replay", str(log), *extra],
                          env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu, proc.stdout


def _byte_compiled() -> str:
    """How many of smartlayer's modules have a current ``.pyc`` (the others are compiled by every run)."""
    import importlib.util

    sources = [p for p in (ROOT / "smartlayer").rglob("*.py") if "__pycache__" not in p.parts]
    current = 0
    for source in sources:
        cached = Path(importlib.util.cache_from_source(str(source)))
        head = cached.read_bytes()[:16] if cached.is_file() else b""
        st = source.stat()
        # the header Python checks: its magic number, then (flags 0) the source's mtime and size
        if (len(head) == 16 and head[:4] == importlib.util.MAGIC_NUMBER and head[4:8] == bytes(4)
                and int.from_bytes(head[8:12], "little") == int(st.st_mtime) & 0xFFFFFFFF
                and int.from_bytes(head[12:16], "little") == st.st_size & 0xFFFFFFFF):
            current += 1
    return f"smartlayer byte-compiled: {current} of {len(sources)} modules"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=3, help="generated attack days")
    parser.add_argument("--telemetry-days", type=int, default=1, help="days of the telemetry site")
    parser.add_argument("--readers", type=int, default=120, help="telemetry readers on the telemetry site")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each replay (the median is printed)")
    parser.add_argument("--workdir", help="keep the logs and stores here, and use them again")
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions with callgrind instead of timing")
    parser.add_argument("--byte-compile", action="store_true",
                        help="byte-compile smartlayer's modules first, as installing the package does")
    args = parser.parse_args()
    if args.byte_compile:
        import compileall

        compileall.compile_dir(ROOT / "smartlayer", quiet=1)
    compiled = _byte_compiled()
    tmp = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="sl-replay-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "bench_settings.py").write_text(SETTINGS)
    os.environ.update(SL_BENCH_DB=str(tmp / "bench.sqlite3"), SL_BENCH_STORE=str(tmp / "store-generated"))
    sys.path.insert(0, str(tmp))
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench_settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import override_settings

    from smartlayer.offline.accesslog import write_combined
    from smartlayer.sim import DEFAULT_START, generate_attack_day, generate_normal_week
    from smartlayer.sim.telemetry_log import generate_telemetry_day, generate_telemetry_week

    call_command("migrate", verbosity=0)
    names = ("generated", "telemetry every 2 s")
    made = {"days": args.days, "telemetry_days": args.telemetry_days, "readers": args.readers}
    marker = tmp / "made.json"
    reuse = bool(args.workdir) and marker.is_file() and json.loads(marker.read_text()) == made
    logs = []
    if reuse:
        for i, name in enumerate(names):
            with (tmp / f"access-{i}.log").open() as fp:
                logs.append((name, sum(1 for _ in fp)))
        print(f"logs and stores of {tmp} used again", file=sys.stderr)
    else:
        marker.unlink(missing_ok=True)
        day = 86400
        t0 = time.perf_counter()
        made_logs = []
        records = []
        for d in range(args.days):
            records += generate_attack_day(seed=100 + d, start=DEFAULT_START + (7 + d) * day, profiled=True)
        made_logs.append((names[0], records, generate_normal_week(seed=1, profiled=True)))
        records = []
        for d in range(args.telemetry_days):
            records += generate_telemetry_day(seed=200 + d, start=DEFAULT_START + (7 + d) * day,
                                              readers=args.readers)
        made_logs.append((names[1], records, generate_telemetry_week(seed=2, readers=args.readers)))
        print(f"generated in {time.perf_counter() - t0:.0f} s, in {tmp}", file=sys.stderr)
        for i, (name, records, week) in enumerate(made_logs):
            with (tmp / f"access-{i}.log").open("w") as fp:
                write_combined(records, fp, with_label=True)
            store_dir = tmp / f"store-{i}"
            t0 = time.perf_counter()
            with override_settings(SMART_MIDDLEWARE={"MODEL_STORE": str(store_dir), "LOG_WRITER": "manual"}):
                _train(week, store_dir, f"bench-{i}")
            print(f"{name}: {len(records):,} lines, model and profile trained in {time.perf_counter() - t0:.0f} s",
                  file=sys.stderr)
            logs.append((name, len(records)))
        marker.write_text(json.dumps(made))
    for i, _name in enumerate(names):
        with (tmp / f"access-{i}.log").open() as fp:
            (tmp / f"first-{i}.log").write_text(fp.readline())
    if args.instructions:
        print(f"python {sys.version.split()[0]}; instructions of the whole command process (callgrind), "
              f"model + site profile; {compiled}")
        print(f"{'log':<22}{'lines':>9}{'whole, M':>12}{'start-up, M':>13}{'per line, k':>13}")
        for i, (name, lines) in enumerate(logs):
            whole = _instructions(tmp / f"access-{i}.log", tmp / f"store-{i}", tmp)
            start = _instructions(tmp / f"first-{i}.log", tmp / f"store-{i}", tmp)
            print(f"{name:<22}{lines:>9,}{whole / 1e6:>12,.0f}{start / 1e6:>13,.0f}"
                  f"{(whole - start) / max(1, lines - 1) / 1e3:>13,.1f}")
        print("start-up: the same command on the log's first line; per line: (whole - start-up) / (lines - 1)")
        return 0

    rows = []
    for i, (name, lines) in enumerate(logs):
        log = tmp / f"access-{i}.log"
        store_dir = tmp / f"store-{i}"
        for label, extra in (("model + site profile", []), ("rules and payload checks", ["--no-model"])):
            runs = [_run(log, store_dir, tmp, extra) for _ in range(args.rounds)]
            seconds = statistics.median(s for s, _, _ in runs)
            cpu = statistics.median(c for _, c, _ in runs)
            out = runs[0][2]
            m = _RATE.search(out)
            model = next(line for line in out.splitlines() if line.startswith("model:"))
            rows.append((name, label, lines, seconds, lines / seconds, lines / cpu,
                         m.group(3) if m else "?", model))
    startup = []
    for i, (name, _lines) in enumerate(logs):
        runs = [_run(tmp / f"first-{i}.log", tmp / f"store-{i}", tmp, []) for _ in range(args.rounds)]
        startup.append((name, statistics.median(s for s, _, _ in runs), statistics.median(c for _, c, _ in runs)))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; wall time of the whole command process; "
          f"{compiled}")
    print(f"{'log':<22}{'pipeline':<26}{'lines':>9}{'wall s':>8}{'lines/s':>10}{'per CPU s':>11}"
          f"{'loop only':>11}")
    for name, label, lines, seconds, rate, per_cpu, loop, model in rows:
        print(f"{name:<22}{label:<26}{lines:>9,}{seconds:>8.2f}{rate:>10,.0f}{per_cpu:>11,.0f}{loop:>11}"
              f"   ({model})")
    print("lines/s: wall clock of the whole process, start-up included; per CPU s: the same lines over the "
          "process's user + system time (steadier on a shared machine); loop only: the command's own figure")
    for name, seconds, cpu in startup:
        print(f"start-up alone ({name}, model + site profile, the log's first line): {seconds:.3f} s wall, "
              f"{cpu:.3f} s CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
