"""Choose the detector by measurement: IsolationForest against LocalOutlierFactor (novelty mode).

    python training/compare_detectors.py [--seeds 7 8 9] [--humans 300] [--lof-train 20000] [--automation]

For each held-out seed (7-12 were never looked at while tuning): train both detectors on a
generated normal week, score a generated attack day of another seed (``generate_attack_day``,
seed + 100) — the same vectors for both (``frame_to_vectors``, the request path's features).
Measured, pooled over the seeds:

* **AUC**, hostile vs benign vectors (the distributed low-and-slow attack left out: its
  addresses send 1-6 requests, below the grace period, and are never scored);
* **recall at the threshold** each detector sets the way the product does (the
  ``1 - contamination`` quantile of its training scores, contamination 0.01), and the share of
  benign vectors above it;
* per client: hostile clients with at least 5 vectors above the threshold, and people with
  any, 5 or 15 (what the sustained-anomaly rule builds on: 5 flags with a rule agreeing, 15 alone);
* the cost: fit seconds and microseconds to score one vector (scikit-learn, one row).

LocalOutlierFactor is distance-based, so its vectors are scaled by the training median and IQR
(the scale the runtime already keeps for its explanations), and it is fitted on a uniform
sample of ``--lof-train`` training vectors (its memory and query time grow with it).
IsolationForest uses the product's parameters on all vectors, unscaled (trees do not care).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: IsolationForest as MODEL_PARAMS ships it.
IF_PARAMS = {"n_estimators": 100, "max_samples": 256, "contamination": 0.01, "random_state": 42}
LOF_PARAMS = {"n_neighbors": 35, "novelty": True, "contamination": 0.01}


def auc(benign, hostile) -> float:
    """Probability a hostile vector scores above a benign one (ties count half)."""
    import numpy as np

    scores = np.concatenate([benign, hostile])
    order = scores.argsort(kind="stable")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    # average ranks of ties
    _, inv, counts = np.unique(scores, return_inverse=True, return_counts=True)
    sums = np.bincount(inv, weights=ranks)
    ranks = (sums / counts)[inv]
    n_b, n_h = len(benign), len(hostile)
    return float((ranks[n_b:].sum() - n_h * (n_h + 1) / 2) / (n_b * n_h))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 8, 9])
    parser.add_argument("--humans", type=int, default=300)
    parser.add_argument("--lof-train", type=int, default=20000)
    parser.add_argument("--automation", action="store_true",
                        help="score the automation day (people, moderate and advanced browser bots) with the "
                             "week's site profile, instead of the attack day")
    args = parser.parse_args(argv)
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    import numpy as np
    import pandas as pd
    from sklearn.ensemble import IsolationForest
    from sklearn.neighbors import LocalOutlierFactor

    from smartlayer.labels import BENIGN
    from smartlayer.ml.training.frames import frame_to_vectors, records_frame
    from smartlayer.profile.core import Profile
    from smartlayer.profile.learn import learn_profile, rows_from_records
    from smartlayer.sim import DEFAULT_START, generate_attack_day, generate_automation_day, generate_normal_week

    pooled: dict[str, dict[str, list]] = {"IsolationForest": {}, "LocalOutlierFactor": {}}
    for seed in args.seeds:
        if args.automation:
            # the model's day: people and browser-automation bots, with the site profile of the week
            week = generate_normal_week(seed=seed, humans=args.humans, profiled=True)
            profile = Profile(learn_profile(lambda week=week: rows_from_records(week)))
            X_train, _ = frame_to_vectors(records_frame(week), profile=profile)
            X_test, meta = frame_to_vectors(records_frame(generate_automation_day(seed + 100)), profile=profile)
        else:
            X_train, _ = frame_to_vectors(records_frame(generate_normal_week(seed=seed, humans=args.humans)))
            X_test, meta = frame_to_vectors(records_frame(generate_attack_day(seed=seed + 100,
                                                                              start=DEFAULT_START + 7 * 86400)))
        labels = meta["label"].fillna("").astype(str).to_numpy()
        keep = labels != "distributed"
        X_test, labels, clients = X_test[keep], labels[keep], meta["client_key"].to_numpy()[keep]
        benign = np.isin(labels, list(BENIGN))
        med = np.median(X_train, axis=0)
        q25, q75 = np.percentile(X_train, [25, 75], axis=0)
        p01, p99 = np.percentile(X_train, [1, 99], axis=0)
        scale = np.where(q75 - q25 > 0, q75 - q25, np.where(p99 - p01 > 0, p99 - p01, 1.0))
        rng = np.random.default_rng(seed)
        sample = rng.choice(len(X_train), size=min(args.lof_train, len(X_train)), replace=False)

        for name in pooled:
            t0 = time.perf_counter()
            if name == "IsolationForest":
                det = IsolationForest(**IF_PARAMS).fit(X_train)
                fit_s = time.perf_counter() - t0
                train_scores = -det.score_samples(X_train)
                center, unit = np.zeros_like(med), np.ones_like(scale)
            else:
                det = LocalOutlierFactor(**LOF_PARAMS).fit((X_train[sample] - med) / scale)
                fit_s = time.perf_counter() - t0
                train_scores = -det.negative_outlier_factor_
                center, unit = med, scale

            def score(X, det=det, center=center, unit=unit):
                return -det.score_samples((X - center) / unit)
            threshold = float(np.quantile(train_scores, 0.99))
            s = score(X_test)
            t0 = time.perf_counter()
            for row in X_test[:200]:
                score(row[None, :])
            one_us = (time.perf_counter() - t0) / 200 * 1e6
            above = s >= threshold
            frame = pd.DataFrame({"client": clients, "benign": benign, "above": above, "label": labels})
            per_client = frame.groupby(["client", "benign", "label"])["above"].sum().reset_index()
            hostile_c = per_client[~per_client["benign"]]
            people_c = per_client[per_client["label"] == "human"]
            acc = pooled[name]
            for key, value in (("auc", auc(s[benign], s[~benign])), ("recall", above[~benign].mean()),
                               ("benign_above", above[benign].mean()),
                               ("hostile_clients", (int((hostile_c["above"] >= 5).sum()), len(hostile_c))),
                               ("people_any", (int((people_c["above"] > 0).sum()), len(people_c))),
                               ("people_5", (int((people_c["above"] >= 5).sum()), len(people_c))),
                               ("people_15", (int((people_c["above"] >= 15).sum()), len(people_c))),
                               ("fit_s", fit_s), ("one_us", one_us)):
                acc.setdefault(key, []).append(value)
            print(f"seed {seed} {name:<18} AUC {acc['auc'][-1]:.3f} recall {acc['recall'][-1]:.1%} "
                  f"benign above {acc['benign_above'][-1]:.2%} hostile clients ≥5 flags "
                  f"{acc['hostile_clients'][-1][0]}/{acc['hostile_clients'][-1][1]} people with a flag "
                  f"{acc['people_any'][-1][0]}/{acc['people_any'][-1][1]} (≥5: {acc['people_5'][-1][0]}, ≥15: "
                  f"{acc['people_15'][-1][0]}) fit {fit_s:.1f}s, {one_us:.0f} µs/vector",
                  flush=True)

    print(f"\npooled over seeds {' '.join(map(str, args.seeds))}\n")
    print("| detector | AUC (mean) | recall at threshold | benign vectors above | hostile clients ≥ 5 flags | "
          "people with a flag / ≥ 5 / ≥ 15 | fit (s) | score one vector (scikit-learn) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, acc in pooled.items():
        hc, pc, p5, p15 = ([sum(x) for x in zip(*acc[k], strict=True)]
                           for k in ("hostile_clients", "people_any", "people_5", "people_15"))
        print(f"| {name} | {np.mean(acc['auc']):.3f} | {np.mean(acc['recall']):.1%} | "
              f"{np.mean(acc['benign_above']):.2%} | {hc[0]}/{hc[1]} | {pc[0]} / {p5[0]} / {p15[0]} of {pc[1]} | "
              f"{np.mean(acc['fit_s']):.1f} | {np.median(acc['one_us']):,.0f} µs |")


if __name__ == "__main__":
    main()
