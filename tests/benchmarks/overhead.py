"""Per-request overhead of the smartlayer stack, measured in one process.

    python tests/benchmarks/overhead.py [--requests 6000] [--clients 600] [--query] [--model]

Two WSGI handlers over the same Django project and trivial view:

* **bare** — Django's usual middleware (security, sessions, common, CSRF,
  auth, messages);
* **smartlayer** — the same plus the four smartlayer middlewares, WatchLog
  writing through its background thread into SQLite.

Requests are sent straight into the handlers (no sockets, so the figure is
smartlayer's cost, not the network's), alternating between the two stacks in
blocks so both see the same machine state, from rotating client IPs.  Prints
median and p99 µs per request for each, the added median, SQL queries per
request on the request thread, and log rows written versus requests sent.

A second pass ("warm clients") sends every request from a few clients that
are past the 20-request grace period, so the rules (and the model, when one is
active) are evaluated on each request.

``--parts MODULE:NAME ...`` also times these callables inside the smartlayer stack, in place (the
request's other work has taken the CPU's caches in between, which a loop over one function never
shows): calls per request and the median call, per pass — e.g.
``smartlayer.ml.runtime:ActiveModel.score smartlayer.ml.runtime:extract
smartlayer.ml.forest:CompiledForest.anomaly_score`` (a name imported by its caller is timed where the
caller reads it).  Each pass also prints the request thread's CPU time per request (median): equal to
the wall time, the thread was not kept waiting (the GIL, the log writer's thread).

``--gc`` also times every garbage collection of the measured passes, by stack (the one handling a
request when it began, or the log writer's thread) and generation (:mod:`overhead_gc`).

``--query``: every request carries a query string of five values, three of them new in each request
(:data:`QUERY_STRING`): the parameters the payload scan reads and the log records, which a bare path
does not have.

``--model`` first trains a model and the site profile on a generated normal
week (as ``train_smartlayer --activate`` would, into a temporary store) so
that every feature of the wave is on: the profile judges each request and the
model scores each warm client's request.  Without it no model is active, as
on a site that has not trained yet.
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from smartlayer import MIDDLEWARE as SMARTLAYER_MIDDLEWARE  # noqa: E402
from tests.benchmarks.overhead_gc import PROBE  # noqa: E402
from tests.benchmarks.overhead_gc import report as gc_report  # noqa: E402
from tests.deploy.stack import DJANGO_BASE_MIDDLEWARE as BASE_MIDDLEWARE  # noqa: E402

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


def configure(db_path: str, redis_url: str | None = None, postgres: dict | None = None,
              store: str | None = None) -> None:
    import django
    from django.conf import settings

    caches = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    if redis_url:
        caches = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url,
                              "KEY_PREFIX": "slbench"}}
    database = postgres or {"ENGINE": "django.db.backends.sqlite3", "NAME": db_path}
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench",
        ALLOWED_HOSTS=["*"],
        USE_TZ=True,
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
                        "django.contrib.messages", "smartlayer"],
        MIDDLEWARE=BASE_MIDDLEWARE + SMARTLAYER_MIDDLEWARE,
        DATABASES={"default": database},
        CACHES=caches,
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        SMART_MIDDLEWARE={"LOG_WRITER": "thread", "RATE_LIMIT_PLANS": {"free": {"/api/": {"per_minute": 10}}},
                          **({"MODEL_STORE": store} if store else {})},
        LOGGING={"version": 1, "disable_existing_loggers": False,
                 "loggers": {"django.request": {"level": "CRITICAL"}}},
    )
    django.setup()


def view(request, rest: str = ""):
    from django.http import HttpResponse

    return HttpResponse("ok")


urlpatterns: list = []


def environ(path: str, ip: str, query: str = "") -> dict:
    return {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query, "SERVER_NAME": "bench",
        "SERVER_PORT": "80", "REMOTE_ADDR": ip, "HTTP_HOST": "bench", "HTTP_USER_AGENT": UA,
        "HTTP_ACCEPT": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9", "HTTP_ACCEPT_ENCODING": "gzip, deflate, br",
        "HTTP_REFERER": "https://bench/page/1?ref=home",
        "wsgi.input": io.BytesIO(b""), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
        "SERVER_PROTOCOL": "HTTP/1.1",
    }


#: ``--query``: the query string every request carries, ``{n}`` the request's number — five values, three
#: of them new in each request (a search box's words, a page, a size), as a shop's listing is asked for.
QUERY_STRING = "q=trail+running+shoes+{n}&page=2&sort=price_asc&size=44.{n}&colour=dark+blue+{n}"
QUERY = ""

#: The pages the benchmark requests; ``--model`` replaces them with the generated site's most visited pages,
#: so that the site profile learned there judges pages it knows rather than unknown paths.
PATHS = ["/", "/page/1", "/page/2", "/products/", "/about/"]


def run(requests: int, clients: int, warm: bool) -> dict:
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection
    from django.test.utils import CaptureQueriesContext, override_settings

    from smartlayer.log.writer import get_writer
    from smartlayer.models import RequestLog

    with override_settings(MIDDLEWARE=BASE_MIDDLEWARE):
        bare = WSGIHandler()
    full = WSGIHandler()

    def start_response(status, headers, exc_info=None):
        start_response.status = status

    paths = PATHS
    times = {"bare": [], "smartlayer": []}
    cpu = {"bare": [], "smartlayer": []}
    thread_ns = time.thread_time_ns
    queries = {"bare": 0, "smartlayer": 0}
    statuses = {"bare": {}, "smartlayer": {}}
    before_rows = RequestLog.objects.count()
    block = 200
    sent_full = 0
    for start in range(0, requests, block):
        for name, handler in (("bare", bare), ("smartlayer", full)):
            with CaptureQueriesContext(connection) as q:
                for i in range(start, min(start + block, requests)):
                    if warm:
                        # clients that are past the grace period but do not flood
                        ip = f"10.9.{(i % clients) // 250}.{(i % clients) % 250}"
                        path = paths[(i // clients) % len(paths)]
                    else:
                        ip = f"10.{(i % clients) // 250}.{(i % clients) % 250}.7"
                        path = paths[i % len(paths)]
                    env = environ(path, ip, QUERY.format(n=i) if QUERY else "")
                    _PARTS.on = name == "smartlayer"
                    PROBE.stack = name
                    c0, t0 = thread_ns(), time.perf_counter_ns()
                    response = handler(env, start_response)
                    b"".join(response)
                    response.close()
                    times[name].append((time.perf_counter_ns() - t0) / 1000)
                    cpu[name].append((thread_ns() - c0) / 1000)
                    _PARTS.on = False
                    PROBE.stack = "between"
                    code = start_response.status.split()[0]
                    statuses[name][code] = statuses[name].get(code, 0) + 1
                    if name == "smartlayer":
                        sent_full += 1
            queries[name] += len(q.captured_queries)
    get_writer().flush(timeout=30)
    written = RequestLog.objects.count() - before_rows
    out = {}
    for name, values in times.items():
        values.sort()
        out[name] = {
            "median": statistics.median(values),
            "p99": values[int(len(values) * 0.99) - 1],
            "queries": queries[name] / len(values),
            "statuses": statuses[name],
            "cpu_median": statistics.median(cpu[name]),
            # the mean too: a young collection every ~20 requests and a full one every few thousand land in
            # a few requests, which the median never shows and a worker's throughput pays for
            "cpu_mean": statistics.fmean(cpu[name]),
        }
    out["added_median"] = out["smartlayer"]["median"] - out["bare"]["median"]
    out["rows"] = (written, sent_full, get_writer().stats["dropped_full"])
    out["parts"] = _PARTS.take(sent_full)
    out["gc"] = PROBE.take()
    return out


class _Parts:
    """``--parts``: callables timed while the smartlayer stack handles a measured request."""

    def __init__(self) -> None:
        self.on = False
        self.calls: dict[str, list[float]] = {}

    def wrap(self, spec: str) -> None:
        import importlib

        module, _, dotted = spec.partition(":")
        owner = importlib.import_module(module)
        *outer, name = dotted.split(".")
        for attr in outer:
            owner = getattr(owner, attr)
        inner = getattr(owner, name)
        samples = self.calls[spec] = []
        clock = time.perf_counter_ns

        def timed(*args, **kwargs):
            if not self.on:
                return inner(*args, **kwargs)
            t0 = clock()
            try:
                return inner(*args, **kwargs)
            finally:
                samples.append((clock() - t0) / 1000)

        setattr(owner, name, timed)

    def take(self, requests: int) -> dict[str, tuple[float, float, float]]:
        """Per callable: calls per request, median and mean µs per call; then forgotten."""
        out = {spec: (len(v) / max(1, requests), statistics.median(v) if v else 0.0,
                      statistics.mean(v) if v else 0.0) for spec, v in self.calls.items()}
        for v in self.calls.values():
            v.clear()
        return out


_PARTS = _Parts()


def report(title: str, r: dict) -> None:
    print(f"\n{title}")
    print(f"{'stack':<12}{'median µs':>11}{'p99 µs':>10}{'SQL/req':>9}  statuses")
    for name in ("bare", "smartlayer"):
        s = r[name]
        print(f"{name:<12}{s['median']:>11.1f}{s['p99']:>10.1f}{s['queries']:>9.3f}  {s['statuses']}")
    written, sent, dropped = r["rows"]
    print(f"added median: {r['added_median']:.1f} µs   ratio: median {r['smartlayer']['median'] / r['bare']['median']:.2f}, "
          f"p99 {r['smartlayer']['p99'] / r['bare']['p99']:.2f}   log rows written {written} of {sent} (dropped {dropped})")
    print(f"request thread CPU, median µs: bare {r['bare']['cpu_median']:.1f}, "
          f"smartlayer {r['smartlayer']['cpu_median']:.1f}; mean µs: bare {r['bare']['cpu_mean']:.1f}, "
          f"smartlayer {r['smartlayer']['cpu_mean']:.1f}")
    for spec, (per_request, median, mean) in r["parts"].items():
        print(f"  {spec}: {per_request:.2f} calls/request, median {median:.1f} µs, mean {mean:.1f} µs a call")
    if PROBE.on:
        gc_report(r["gc"], {name: sum(r[name]["statuses"].values()) for name in ("bare", "smartlayer")})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--clients", type=int, default=600)
    parser.add_argument("--redis", help="run on Django's RedisCache at this URL (e.g. redis://127.0.0.1:6379/14)")
    parser.add_argument("--postgres", help="run on this PostgreSQL database URL (tables are created there)")
    parser.add_argument("--query", action="store_true",
                        help="every request carries a query string of five values, three of them new (QUERY_STRING)")
    parser.add_argument("--model", action="store_true",
                        help="train and activate a model and site profile first (every feature on)")
    parser.add_argument("--gc", action="store_true",
                        help="time every garbage collection of the measured passes, by stack and generation")
    parser.add_argument("--parts", nargs="*", default=[], metavar="MODULE:NAME",
                        help="also time these callables in place, in the smartlayer stack (see the docstring)")
    args = parser.parse_args()
    if args.query:
        global QUERY
        QUERY = QUERY_STRING
    tmp = tempfile.mkdtemp(prefix="sl-bench-")
    postgres = None
    if args.postgres:
        sys.path.insert(0, str(ROOT / "tests"))
        from settings import database_from_url  # the test settings' URL parser

        postgres = database_from_url(args.postgres)
        from tests.benchmarks.load import prepare_database  # creates the database if missing

        try:
            prepare_database(args.postgres)
        except Exception as exc:  # noqa: BLE001 - a clear message, not a traceback
            print(f"cannot use PostgreSQL at {args.postgres}: {exc}", file=sys.stderr)
            return 2
    store = os.path.join(tmp, "store") if args.model else None
    configure(os.path.join(tmp, "bench.sqlite3"), args.redis, postgres, store)
    if args.redis:
        from django.core.cache import cache

        cache.clear()
    from django.core.management import call_command
    from django.urls import path as url

    urlpatterns.extend([url("", view), url("<path:rest>", view)])
    call_command("migrate", verbosity=0)
    if store:
        from smartlayer.ml.runtime import get_active_model, get_active_profile
        from smartlayer.sim import generate_normal_week
        from tests.benchmarks.replay import _train

        week = generate_normal_week(seed=1, profiled=True)
        _train(week, Path(store), "bench")
        seen: dict[str, int] = {}
        for r in week:
            if (r.method == "GET" and r.status == 200 and r.label == "human" and not r.query
                    and r.response_type == "text/html"):
                seen[r.path] = seen.get(r.path, 0) + 1
        PATHS[:] = sorted(seen, key=seen.__getitem__, reverse=True)[:5]
        print("pages requested:", " ".join(PATHS))
        model = get_active_model()
        print(f"model {model.version if model else None} and site profile "
              f"{'active' if get_active_profile() is not None else 'missing'}")
        if model is None or get_active_profile() is None:
            print("the model or the profile did not become active", file=sys.stderr)
            return 2
    for spec in args.parts:
        _PARTS.wrap(spec)
    # warm-up: imports, caches, first-request costs
    run(400, 100, warm=False)
    if args.gc:
        PROBE.install()
        PROBE.on = True
    cold = run(args.requests, args.clients, warm=False)
    report(f"{args.requests} requests from {args.clients} rotating client IPs (anonymous, benign)", cold)
    warm_clients = max(1, args.requests // 2 // 30)
    PROBE.on, on = False, PROBE.on
    run(warm_clients * 21, warm_clients, warm=True)  # take every client past its 20-request grace
    PROBE.take()
    PROBE.on = on
    warm = run(args.requests // 2, warm_clients, warm=True)
    report(f"{args.requests // 2} requests from {warm_clients} clients past the grace period "
           "(rules evaluated on every request)", warm)
    if args.redis or args.postgres:
        print(f"(state on {'Redis' if args.redis else 'local memory'}, log on {'PostgreSQL' if args.postgres else 'SQLite'})")
    ok = all(_meets(r) for r in (cold, warm))
    print(f"\ntarget (issue 17, both passes: median ≤ {TARGET_RATIO} × bare, p99 ≤ {TARGET_P99_RATIO} × bare, "
          f"0 SQL/request, no row lost): {'MET' if ok else 'NOT MET'}")
    return 0 if ok else 1


#: Issue 17's targets for this benchmark: smartlayer's median at most 1.5 × bare Django's (the added
#: median ≤ half a bare request), its p99 at most twice bare's.  (The wave's first target was an
#: absolute 150 µs added, which says nothing once bare Django itself gets faster or slower.)
TARGET_RATIO = 1.5
TARGET_P99_RATIO = 2.0


def _meets(r: dict) -> bool:
    """Whether one pass meets the targets: the ratios, no SQL on the request thread, every row written."""
    bare, smart = r["bare"], r["smartlayer"]
    return (smart["median"] <= TARGET_RATIO * bare["median"] and smart["p99"] <= TARGET_P99_RATIO * bare["p99"]
            and smart["queries"] == 0 and r["rows"][0] == r["rows"][1])


if __name__ == "__main__":
    sys.exit(main())
