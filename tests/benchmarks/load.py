"""Throughput under load: bare Django versus the full smartlayer stack, over real sockets.

    python tests/benchmarks/load.py [--duration 30] [--connections 16] [--worker-class sync] [--model]

One run, same machine, same trivial view, same gunicorn settings, measured
one after the other with ``wrk``:

* **bare** — Django's usual middleware (security, sessions, common, CSRF,
  auth, messages);
* **smartlayer** — the same plus AIAnomalyDetector, AIRequestValidator,
  RateLimiter and WatchLog, with Django's ``RedisCache`` as smartlayer's cache
  and PostgreSQL for the request log, written by WatchLog's background thread.
  Default settings: windows and bans replicated between the workers over
  Redis pub/sub (``WINDOW_BACKEND = "auto"``); ``--smart
  '{"WINDOW_BACKEND": "redis"}'`` measures the exact Redis window store.

Both run ``tests.deploy`` (see :mod:`tests.deploy.settings`) under gunicorn
with ``--workers 2`` on 127.0.0.1.

**Why sync workers** (the default, ``--worker-class gthread`` to compare):
gunicorn's own recommendation for CPU-bound Django behind a proxy, and the
honest case for smartlayer — a sync worker waits for each Redis round trip
with nothing else to do, so every microsecond smartlayer adds shows up in the
figure.  gthread overlaps those waits with other requests' work and keeps
connections alive, which flatters both stacks.

**Why rotating X-Forwarded-For**: every wrk connection comes from 127.0.0.1;
one IP sending thousands of requests per second *is* a flood, and smartlayer
would (rightly) block it within a second.  A wrk Lua script gives every
request an ``X-Forwarded-For`` from a pool of ``--clients`` addresses and the
server trusts one proxy hop (``TRUSTED_PROXY_COUNT = 1``), so the load looks
like many benign browsers — each at well under one request per second — and
the figure is the cost of inspecting benign traffic, not of refusing it.

**Rows versus responses**: wrk's request count is not exact (requests in
flight when its timer ends are answered and logged, but not counted), so
every server process counts the responses it sends (:mod:`tests.deploy.counter`),
including the warm-up's.  After a graceful stop (SIGTERM: workers finish and
flush the log at exit) the number of RequestLog rows must equal it.

**Model** (``--model``): before the rounds, ``train_smartlayer --from-access-log
… --activate`` learns a model and the site profile from a generated normal
week into a temporary store, which the smartlayer stack then uses — every
feature of the wave on.  Without it no model is active, as on a site that has
not trained yet.

**Browse** (``--browse``, with or without ``--model``): wrk's clients replay human
sessions of another generated week — pages with their assets, each client's page views
a few seconds apart at random — instead of hurried direct page views (see
:mod:`tests.benchmarks.browse`); each round reports smartlayer's refusals by reason and
the share of measured requests from clients past the grace period.

**CPU**: the workers' CPU per measured request from ``/proc`` (every thread), and of it
``threads``: every thread but each worker's first — under gunicorn's sync workers smartlayer's
replication bus and log writer, whose cost the request thread's own figures do not show; the Redis
server's from its ``INFO``; PostgreSQL's from ``/proc`` when it runs on this machine (its exited
backends included: a session per batch shows there and nowhere else).  ``busiest``: the busiest
worker's share of the workers' CPU — 50 % with two workers sharing evenly.  Under uvicorn it is
usually ~100 %: wrk opens its connections at once and the worker that wakes first accepts every
pending one, so the run measures one worker while the other core is left to wrk, Redis and
PostgreSQL; which worker it is, and what else the machine is doing then, moves the figure from run
to run (``--workers 1`` measures that case on purpose).

Targets: smartlayer ≥ 0.85 × bare requests/s (issue 17; 0.6 before it), no 5xx, rows == responses (under
``--server uvicorn``: every answered request has its row; see :func:`load_report.rows_match`).

**Rounds** (``--rounds N``): the two stacks are measured one after the other,
so a drift of the machine's speed between the two runs moves the ratio — on
the shared 2-vCPU machines here bare Django alone has measured anywhere from
2,200 to 3,000 requests/s within ten minutes.  With N > 1 the pair is
measured N times, alternating, and the ratio reported (and checked) is the
median of the N rounds' ratios; every round is printed.  Each round starts
as the first does — the bans, quota counters and Redis state of the round
before are cleared — so a client banned in one round is not a cheap refusal
in the next.
Exit status 0 when all are met.  Redis: only keys under ``--key-prefix`` in
``--redis-url``'s database are written and deleted.  PostgreSQL: the
``--database-url`` database is created if missing, migrated, and its request
log emptied before the run.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks.browse import WRK_PRELUDE, lua_script, refusals, week_people  # noqa: E402
from tests.benchmarks.load_report import TARGET_RATIO, report  # noqa: E402,F401 - TARGET_RATIO: the verdict's bar
from tests.deploy.counter import read_counts, read_metrics  # noqa: E402
from tests.deploy.servers import (  # noqa: E402
    BROWSER_UA,
    ServerProcess,
    deploy_env,
    free_port,
    gunicorn_cmd,
    migrate,
    uvicorn_cmd,
)

WRK_SCRIPT = WRK_PRELUDE + """
-- every request: another client address from a pool, a browser user agent,
-- one of a few pages; threads take interleaved slices so no two share a step
local POOL, NTHREADS = %(pool)d, %(threads)d
local UA = "%(ua)s"
local paths = {%(paths)s}
function init(args)
  counter = 0
