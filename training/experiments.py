"""Experiments behind the model's design choices, reproducible on generated traffic.

    python training/experiments.py [--humans 100] [--seeds 0 1] [--quick]

Train on a generated normal week of a site; measure on (a) the *next* week of
the same site (benign: how much of it is flagged — the false-positive rate an
operator will see) and (b) two generated attack days (how many vectors and
clients of each hostile scenario are flagged).  Variants:

* **scaling** — feature set fs1 as shipped (raw counts) versus the same
  vectors with ``log1p`` applied to the count features, as the first draft had;
* **max_samples** — 256 (the MODEL_PARAMS default) versus 1024;
* **contamination** — 0.003 / 0.005 / 0.01: the threshold's quantile.

The variants share the vectors (a transform is applied to the columns), so
the comparison isolates the modelling choice.  Results are summarised in
``training/README.md``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

COUNT_FEATURES = ("count_10s", "count_60s", "count_10min", "count_1h", "count_24h", "distinct_paths_60s",
                  "sequential_run_60s", "sensitive_hits")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--humans", type=int, default=100)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="random_state of the forests")
    parser.add_argument("--quick", action="store_true", help="fewer variants")
    args = parser.parse_args(argv)

    import django
    from django.conf import settings

    settings.configure(SMART_MIDDLEWARE={"EXEMPT_PATHS": ["/static/"]}, USE_TZ=True)
    django.setup()
    import numpy as np
    import pandas as pd

    from smartlayer.labels import BENIGN
    from smartlayer.ml.features import FEATURE_NAMES
    from smartlayer.ml.training.frames import frame_to_vectors, records_frame
    from smartlayer.ml.training.model import WindowAnomalyModel
    from smartlayer.sim import DEFAULT_START, generate, generate_attack_day

    week = 7 * 86400
    history = generate(start=DEFAULT_START, duration=2 * week, seed=21, humans=args.humans,
                       scenarios={"api_client": max(1, args.humans // 80), "crawler": max(1, args.humans // 80)})
    X_all, meta_all = frame_to_vectors(records_frame(history))
    second = (meta_all["ts"] >= DEFAULT_START + week).to_numpy()
    X_train, X_next = X_all[~second], X_all[second]
    days = [records_frame(generate_attack_day(s, start=DEFAULT_START + (9 + i) * 86400, humans=args.humans // 2))
            for i, s in enumerate((3, 7))]
    parts = [frame_to_vectors(d) for d in days]
    X_att = np.vstack([p[0] for p in parts])
    labels = np.concatenate([p[1]["label"].to_numpy() for p in parts])
    clients = np.concatenate([p[1]["client_key"].to_numpy() + f"#{i}" for i, p in enumerate(parts)])
    benign = BENIGN
    hostile_labels = sorted(set(labels) - benign)
    print(f"train {len(X_train):,} vectors (week 1), benign hold-out {len(X_next):,} (week 2), "
          f"attack days {len(X_att):,}\n")

    cols = [FEATURE_NAMES.index(n) for n in COUNT_FEATURES]

    def logged(X: np.ndarray) -> np.ndarray:
        Y = X.copy()
        Y[:, cols] = np.log1p(Y[:, cols])
        return Y

    variants = [("raw counts (fs1)", lambda X: X), ("log1p counts", logged)]
    grid = [(256, 0.005), (1024, 0.005)] if args.quick else \
        [(256, 0.003), (256, 0.005), (256, 0.01), (1024, 0.005), (1024, 0.01)]
    rows = []
    for vname, tf in variants:
        for max_samples, contamination in grid:
            for seed in args.seeds:
                m = WindowAnomalyModel(max_samples=max_samples, contamination=contamination,
                                       random_state=seed).fit(tf(X_train))
                flagged_next = float((m.anomaly_scores(tf(X_next)) >= m.threshold_).mean())
                s = m.anomaly_scores(tf(X_att))
                frame = pd.DataFrame({"label": labels, "client": clients, "flag": s >= m.threshold_, "s": s})
                row = {"scaling": vname, "max_samples": max_samples, "contam.": contamination, "seed": seed,
                       "threshold": round(m.threshold_, 3), "next week flagged": round(flagged_next, 4),
                       "attack-day benign flagged": round(float(frame[frame.label.isin(benign)].flag.mean()), 4)}
                med = frame.groupby(["label", "client"]).s.median()
                for label in hostile_labels:
                    row[label] = (f"{frame[frame.label == label].flag.mean():.0%}/"
                                  f"{(med[label] >= m.threshold_).mean():.0%}")
                rows.append(row)
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 250, "display.max_columns", 40):
        print("hostile columns: share of the scenario's vectors flagged / share of its clients whose median "
              "score is above the threshold\n")
        print(table.to_string(index=False))


if __name__ == "__main__":
    main()
