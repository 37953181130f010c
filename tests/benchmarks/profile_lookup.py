"""Request-path cost of the site profile, measured in one run.

    python tests/benchmarks/profile_lookup.py [--humans 150] [--repeat 3]

Learns a profile from a generated week (telemetry readers and product
clickers included), then walks a generated attack day (every scenario, the
profile ones included) and times, per request, on this machine:

* **profile work per request** — what the detector and the validator ask the
  profile for every request: is the referer the site's own, the endpoint's
  class (the arrival flags), and the parameter and path anomalies — with the
  template memo warm (the common case: paths repeat);
* **the same, cold memo** — every path looked up in the trie for the first
  time (a scanner inventing paths);
* **rate norms** — :meth:`Profile.normal_count` on the last 10 s of a client
  at 50 requests (only paid when a rate rule could fire);
* **parameter shapes** — :func:`request_params` of the request's query and
  body: what the log records for the profile to learn, paid with or without
  a profile.

Prints median and p99 in microseconds; the target for the profile's work is
≤ 15 µs per request.
"""
from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def setup_django() -> None:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(SMART_MIDDLEWARE={"EXEMPT_PATHS": ["/static/"]}, USE_TZ=True)
    django.setup()


def per_item(fn: Callable[[object], object], items: list, repeat: int) -> tuple[float, float]:
    """Median and p99 over items of one call each, in µs (GC paused, like a warm worker)."""
    samples = []
    perf = time.perf_counter
    gc.disable()
    try:
        for _ in range(repeat):
            for item in items:
                t0 = perf()
                fn(item)
                samples.append(perf() - t0)
    finally:
        gc.enable()
    samples.sort()
    return statistics.median(samples) * 1e6, samples[int(len(samples) * 0.99)] * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--humans", type=int, default=150)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    setup_django()

    from smartlayer.profile.core import Profile
    from smartlayer.profile.learn import learn_profile, rows_from_records
    from smartlayer.profile.params import request_params
    from smartlayer.request.context import referer_host
    from smartlayer.sim import DEFAULT_START, generate_attack_day, generate_normal_week

    week = generate_normal_week(seed=1, humans=args.humans, profiled=True)
    t0 = time.perf_counter()
    data = learn_profile(rows_from_records(week), resolver=False)
    learned = time.perf_counter() - t0
    day = generate_attack_day(seed=101, start=DEFAULT_START + 7 * 86400, humans=args.humans, profiled=True)
    requests = [(r.method, r.path, r.referer, request_params(r.query, r.body.encode() if r.body else None,
                                                           r.content_type)) for r in day]
    raw = [(r.query, r.body.encode() if r.body else None, r.content_type) for r in day]
    print(f"profile: {len(data['endpoints'])} endpoints learned from {len(week)} requests in {learned:.1f} s; "
          f"replaying {len(requests)} requests of a day")

    profile = Profile(data, "bench")

    def work(req) -> None:
        method, path, referer, params = req
        if referer:
            profile.same_site(referer_host(referer), "shop.example.com")
        profile.endpoint_class(path)
        profile.anomalies(method, path, params)

    for req in requests:           # warm the memo
        work(req)
    warm = per_item(work, requests, args.repeat)

    def cold(req) -> None:
        profile._memo.clear()
        work(req)

    cold_t = per_item(cold, requests[:20000], 1)
    window = [(0.0, "GET", r.path, 0) for r in day[:50]]
    norms = per_item(lambda w: profile.normal_count(w), [window] * 2000, 1)
    shapes = per_item(lambda a: request_params(*a), raw, 1)

    print(f"{'':34} {'median µs':>10} {'p99 µs':>10}")
    for name, (med, p99) in (("profile work per request (warm)", warm), ("profile work per request (cold)", cold_t),
                             ("rate norms, 50 arrivals", norms), ("parameter shapes (the log's)", shapes)):
        print(f"{name:34} {med:10.2f} {p99:10.2f}")
    print("target: profile work ≤ 15 µs per request —", "met" if warm[0] <= 15 else "NOT met")


if __name__ == "__main__":
    main()