end
function request()
  counter = counter + 1
  local n = (tid + counter * NTHREADS) %% POOL
  return wrk.format("GET", paths[(counter %% #paths) + 1],
                    {["X-Forwarded-For"] = client_ip(n), ["User-Agent"] = UA, ["Accept"] = "text/html"})
end
"""


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        print("wrk is not installed. Install it with:\n\n    apt-get update && apt-get install -y wrk\n\n"
              "(or build it from https://github.com/wg/wrk), then run this script again.", file=sys.stderr)
        sys.exit(2)
    return path


def prepare_database(url: str) -> None:
    """Create the benchmark database if missing (never drops anything)."""
    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')


def sql(url: str, query: str) -> int | None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(query)
        row = cur.fetchone() if cur.description else None
        return row[0] if row else None


def clear_redis(url: str, prefix: str) -> int:
    """Delete this benchmark's keys only (``<prefix>:*``), never the database."""
    import redis

    client = redis.Redis.from_url(url)
    n = 0
    batch = []
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        batch.append(key)
        if len(batch) >= 1000:
            n += client.delete(*batch)
            batch = []
    if batch:
        n += client.delete(*batch)
    return n


def _ticks(stat: str, children: bool = False) -> int:
    """User + system clock ticks of one ``/proc/…/stat`` file (``children``: plus those of its exited
    children); 0 when the process or thread is gone."""
    try:
        fields = Path(stat).read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return sum(int(f) for f in fields[11:15 if children else 13])


def busiest_share(before: dict[int, int], after: dict[int, int]) -> float:
    """The busiest worker's share of the workers' CPU between two readings of :func:`worker_ticks`:
    1/N when N workers shared the load evenly, 1.0 when one served every request."""
    used = [after.get(pid, 0) - ticks for pid, ticks in before.items()]
    return max(used) / sum(used) if used and sum(used) > 0 else 1.0


def worker_ticks(pids: set[int]) -> dict[int, int]:
    """Each process's user + system clock ticks so far."""
    return {pid: _ticks(f"/proc/{pid}/stat") for pid in pids}


def background_cpu(pids: set[int]) -> float:
    """CPU seconds used so far by the threads of ``pids`` other than each one's first (under gunicorn's
    sync workers, the one that serves the requests): smartlayer's replication bus and log writer."""
    total = 0
    for pid in pids:
        try:
            tids = [t for t in os.listdir(f"/proc/{pid}/task") if int(t) != pid]
        except OSError:
            continue
        total += sum(_ticks(f"/proc/{pid}/task/{tid}/stat") for tid in tids)
    return total / os.sysconf("SC_CLK_TCK")


def redis_cpu(url: str) -> float:
    """CPU seconds the Redis server has used (its INFO ``cpu`` section)."""
    import redis

    info = redis.Redis.from_url(url).info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def postgres_cpu() -> float:
    """CPU seconds this machine's PostgreSQL processes have used, the exited ones included (a backend's
    time moves to the postmaster's children's times when it exits); 0 when PostgreSQL runs elsewhere.

    A backend is a process per session: a client that opens a session per batch costs the server a
    process start each time, which only this reading shows (``docs/production.md``, *The threads beside
    the request thread*)."""

    def is_postgres(pid: str) -> bool:
        try:
            return Path(f"/proc/{pid}/comm").read_text().strip() == "postgres"
        except OSError:
            return False

    pids = [pid for pid in os.listdir("/proc") if pid.isdigit() and is_postgres(pid)]
    return sum(_ticks(f"/proc/{pid}/stat", children=True) for pid in pids) / os.sysconf("SC_CLK_TCK")


def run_wrk(wrk: str, url: str, script: Path, duration: int, threads: int, connections: int,
            *script_args: str) -> dict:
    out = subprocess.run([wrk, f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script),
                          url, "--", *script_args], capture_output=True, text=True, timeout=duration + 60,
                         check=True).stdout
    result = {"raw": out, "non_2xx_3xx": 0, "socket_errors": ""}
    if m := re.search(r"Requests/sec:\s+([\d.]+)", out):
        result["rps"] = float(m.group(1))
    if m := re.search(r"(\d+) requests in", out):
        result["requests"] = int(m.group(1))
    if m := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out):
        result["non_2xx_3xx"] = int(m.group(1))
    if m := re.search(r"Socket errors:(.*)", out):
        result["socket_errors"] = m.group(1).strip()
    for pct in ("50", "99"):
        if m := re.search(rf"\s{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)\b", out):
            value, unit = float(m.group(1)), m.group(2)
            result[f"p{pct}_ms"] = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    return result


