"""Training time and peak memory on 1M and 5M RequestLog-like rows.

    python tests/benchmarks/training.py [--rows 1000000 5000000] [--clients-per-million 4000]

For each size, in a fresh child process (so peaks do not mix):

1. generate a DataFrame with the columns ``requestlog_frame`` returns —
   vectorised NumPy, no database: ``--rows`` requests from clients with
   heavy-tailed volumes and rates over a week, Zipf-popular paths (a share of
   them with IDs), a few methods, statuses, user agents and signed-in users;
2. run the training pipeline on it exactly as ``train_smartlayer`` does after
   loading (:func:`smartlayer.ml.training.train.fit_frame` with the default
   ``MODEL_PARAMS`` and ``MODEL_MAX_SAMPLES``), then write the version to a
   temporary model store.

Prints rows, generation time, DataFrame size, training wall time (replay and
vectors / fit / total including the store write), vectors kept, and the
process's peak RSS (``resource.getrusage``, which includes the DataFrame and
the interpreter) next to the RSS before training started.  Targets on the
reference 2-core machine: 5M rows in ≤ 120 s and ≤ 2 GB.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

WEEK = 7 * 86400.0
START = 1_704_067_200.0


def rss_mb() -> float:
    """Current resident set size (Linux /proc), MB."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def generate_frame(n_rows: int, n_clients: int, seed: int = 0):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    # heavy-tailed volume per client: most modest, a few very busy
    weights = rng.pareto(1.3, n_clients) + 0.05
    counts = np.maximum(1, np.floor(weights / weights.sum() * n_rows)).astype(np.int64)
    counts[np.argmax(counts)] += n_rows - counts.sum()
    counts = np.maximum(counts, 1)
    n = int(counts.sum())
    client = np.repeat(np.arange(n_clients), counts)

    # arrivals: per-client mean gap (0.5 s … 30 min), exponential gaps, bursty sessions
    mean_gap = np.exp(rng.uniform(np.log(0.5), np.log(1800.0), n_clients))
    gaps = rng.exponential(1.0, n) * mean_gap[client]
    gaps *= np.where(rng.random(n) < 0.02, 40.0, 1.0)  # occasional long pauses
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    csum = np.cumsum(gaps)
    ts = START + rng.uniform(0, WEEK / 2, n_clients)[client] + csum - (csum[starts] - gaps[starts])[client]

    # paths: a Zipf-popular catalogue, a third of it with numeric IDs
    fixed = [f"/category/{c}/" for c in range(60)] + ["/", "/cart/", "/search/", "/account/", "/api/stock/",
                                                       "/login/", "/checkout/", "/api/orders/"]
    vocab = np.array(fixed + [f"/products/{i}/" for i in range(6000)] + [f"/api/products/{i}/" for i in range(2000)],
                     dtype=object)
    ranks = rng.zipf(1.3, n) % len(vocab)
    path = vocab[ranks]

    methods = np.array(["GET", "POST", "HEAD", "PUT"], dtype=object)
    method = methods[rng.choice(4, n, p=[0.91, 0.06, 0.025, 0.005])]
    statuses = np.array([200, 304, 302, 404, 403, 500], dtype=np.int64)
    status = statuses[rng.choice(6, n, p=[0.86, 0.06, 0.04, 0.03, 0.008, 0.002])]
    agents = np.array(["Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
                       "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Safari/604.1",
                       "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0 Safari/537.36",
                       "python-requests/2.32.3", "Googlebot/2.1 (+http://www.google.com/bot.html)"], dtype=object)
    ua = agents[rng.choice(5, n_clients, p=[0.35, 0.3, 0.3, 0.03, 0.02])][client]
    signed_in = rng.random(n_clients) < 0.3
    keys = np.array([f"u:{i}" if signed_in[i] else f"ip:10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"
                     for i in range(n_clients)], dtype=object)
    return pd.DataFrame({
        "ts": ts, "client_key": keys[client], "method": method, "path": path, "status_code": status,
        "response_time_ms": np.round(rng.lognormal(3.2, 0.8, n), 2), "user_agent": ua,
        "authenticated": signed_in[client], "was_blocked": np.zeros(n, dtype=bool),
    })


def one(n_rows: int, clients_per_million: int) -> dict:
    import django
    from django.conf import settings

    store = tempfile.mkdtemp(prefix="sl-bench-store-")
    settings.configure(SMART_MIDDLEWARE={"MODEL_STORE": store}, USE_TZ=True)
    django.setup()
    from smartlayer.conf import sl_settings
    from smartlayer.ml.store import ModelStore
    from smartlayer.ml.training.train import fit_frame, new_version_name

    n_clients = max(100, n_rows * clients_per_million // 1_000_000)
    t0 = time.perf_counter()
    df = generate_frame(n_rows, n_clients)
    gen_s = time.perf_counter() - t0
    df_mb = df.memory_usage(index=True).sum() / 2**20
    rss_before = rss_mb()

    t0 = time.perf_counter()
    try:
        out = fit_frame(df, min_samples=int(sl_settings.MODEL_MIN_SAMPLES))
        fitted_s = time.perf_counter() - t0
        ModelStore(store).save(new_version_name(), estimator=out.model.forest_, forest=out.model.compiled_,
                               manifest=out.manifest)
        total_s = time.perf_counter() - t0
    finally:
        shutil.rmtree(store, ignore_errors=True)
    m = out.manifest["metrics"]
    return {
        "rows": len(df), "clients": int(df["client_key"].nunique()), "generate_s": round(gen_s, 1),
        "frame_mb": round(df_mb), "rss_before_mb": round(rss_before), "vectors": m["vectors"],
        "sample_every": m["sample_every"], "vectors_s": m["seconds"]["vectors"], "fit_s": m["seconds"]["fit"],
        "train_s": round(fitted_s, 1), "total_s": round(total_s, 1), "peak_mb": round(peak_mb()),
        "threshold": round(out.manifest["threshold"], 4),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--clients-per-million", type=int, default=4000)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(one(args.child, args.clients_per_million)))
        return
    results = []
    for n in args.rows:
        proc = subprocess.run([sys.executable, __file__, "--child", str(n),
                               "--clients-per-million", str(args.clients_per_million)],
                              capture_output=True, text=True, check=True)
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(f"done {n:,} rows", file=sys.stderr)
    cols = [("rows", "rows"), ("clients", "clients"), ("generate_s", "gen s"), ("frame_mb", "frame MB*"),
            ("vectors", "vectors"), ("sample_every", "every"), ("vectors_s", "replay+vectors s"),
            ("fit_s", "fit+eval s"), ("total_s", "train total s"), ("rss_before_mb", "RSS before MB"),
            ("peak_mb", "peak RSS MB")]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print("  ".join(f"{label:>16}" for _, label in cols))
    for r in results:
        print("  ".join(f"{r[key]:>16,}" if isinstance(r[key], int) else f"{r[key]:>16}" for key, _ in cols))
    print("* shallow size (string cells are shared objects); peak RSS is the whole process")


if __name__ == "__main__":
    main()
