"""The smartlayer demo: ``python -m smartlayer.demo``.

Builds a throwaway site on the embedded default (SQLite + the local-memory
cache) in a work directory, then:

1. sends it live traffic — people, API users and attackers — through the real
   middleware stack and prints, per actor, what was refused and why (read back
   from the request log WatchLog wrote);
2. learns what normal looks like: a generated week of normal traffic goes
   into the request log and ``train_smartlayer`` trains and activates a model;
3. backtests: ``smartlayer_replay`` replays a generated day with every attack
   scenario through the whole pipeline and prints the per-scenario table;
4. ``analyse_logs`` writes yesterday's report into the admin's Daily reports.

LLM verdicts come from a loopback stand-in (``--no-llm`` to leave the AI off).
"""
from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

DAY = 86400


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


def _step(title: str) -> float:
    print(f"\n{title}")
    return time.monotonic()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m smartlayer.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", help="where the demo site lives (default: a new temporary directory)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--humans", type=int, default=300, help="people in the generated week (default 300)")
    parser.add_argument("--no-llm", action="store_true", help="leave the AI features off")
    args = parser.parse_args(argv)

    started = time.monotonic()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="smartlayer-demo-")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        smart = {"grey_grace_requests": 5}  # the scripted clients are short: score them after 5 requests
        if not args.no_llm:
            from .llm_standin import StandInLLM

            llm = stack.enter_context(StandInLLM())
            smart.update(AI_API_KEY="demo", AI_BASE_URL=llm.url, AI_MODEL="stand-in")
        from .site import configure

        configure(workdir, smart)
        return _run(workdir, args, started)


def _run(workdir: Path, args: argparse.Namespace, started: float) -> int:
    from django.core.management import call_command

    from smartlayer.log.writer import get_writer

    from . import live

    print(f"smartlayer demo — site in {workdir} (SQLite + local-memory cache)")
    llm_note = "off" if args.no_llm else "a loopback stand-in (not a real model)"
    print(f"LLM verdicts: {llm_note}; grace period shortened to 5 requests for the scripted clients")
    call_command("migrate", verbosity=0)
    live.install_plan_lookup()

    t = _step("1. Live traffic through AIAnomalyDetector → AIRequestValidator → RateLimiter → WatchLog")
    cast = live.run(seed=args.seed)
    get_writer().flush(timeout=30)
    _print_live(live.summarise(cast))
    from smartlayer.models import Ban

    for ban in Ban.objects.order_by("created_at"):
        print(f"   ban: {ban.client_key:<22} source={ban.source:<5} {ban.reason[:70]}")
    print(f"   ({time.monotonic() - t:.1f} s)")

    t = _step("2. Learning normal: a generated week of traffic → request log → train_smartlayer")
    from smartlayer.sim import generate_attack_day, generate_normal_week
    from smartlayer.sim.requestlog import write_requestlog

    now = time.time()
    week_start = float(int(now // DAY) * DAY - 7 * DAY)  # the seven full days before today
    week = [r for r in generate_normal_week(args.seed, start=week_start, humans=args.humans)
            if r.ts < week_start + 7 * DAY]
    rows = write_requestlog(week)
    print(f"   {rows:,} requests of {args.humans} people, API clients and crawlers written to the request log")
    out = io.StringIO()
    call_command("train_smartlayer", "--activate", stdout=out)
    print("   " + out.getvalue().strip().replace("\n", "\n   "))
    print(f"   ({time.monotonic() - t:.1f} s)")

    t = _step("3. Backtest: smartlayer_replay on a generated day with every attack scenario")
    from smartlayer.sim import to_jsonl

    day = generate_attack_day(args.seed + 1, start=now - DAY)
    log = workdir / "attack_day.jsonl"
    with log.open("w") as fp:
        to_jsonl(day, fp)
    report_dir = workdir / "replay_report"
    out = io.StringIO()
    # the backtest runs with the default grace period, not the live demo's shortened one
    call_command("smartlayer_replay", str(log), "--output", str(report_dir), "--config",
                 json.dumps({"grey_grace_requests": 20}), stdout=out)
    text = out.getvalue()
    table = text[text.index("per scenario"):] if "per scenario" in text else text
    print("   " + table.strip().replace("\n", "\n   "))
    print(f"   ({time.monotonic() - t:.1f} s)")

    t = _step("4. The daily report: analyse_logs (yesterday)")
    out = io.StringIO()
    call_command("analyse_logs", stdout=out)
    print("   " + out.getvalue().strip().splitlines()[-1])
    from smartlayer.models import DailyReport

    report = DailyReport.objects.order_by("-date").first()
    if report is not None:
        print("   " + "\n   ".join(report.report.splitlines()[:8]))
    print(f"   ({time.monotonic() - t:.1f} s)")

    print(f"\ndone in {time.monotonic() - started:.0f} s.")
    print(f"  detection report: {report_dir / 'report.md'}")
    print(f"  database (request log, bans, model versions, daily reports): {workdir / 'demo.sqlite3'}")
    print(f"  model store: {workdir / 'models_store'}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