def bench(stack: str, args: argparse.Namespace, wrk: str, script: Path, workdir: Path) -> dict:
    workdir.mkdir(exist_ok=True)
    counts = workdir / f"counts-{stack}"
    counts.mkdir()
    smart = {"TRUSTED_PROXY_COUNT": 1, "LOG_WRITER": "thread", **json.loads(args.smart)}
    if args.model:
        smart["MODEL_STORE"] = args.model_store
    env = deploy_env(SMARTLAYER_DEPLOY_STACK=stack, SMARTLAYER_DEPLOY_DATABASE_URL=args.database_url,
                     SMARTLAYER_DEPLOY_REDIS_URL=args.redis_url, SMARTLAYER_DEPLOY_KEY_PREFIX=args.key_prefix,
                     SMARTLAYER_DEPLOY_SMART=json.dumps(smart), SMARTLAYER_DEPLOY_COUNT_DIR=str(counts),
                     SMARTLAYER_DEPLOY_ONLY=args.only,
                     SMARTLAYER_DEPLOY_ANY_PAGE="1" if args.model or args.browse else "")
    port = free_port()
    if args.server == "uvicorn":
        cmd = uvicorn_cmd(port) + ["--workers", str(args.workers)]
    else:
        cmd = gunicorn_cmd(port, workers=args.workers, worker_class=args.worker_class,
                           threads=args.threads_per_worker)
    rows_before = sql(args.database_url, "SELECT COUNT(*) FROM smartlayer_requestlog") or 0
    first_id = sql(args.database_url, "SELECT COALESCE(MAX(id), 0) FROM smartlayer_requestlog") or 0
    server = ServerProcess(cmd, env, port, workdir / f"gunicorn-{stack}.log")
    try:
        server.start()
        warm = run_wrk(wrk, server.base_url + "/", script, args.warmup, args.threads, args.connections)
        # --browse: the measured run takes each client up about where the warm-up left it
        skip = str(round(warm.get("requests", 0) / args.clients / args.burst)) if args.burst else "0"
        # uvicorn with one worker serves in its own process: no children
        workers = server.children() or ({server.proc.pid} if server.proc is not None else set())
        def cpu(ticks: dict[int, int]) -> dict[str, float]:
            """The CPU seconds so far, the workers' from one reading of their ticks (``ticks``)."""
            return {"workers": sum(ticks.values()) / os.sysconf("SC_CLK_TCK"), "redis": redis_cpu(args.redis_url),
                    "threads": background_cpu(workers), "postgres": postgres_cpu()}

        split0 = worker_ticks(workers)
        cpu0 = cpu(split0)
        since = time.time()
        result = run_wrk(wrk, server.base_url + "/", script, args.duration, args.threads, args.connections, skip)
        split1 = worker_ticks(workers)
        cpu1 = cpu(split1)
        result["busiest"] = busiest_share(split0, split1)
        n = max(1, result.get("requests", 1))
        result["cpu_us"] = {name: (cpu1[name] - cpu0[name]) / n * 1e6 for name in cpu0}
        t0 = time.monotonic()
        result["exit_status"] = server.stop(timeout=60)
        result["stop_s"] = time.monotonic() - t0
    finally:
        server.kill()
    result["served"] = dict(read_counts(str(counts)))
    result["responses"] = sum(result["served"].values())
    result["metrics"] = dict(read_metrics(str(counts)))
    result["rows"] = (sql(args.database_url, "SELECT COUNT(*) FROM smartlayer_requestlog") or 0) - rows_before
    result["log"] = server.output()
    if stack == "smartlayer":
        result.update(refusals(args.database_url, since, first_id))
    return result


