"""The smartlayer demo: ``python -m smartlayer.demo``.

Builds a throwaway site on the embedded default (SQLite + the local-memory
cache) in a work directory, then:

1. sends it live traffic — people, API users and attackers — through the real
   middleware stack and prints, per actor, what was refused and why (read back
   from the request log WatchLog wrote);
2. learns what normal looks like: a week of generated normal traffic goes into
   the request log and ``train_smartlayer`` trains and activates a model;
3. replays a generated day with every attack scenario through the whole
   detection pipeline and prints the per-scenario table and the report's path;
4. writes the daily report with ``analyse_logs``.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path


def _print_live(table: list[dict]) -> None:
    print(f"\n{'actor':<24}{'sent':>5}{'logged':>7}{'refused':>8}{'first':>6}  why")
    people = [r for r in table if r["actor"].startswith("visitor-")]
    others = [r for r in table if not r["actor"].startswith("visitor-")]
    if people:
        sent = sum(r["sent"] for r in people)
        logged = sum(r["logged"] for r in people)
        refused = sum(r["refused"] for r in people)
        print(f"{f'{len(people)} visitors (people)':<24}{sent:>5}{logged:>7}{refused:>8}{'-':>6}  "
              f"{'never refused' if refused == 0 else 'SOME REFUSED'}")
    for r in others:
        first = r["first"] if r["first"] is not None else "-"
        print(f"{r['actor']:<24}{r['sent']:>5}{r['logged']:>7}{r['refused']:>8}{first!s:>6}  "
              f"{'; '.join(r['reasons']) or 'never refused'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m smartlayer.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", help="where the demo site lives (default: a new temporary directory)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    started = time.monotonic()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="smartlayer-demo-")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    from .site import configure

    configure(workdir)
    from django.core.management import call_command

    from . import live

    print(f"smartlayer demo — site in {workdir} (SQLite + local-memory cache)")
    call_command("migrate", verbosity=0)
    live.install_plan_lookup()

    print("\n1. Live traffic through AIAnomalyDetector → AIRequestValidator → RateLimiter → WatchLog")
    cast = live.run(seed=args.seed)
    from smartlayer.logwriter import get_writer

    get_writer().flush(timeout=30)
    _print_live(live.summarise(cast))

    print(f"\ndone in {time.monotonic() - started:.1f} s — request log, bans and reports are in "
          f"{workdir / 'demo.sqlite3'}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
