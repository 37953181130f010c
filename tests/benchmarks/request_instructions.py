"""Instructions per request on the request thread, for callgrind: ``overhead.py``'s project on a fake clock.

    python tests/benchmarks/request_instructions.py --store DIR --prepare      # train once, natively
    valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file=OUT \\
        python tests/benchmarks/request_instructions.py --store DIR --scenario model-warm [--part extract]

Wall-clock time says little on a loaded machine; counted instructions do not move with the load.
The requests go straight into ``overhead.py``'s WSGI handlers (LocMem cache, SQLite log written by
WatchLog's thread), and ``time.time`` is a fake clock that advances a fixed step per request, so a
run under valgrind sees the pace it would at full speed and every run decides the same.  Collection
is switched on (``CALLGRIND_TOGGLE_COLLECT``, through a tiny helper compiled with the system's C
compiler) for the measured requests only, on the request thread; the log writer's thread is left
out.  Divide the output's ``totals`` by the requests (the script prints the figure when it reads its
own output file).  ``--part`` switches collection on inside one function only (the features, the
forest, the explanation, the detector), to say where the instructions go; ``--wrap MODULE:NAME`` does
the same for any callable (the context, the policy, the log row).

Scenarios (``--requests`` measured, after a warm-up that is not counted):

* ``bare``: Django alone, the same requests;
* ``warm``: no model, ``--clients`` clients past their grace period, each request 5 s apart per client;
* ``model-warm``: the same with ``--prepare``'s model and site profile active; the sustained
  thresholds are out of reach (every request scored, none refused for the model alone);
* ``rotating``: no model, 600 rotating clients inside their grace period (``overhead.py``'s first pass);
* ``model-rotating``: the model, 600 rotating clients inside their grace period;
* ``model-fast``: the model with default settings, ``--clients`` clients at 50 requests a second
  each (``overhead.py``'s warm pass: they cross their grace period, are flagged and banned, and their
  next requests are refused on the ban: Django's ``timezone.now`` follows the fake clock too).

Also prints the decisions (status counts) so that two commits can be compared for identical outcomes.
"""
from __future__ import annotations

import argparse
import ctypes
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks import overhead  # noqa: E402

_HELPER = r"""
#include <valgrind/callgrind.h>
void sl_toggle(void) { CALLGRIND_TOGGLE_COLLECT; }
"""


def _toggle() -> ctypes.CFUNCTYPE:
    """``CALLGRIND_TOGGLE_COLLECT`` callable from Python (a no-op outside valgrind)."""
    tmp = Path(tempfile.mkdtemp(prefix="sl-cg-"))
    (tmp / "t.c").write_text(_HELPER)
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", str(tmp / "t.so"), str(tmp / "t.c")], check=True)
    return ctypes.CDLL(str(tmp / "t.so")).sl_toggle


