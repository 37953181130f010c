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

The same ``--seed`` gives the same counts on any machine (the live traffic
runs on a virtual clock, :mod:`.live`).  The temporary directory is removed
at the end (``--keep`` keeps it; a ``--workdir`` of yours is never removed).
``--serve`` then starts the demo site with its admin on 127.0.0.1 and prints
the address and a login, until Ctrl-C.
"""
from __future__ import annotations

import argparse
import io
import json
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path

DAY = 86400


def _print_live(table: list[dict]) -> None:
    print(f"\n{'actor':<24}{'sent':>5}{'logged':>7}{'refused':>8}{'first':>6}  {'story: refused for':<29}why")
    people = [r for r in table if r["actor"].startswith("visitor-")]
    others = [r for r in table if not r["actor"].startswith("visitor-")]
    if people:
        sent = sum(r["sent"] for r in people)
        logged = sum(r["logged"] for r in people)
        refused = sum(r["refused"] for r in people)
        story = "never refused ✓" if refused == 0 else "never refused ✗"
        print(f"{f'{len(people)} visitors (people)':<24}{sent:>5}{logged:>7}{refused:>8}{'-':>6}  {story:<29}")
    for r in others:
        first = r["first"] if r["first"] is not None else "-"
        story = f"{r['rule'] or 'never refused'} {'✓' if r['story_true'] else '✗'}"
        print(f"{r['actor']:<24}{r['sent']:>5}{r['logged']:>7}{r['refused']:>8}{first!s:>6}  {story:<29}"
              f"{'; '.join(r['reasons']) or '-'}")
    false = [r["actor"] for r in table if not r["story_true"]]
    if false:
        print(f"   ✗ not refused for the rule its story names: {', '.join(false)}")


def _step(title: str) -> float:
    print(f"\n{title}")
    return time.monotonic()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m smartlayer.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", help="where the demo site lives (default: a new temporary directory, "
                                          "removed at the end)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--humans", type=int, default=200, help="people in the generated week (default 200; "
                        "with 150 the smaller week teaches the model too little about crawlers)")
    parser.add_argument("--no-llm", action="store_true", help="leave the AI features off")
    parser.add_argument("--serve", action="store_true",
                        help="afterwards, serve the demo site and its admin on 127.0.0.1 until Ctrl-C")
    parser.add_argument("--port", type=int, default=8000, help="port for --serve (0: any free port)")
    parser.add_argument("--summary-json", help="also write the counts to this file (tests compare two runs)")
    args = parser.parse_args(argv)

    started = time.monotonic()
    own_dir = args.workdir is None
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="smartlayer-demo-")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        with ExitStack() as stack:
            smart = {"grey_grace_requests": 5}  # the scripted clients are short: score them after 5 requests
            if not args.no_llm:
                from .llm_standin import StandInLLM

                llm = stack.enter_context(StandInLLM())
                # a generous budget for the borderline payloads' synchronous question: a busy machine must
                # not turn a verdict into a timeout, or the same seed would give other counts
                smart.update(AI_API_KEY="demo", AI_BASE_URL=llm.url, AI_MODEL="stand-in", AI_PAYLOAD_TIMEOUT=15.0)
            from .site import configure

            configure(workdir, smart)
            code = _run(workdir, args, started)
            if args.serve:
                _serve(args.port)
            return code
    finally:
        _stop_threads()
        if own_dir and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
            print(f"(removed {workdir}; --keep keeps it)")


def _stop_threads() -> None:
    """Write what is queued and stop the writer, so the directory can go."""
    try:
        from smartlayer.log.writer import get_writer

        writer = get_writer()
        writer.stop()
        writer.flush(timeout=10)
        from django.db import connections

        connections.close_all()
    except Exception:  # noqa: BLE001 - Django may not be set up (a bad argument)
        pass


def _serve(port: int) -> None:
    """The demo site with its admin on 127.0.0.1, until Ctrl-C; prints the address and a login."""
    from django.contrib.auth import get_user_model
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.servers.basehttp import WSGIRequestHandler as Handler
    from django.core.servers.basehttp import WSGIServer, get_internal_wsgi_application

    password = secrets.token_urlsafe(9)
    User = get_user_model()
    user = User.objects.filter(username="admin").first() or User(username="admin", email="admin@example.invalid")
    user.is_staff = user.is_superuser = True
    user.set_password(password)
    user.save()
    httpd = WSGIServer(("127.0.0.1", port), Handler, ipv6=False)
    httpd.set_app(StaticFilesHandler(get_internal_wsgi_application()))
    url = f"http://127.0.0.1:{httpd.server_address[1]}/admin/"
    # Served from a thread; the main thread only waits for Ctrl-C (or SIGTERM).  A
    # KeyboardInterrupt raised inside a request would be swallowed by wsgiref's
    # error handling, so the signal sets a flag instead of raising.
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    server = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    server.start()
    print(f"\nserving the demo site: {url}  (login: admin / {password}); Ctrl-C stops it", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        httpd.shutdown()
        httpd.server_close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        print("stopped.", flush=True)


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
    table = live.summarise(cast)
    _print_live(table)
    from smartlayer.models import Ban

    summary: dict = {"live": [{k: r[k] for k in ("actor", "sent", "logged", "refused", "first", "reasons",
                                                 "story_true")} for r in table], "bans": []}
    for ban in Ban.objects.order_by("client_key"):
        print(f"   ban: {ban.client_key:<22} source={ban.source:<5} {ban.reason[:70]}")
        summary["bans"].append([ban.client_key, ban.source, ban.reason])
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
    # the generated week exactly (not "the last 7 days", which moves with the clock and would
    # take in the live traffic above): the same seed trains the same model
    iso = datetime.fromtimestamp(week_start, tz=timezone.utc).date().isoformat()
    end = datetime.fromtimestamp(week_start + 7 * DAY, tz=timezone.utc).date().isoformat()
    # shadow-scored on the history's last day, not on the live minutes above (their response
    # times are measured, so the same seed would not give the same report twice)
    call_command("train_smartlayer", "--activate", "--since", iso, "--until", end, "--shadow-until", end, stdout=out)
    print("   " + out.getvalue().strip().replace("\n", "\n   "))
    summary["week_rows"] = rows
    summary["training"] = [line for line in out.getvalue().splitlines() if "version" not in line]
    print(f"   ({time.monotonic() - t:.1f} s)")

    t = _step("3. Backtest: smartlayer_replay on a generated day with every attack scenario")
    from smartlayer.sim import to_jsonl

    day = generate_attack_day(args.seed + 1, start=week_start + 6 * DAY)  # yesterday, from midnight
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
    summary["replay"] = [line for line in text.splitlines()
                         if not any(m in line for m in ("lines/s", " s)", "model:", "report:"))]
    print(f"   ({time.monotonic() - t:.1f} s)")

    t = _step("4. The daily report: analyse_logs (yesterday)")
    out = io.StringIO()
    call_command("analyse_logs", stdout=out)
    print("   " + out.getvalue().strip().splitlines()[-1])
    summary["daily_report"] = out.getvalue().strip().splitlines()[-1]
    from smartlayer.models import DailyReport

    report = DailyReport.objects.order_by("-date").first()
    if report is not None:
        print("   " + "\n   ".join(report.report.splitlines()[:8]))
    print(f"   ({time.monotonic() - t:.1f} s)")

    print(f"\ndone in {time.monotonic() - started:.0f} s.")
    print(f"  detection report: {report_dir / 'report.html'} (and report.md)"
          + ("" if args.workdir or args.keep else "  — removed at the end: --keep keeps it"))
    print(f"  database (request log, bans, model versions, daily reports): {workdir / 'demo.sqlite3'}")
    print(f"  model store: {workdir / 'models_store'}")
    if args.summary_json:
        Path(args.summary_json).write_text(json.dumps(summary, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
