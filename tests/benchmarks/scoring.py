"""Request-path cost of the learned model, measured in one run.

    python tests/benchmarks/scoring.py [--trees 100] [--max-samples 256] [--repeat 20000]

Fits an IsolationForest on real feature vectors (generated traffic through
the window replay), compiles it, and times on this machine:

* **compiled, level-wise (NumPy)** — :meth:`CompiledForest.anomaly_score`, the
  runtime scorer: all trees advance together, three levels a step (blocks of
  packed comparisons) down to the leaves;
* **compiled, Python loop** — the same flat arrays as Python lists, walked
  tree by tree in a tight loop (the alternative the runtime did not pick);
* **scikit-learn** — ``IsolationForest.score_samples`` on one row;
* **feature extraction** — :func:`smartlayer.ml.features.extract` on a
  200-event window of a busy normal client, and of an ID enumerator (the
  worst case: every path carries an ID, so the rule's regex runs on each);
* **ActiveModel.score** — extraction + scoring + top features, what the
  detector pays per scored request;
* **Guard.note** — the live guard's count of that request (and, once a
  minute, its judgement);
* **after other work** (``--cold MIB``, 2 by default, 0: left out) — the forest and the extractor again,
  each call preceded (outside the timed part) by a pass over ``MIB`` MiB of other memory.  On the
  request path the rest of the request evicts most of what the scorer used from the CPU's caches: in
  ``overhead.py``'s rotating pass a vector costs the forest 3–4 times what it costs in the tight loop
  above, so this is the figure a table's size (bytes fetched) shows in.

Every vector scored is checked against scikit-learn first (1e-9).  Prints
median and p99 in microseconds.
"""
from __future__ import annotations

import argparse
import array
import gc
import os
import random
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


def timed(fn: Callable[[], object], repeat: int, disturb: Callable[[], object] | None = None) -> tuple[float, float]:
    """Median and p99 of ``repeat`` calls, in µs (GC paused, like a warm worker); ``disturb`` runs
    before each call, untimed (other work that takes the CPU's caches)."""
    for _ in range(min(200, repeat)):
        fn()
    samples = []
    gc.disable()
    try:
        perf = time.perf_counter
        for _ in range(repeat):
            if disturb is not None:
                disturb()
            t0 = perf()
            fn()
            samples.append(perf() - t0)
    finally:
        gc.enable()
    samples.sort()
    return statistics.median(samples) * 1e6, samples[int(len(samples) * 0.99)] * 1e6


class LoopForest:
    """The compiled arrays as Python lists, scored tree by tree (for comparison)."""

    def __init__(self, forest) -> None:
        self.feature = forest.feature.tolist()
        self.threshold = forest.threshold.tolist()
        self.left = forest.left.tolist()
        self.right = forest.right.tolist()
        self.value = forest.value.tolist()
        self.roots = forest.roots.tolist()
        self.denominator = forest.denominator

    def anomaly_score(self, x) -> float:
        x = array.array("f", x).tolist()  # scikit-learn compares float32 inputs
        feature, threshold, left, right, value = self.feature, self.threshold, self.left, self.right, self.value
        total = 0.0
        for node in self.roots:
            f = feature[node]
            while f >= 0:
                node = left[node] if x[f] <= threshold[node] else right[node]
                f = feature[node]
            total += value[node]
        return 2.0 ** (-total / self.denominator)