class FakeClock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def _wrap(owner: object, name: str, toggle, gate: list[bool]) -> None:
    inner = getattr(owner, name)

    def wrapped(*args, **kwargs):
        if not gate[0]:
            return inner(*args, **kwargs)
        toggle()
        try:
            return inner(*args, **kwargs)
        finally:
            toggle()

    setattr(owner, name, wrapped)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, help="model store directory (trained by --prepare)")
    parser.add_argument("--prepare", action="store_true", help="train the model and the profile into --store, then exit")
    parser.add_argument("--scenario", default="model-warm", choices=("bare", "warm", "rotating", "model-warm", "model-rotating",
                                                                      "model-fast"))
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--part", choices=("extract", "forest", "top_features", "score", "inspect"))
    parser.add_argument("--wrap", metavar="MODULE:NAME",
                        help="like --part, any callable: smartlayer.request.context:begin, "
                             "smartlayer.policy.enforce:decide, smartlayer.log.writer:LogWriter.put (a name "
                             "imported by its caller is wrapped where the caller reads it: "
                             "smartlayer.detectors.behaviour.detector:evaluate); each call adds the switch's cost "
                             "(measure a trivial one, smartlayer.log.writer:get_writer, to subtract it)")
    args = parser.parse_args()

    store = Path(args.store)
    model = args.scenario.startswith("model") or args.prepare
    tmp = tempfile.mkdtemp(prefix="sl-cg-")
    overhead.configure(os.path.join(tmp, "bench.sqlite3"), store=str(store) if model else None)
    from django.conf import settings
    from django.core.management import call_command
    from django.urls import path as url

    smart = dict(settings.SMART_MIDDLEWARE)
    if args.scenario == "model-warm":
        # every request scored and, when above the threshold, flagged; none refused on the model alone
        smart.update(MODEL_SUSTAINED_ALONE=10**9, MODEL_CORROBORATED_COUNT=0, MODEL_TELL_COUNT=0)
    from django.test.utils import override_settings

    override_settings(SMART_MIDDLEWARE=smart).enable()   # through setting_changed: read at call time
    overhead.urlpatterns.extend([url("", overhead.view), url("<path:rest>", overhead.view)])
    call_command("migrate", verbosity=0)
    pages_file = store / "bench-pages.txt"   # the generated site's most visited pages, kept with the store
    if args.prepare:
        from smartlayer.sim import generate_normal_week
        from tests.benchmarks.replay import _train

        week = generate_normal_week(seed=1, profiled=True)
        _train(week, store, "bench")
        seen: dict[str, int] = {}
        for r in week:
            if (r.method == "GET" and r.status == 200 and r.label == "human" and not r.query
                    and r.response_type == "text/html"):
                seen[r.path] = seen.get(r.path, 0) + 1
        pages_file.write_text("\n".join(sorted(seen, key=seen.__getitem__, reverse=True)[:5]))
        return 0
    paths = pages_file.read_text().split() if model else overhead.PATHS

    clock = FakeClock(1_800_000_000.0)
    time.time = clock   # every module reads time.time() through the module: one fake clock for all
    from datetime import UTC, datetime

    from django.utils import timezone

    # and Django's clock too: a ban's end (timezone.now() + BAN_TTL) is compared with time.time() when the
    # client comes back; on two clocks every ban had "expired" and model-fast banned its clients again on
    # every request, measuring the making of a ban (its row, its log line) instead of a banned client's refusal
    timezone.now = lambda: datetime.fromtimestamp(clock.now, tz=UTC)

    from django.core.handlers.wsgi import WSGIHandler

    if model:
        from smartlayer.ml.runtime import get_active

        active, profile = get_active()
        if active is None or profile is None:
            print("the model or the profile is not active (run --prepare first)", file=sys.stderr)
            return 2
    if args.scenario == "bare":
        with override_settings(MIDDLEWARE=overhead.BASE_MIDDLEWARE):
            handler = WSGIHandler()
    else:
        handler = WSGIHandler()

    toggle = _toggle()
    gate = [False]
    if args.wrap:
        import importlib

        module, _, dotted = args.wrap.partition(":")
        owner = importlib.import_module(module)
        *outer, name = dotted.split(".")
        for attr in outer:
            owner = getattr(owner, attr)
        _wrap(owner, name, toggle, gate)
    elif args.part:
        from smartlayer.detectors.behaviour.detector import Detector
        from smartlayer.ml import runtime
        from smartlayer.ml.forest import CompiledForest

        owner, name = {"extract": (runtime, "extract"), "forest": (CompiledForest, "anomaly_score"),
                       "top_features": (runtime.ActiveModel, "top_features"),
                       "score": (runtime.ActiveModel, "score"), "inspect": (Detector, "inspect")}[args.part]
        _wrap(owner, name, toggle, gate)

    def start_response(status, headers, exc_info=None):
        start_response.status = status

    statuses: dict[str, int] = {}
    rotating = args.scenario in ("rotating", "model-rotating")
    clients = 600 if rotating else args.clients
    step = (0.02 if args.scenario == "model-fast" else 5.0) / clients   # each client's requests 5 s (20 ms) apart

    def send(i: int, measured: bool) -> None:
        if rotating:
            ip = f"10.{(i % clients) // 250}.{(i % clients) % 250}.7"
            path = paths[i % len(paths)]
        else:
            ip = f"10.9.{(i % clients) // 250}.{(i % clients) % 250}"
            path = paths[(i // clients) % len(paths)]
        env = overhead.environ(path, ip)
        clock.now += step
        whole = measured and not (args.part or args.wrap)
        if whole:
            toggle()
        response = handler(env, start_response)
        b"".join(response)
        response.close()
        if whole:
            toggle()
        if measured:
            code = start_response.status.split()[0]
            statuses[code] = statuses.get(code, 0) + 1

    # warm-up: imports, first-request costs, and (not rotating) every client past its grace period
    warm = clients * 22 if not rotating else 400
    for i in range(warm):
        send(i, False)
    gate[0] = True
    for i in range(warm, warm + args.requests):
        send(i, True)
    gate[0] = False
    print(f"scenario {args.scenario} part {args.wrap or args.part or '-'}: {args.requests} requests, "
          f"statuses {statuses}")
    from smartlayer.log.writer import get_writer

    get_writer().flush(timeout=60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