def train_model(args: argparse.Namespace, workdir: Path) -> tuple[str, list[str]]:
    """Learn a model and the site profile from a generated normal week, as an owner would
    (``train_smartlayer --from-access-log --activate``), into ``args.model_store``; returns a
    summary and that site's five most visited pages (the load then requests pages the profile
    knows — unknown paths would rightly count as odd for the site)."""
    log = workdir / "week.log"
    smart = json.dumps({"TRUSTED_PROXY_COUNT": 1, "MODEL_STORE": args.model_store})
    env = deploy_env(SMARTLAYER_DEPLOY_STACK="smartlayer", SMARTLAYER_DEPLOY_DATABASE_URL=args.database_url,
                     SMARTLAYER_DEPLOY_REDIS_URL=args.redis_url, SMARTLAYER_DEPLOY_KEY_PREFIX=args.key_prefix,
                     SMARTLAYER_DEPLOY_SMART=smart)
    write = ("import django, sys; django.setup()\n"
             "from smartlayer.offline.accesslog import write_combined\n"
             "from smartlayer.sim import generate_normal_week\n"
             "week = generate_normal_week(seed=1, profiled=True)\n"
             "with open(sys.argv[1], 'w') as fp: write_combined(week, fp)\n"
             "seen = {}\n"
             "for r in week:\n"
             "    if r.method == 'GET' and r.status == 200 and r.label == 'human' and not r.query "
             "and r.response_type == 'text/html':\n"
             "        seen[r.path] = seen.get(r.path, 0) + 1\n"
             "print(' '.join(sorted(seen, key=seen.__getitem__, reverse=True)[:5]))\n")
    pages = subprocess.run([sys.executable, "-c", write, str(log)], env=env, check=True, timeout=600,
                           capture_output=True, text=True).stdout.split()
    done = subprocess.run([sys.executable, "-m", "django", "train_smartlayer", "--from-access-log", str(log),
                           "--activate"], env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"train_smartlayer failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    last = [line for line in done.stdout.splitlines() if line.strip()][-1:]
    return f"model: trained on a generated normal week and activated ({' '.join(last)})", pages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=30, help="seconds of measured load per stack")
    parser.add_argument("--warmup", type=int, help="seconds of unmeasured load first (3; --browse: 60, so that "
                                                   "most clients are past the grace period when measured)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--server", default="gunicorn", choices=["gunicorn", "uvicorn"],
                        help="uvicorn: ASGI (tests.deploy.asgi), --workers processes; --worker-class is ignored")
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads-per-worker", type=int, default=1, help="gthread threads per worker")
    parser.add_argument("--clients", type=int, help="distinct X-Forwarded-For addresses (3000: under --browse "
                                                    "a client's page views ~6 s apart at ~1,300 requests/s)")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/smartlayer_bench")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--key-prefix", default="slbench")
    parser.add_argument("--only", default="", help="comma-separated smartlayer middleware class names to keep "
                                                     "(experiments: what each one costs)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="alternate bare and smartlayer this many times; the ratio is the median of the "
                             "rounds' (this machine's speed drifts by ±15 %% over minutes)")
    parser.add_argument("--smart", default="{}", help="JSON merged over the smartlayer stack's SMART_MIDDLEWARE "
                                                       "(experiments; the figures in the README use none)")
    parser.add_argument("--model", action="store_true",
                        help="train and activate a model and site profile first (every feature on)")
    parser.add_argument("--browse", action="store_true",
                        help="clients replay human sessions (pages and assets, human-paced): benign to the model")
    parser.add_argument("--browse-seed", type=int, default=2, help="seed of the week replayed (the model's is 1)")
    parser.add_argument("--browse-pool", type=int, default=300, help="people replayed (the week has 300)")
    args = parser.parse_args()
    args.clients = args.clients or 3000
    args.warmup = args.warmup if args.warmup is not None else 60 if args.browse else 3
    if args.worker_class == "gthread" and args.threads_per_worker == 1:
        args.threads_per_worker = 4

    wrk = require_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="sl-load-"))
    script = workdir / "rotate.lua"
    pages = ["/", "/page/1", "/page/2", "/page/about", "/page/products"]

    prepare_database(args.database_url)
    migrate(deploy_env(SMARTLAYER_DEPLOY_DATABASE_URL=args.database_url))
    sql(args.database_url, "TRUNCATE smartlayer_requestlog, smartlayer_ban, smartlayer_usagecounter")
    clear_redis(args.redis_url, args.key_prefix)
    if args.model:
        args.model_store = str(workdir / "store")
        summary, pages = train_model(args, workdir)
        print(summary)
        if not args.browse:
            print("pages requested (the generated site's most visited):", " ".join(pages))
    args.burst = burst = 0.0
    if args.browse:
        persons, starts, week = week_people(args.browse_seed, args.browse_pool)
        args.burst = burst = week["pool_burst"]
        script.write_text(lua_script(persons, starts, args.clients, args.threads))
        print(f"browse: {len(persons)} people of the normal week of seed {args.browse_seed} replayed by "
              f"{args.clients} clients ({burst:.2f} requests a page view); "
              f"that week's people: {week['burst']:.2f} requests a page view, dwell between page views "
              f"median {week['p50']:.1f} s, mean {week['mean']:.1f} s (p10 {week['p10']:.1f}, p25 {week['p25']:.1f}, "
              f"p75 {week['p75']:.1f}, p90 {week['p90']:.1f}; {week['n']} gaps)")
    else:
        script.write_text(WRK_SCRIPT % {"pool": args.clients, "threads": args.threads, "ua": BROWSER_UA,
                                        "paths": ", ".join(json.dumps(p) for p in pages)})

    server = (f"uvicorn {args.workers} workers (ASGI)" if args.server == "uvicorn" else
              f"gunicorn {args.workers} × {args.worker_class}"
              + (f" ({args.threads_per_worker} threads)" if args.worker_class == "gthread" else ""))
    print(server
          + f" on 127.0.0.1; wrk -t{args.threads} -c{args.connections} -d{args.duration}s after a "
          f"{args.warmup} s warm-up")
    if not args.browse:
        print(f"clients: every request carries X-Forwarded-For from a pool of {args.clients} addresses; the "
              "server trusts one proxy hop (TRUSTED_PROXY_COUNT=1), so the load is many benign clients, not one "
              "flood")
    from redis.utils import HIREDIS_AVAILABLE

    backend = json.loads(args.smart).get("WINDOW_BACKEND", "auto")
    windows = {"auto": "replicated", "replicated": "replicated"}.get(backend, backend)
    how = {"replicated": "windows and bans in worker memory, replicated over Redis pub/sub",
           "redis": "windows and bans in Redis, one round trip per request",
           "local": "windows per process (not shared)"}.get(windows, windows)
    print(f"smartlayer stack: 4 middlewares on RedisCache (WINDOW_BACKEND={backend!r}: {how}; rate-limit "
          "counters in Redis) + PostgreSQL, WatchLog on; "
          f"redis-py parser: {'hiredis' if HIREDIS_AVAILABLE else 'pure Python (pip install hiredis is faster)'}\n")

    rounds: list[dict] = []
    try:
        for n in range(args.rounds):
            results = {}
            if n:  # every round starts as the first did: no bans, counters or windows left by the one before
                sql(args.database_url, "TRUNCATE smartlayer_ban, smartlayer_usagecounter")
                clear_redis(args.redis_url, args.key_prefix)
            for stack in ("bare", "smartlayer"):
                results[stack] = r = bench(stack, args, wrk, script, workdir / f"round-{n}")
                if "rps" not in r:
                    print(f"{stack}: wrk gave no figure:\n{r['raw']}\n{r['log']}")
                    return 1
            rounds.append(results)
    finally:
        clear_redis(args.redis_url, args.key_prefix)

    return report(rounds, args)



if __name__ == "__main__":
    sys.exit(main())