def window(kind: str):
    """A 200-event snapshot: a busy normal client, an ID enumerator, or a reader on a site profile
    (``"classes"``: page views from the site's links, each with its assets and beacons — every
    class of fs2 present)."""
    from smartlayer.request.facts import FLAG_ASSET, FLAG_NAVIGATED, FLAG_TELEMETRY, arrival_flags
    from smartlayer.state.windows.window import ClientWindow

    rng = random.Random(1)
    win = ClientWindow(200)
    pages = ["/", "/category/shoes/", "/cart/", "/api/stock/", "/search/", "/account/"]
    pages += [f"/products/{i}/" for i in rng.sample(range(5000), 40)]
    t = 1.7e9
    snap = None
    for i in range(260):
        extra = 0
        if kind == "classes":
            t += rng.expovariate(1 / 2.5)
            ua = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"
            r = rng.random()
            if r < 0.3:
                path, extra = rng.choice(pages), FLAG_NAVIGATED
            elif r < 0.6:
                path, extra = f"/media/products/{rng.randrange(5000)}-1.jpg", FLAG_ASSET | FLAG_NAVIGATED
            else:
                path, extra = "/t/collect/", FLAG_TELEMETRY | FLAG_NAVIGATED
        elif kind == "normal":
            t += rng.expovariate(1 / 2.5)
            path = rng.choice(pages)
            ua = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"
        else:
            t += 0.25
            path = f"/users/{1000 + i}"
            ua = "python-requests/2.32"
        method = "POST" if rng.random() < 0.05 else "GET"
        flags = arrival_flags(authenticated=False, user_agent=ua, path=path) | extra
        snap = win.arrive((t, method, path, flags), 600)
        win.complete((t, 404 if rng.random() < 0.05 else 200, rng.uniform(5, 80), False))
    assert len(snap.arrivals) == 200 and len(snap.outcomes) == 200
    return snap


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    from smartlayer.conf import DEFAULTS

    shipped = DEFAULTS["MODEL_PARAMS"]   # the forest a site trains by default, not scikit-learn's defaults
    parser.add_argument("--trees", type=int, default=int(shipped["n_estimators"]))
    parser.add_argument("--max-samples", type=int, default=int(shipped["max_samples"]))
    parser.add_argument("--repeat", type=int, default=20000)
    parser.add_argument("--cold", type=float, default=2.0, metavar="MIB",
                        help="also time the forest and the extractor after a pass over this many MiB (0: not)")
    args = parser.parse_args(argv)
    setup_django()

    import numpy as np
    from sklearn.ensemble import IsolationForest

    from smartlayer.ml.features import extract
    from smartlayer.ml.forest import CompiledForest
    from smartlayer.ml.runtime import ActiveModel
    from smartlayer.ml.training.frames import frame_to_vectors, records_frame
    from smartlayer.ml.training.model import WindowAnomalyModel
    from smartlayer.sim import generate_attack_day, generate_normal_week

    X_train, _ = frame_to_vectors(records_frame(generate_normal_week(1, humans=100)))
    X_test, _ = frame_to_vectors(records_frame(generate_attack_day(2, humans=50)))
    est = IsolationForest(n_estimators=args.trees, max_samples=args.max_samples, random_state=0).fit(X_train)
    forest = CompiledForest.from_estimator(est)
    loop = LoopForest(forest)
    rows = [X_test[i].tolist() for i in np.random.default_rng(0).choice(len(X_test), 2000, replace=False)]
    ref = -est.score_samples(np.array(rows))
    assert max(abs(forest.anomaly_score(r) - s) for r, s in zip(rows, ref, strict=True)) < 1e-9
    assert max(abs(loop.anomaly_score(r) - s) for r, s in zip(rows, ref, strict=True)) < 1e-9

    it = iter(range(10**12))

    def nxt():
        return rows[next(it) % len(rows)]

    results: list[tuple[str, float, float]] = []
    results.append(("compiled, level-wise NumPy (runtime)", *timed(lambda: forest.anomaly_score(nxt()), args.repeat)))
    results.append(("compiled, Python loop over lists", *timed(lambda: loop.anomaly_score(nxt()), args.repeat)))
    arrays = [np.array([r]) for r in rows[:500]]
    it2 = iter(range(10**12))
    results.append(("scikit-learn score_samples, 1 row",
                    *timed(lambda: est.score_samples(arrays[next(it2) % 500]), max(200, args.repeat // 40))))
    normal, enum = window("normal"), window("enumeration")
    results.append(("extract(), 200-event busy normal window", *timed(lambda: extract(normal), args.repeat)))
    results.append(("extract(), 200-event enumerator window", *timed(lambda: extract(enum), args.repeat // 4)))
    classes = window("classes")
    results.append(("extract(), 200-event reader: pages, assets, beacons", *timed(lambda: extract(classes), args.repeat)))
    model = WindowAnomalyModel(n_estimators=args.trees, max_samples=args.max_samples, random_state=0).fit(X_train)
    stats = model.feature_stats()
    active = ActiveModel("bench", model.compiled_, {"threshold": model.threshold_, "feature_stats": stats})
    results.append(("ActiveModel.score (extract+score+top 3), normal",
                    *timed(lambda: active.score(normal), args.repeat)))
    results.append(("ActiveModel.score (extract+score+top 3), reader",
                    *timed(lambda: active.score(classes), args.repeat)))
    from smartlayer.ml.guard import Guard

    guard = Guard()
    keys = [f"ip:198.51.100.{i}" for i in range(200)]
    clock = iter(range(10**12))

    def note():  # 200 clients, 50 requests a second: a minute closes every 3,000 calls
        n = next(clock)
        return guard.note(active, keys[n % 200], n % 50 == 0, 1_700_000_000.0 + n / 50)

    results.append(("live guard: Guard.note per scored request", *timed(note, args.repeat)))
    if args.cold > 0:
        other = np.ones(int(args.cold * (1 << 20)), dtype=np.uint8)
        cold_repeat = max(200, args.repeat // 10)
        results.append((f"compiled, level-wise NumPy, after {args.cold:g} MiB of other work",
                        *timed(lambda: forest.anomaly_score(nxt()), cold_repeat, other.sum)))
        results.append((f"extract(), reader, after {args.cold:g} MiB of other work",
                        *timed(lambda: extract(classes), cold_repeat, other.sum)))

    print(f"\n{args.trees} trees, max_samples={args.max_samples}, {forest.n_nodes:,} nodes, depth {forest.max_depth}; "
          f"python {sys.version.split()[0]}, numpy {np.__version__}, {os.cpu_count()} CPUs")
    width = max(len(r[0]) for r in results)
    print(f"{'':{width}}  {'median µs':>10}  {'p99 µs':>10}")
    for name, med, p99 in results:
        print(f"{name:{width}}  {med:10.1f}  {p99:10.1f}")
    sk = results[2][1]
    print(f"\ncompiled single-vector scoring is {sk / results[0][1]:.0f}x faster than scikit-learn's per-row call")


if __name__ == "__main__":
    main()
