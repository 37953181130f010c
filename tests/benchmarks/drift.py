"""The drift case on generated traffic: shadow scoring refuses the bad candidate, the live guard
demotes the drifting model — with a real model, on the traffic's own clock.

    python tests/benchmarks/drift.py [--humans 300 1000] [--seed 1] [--change-at 14]

A model is trained on a normal generated week (``train_smartlayer``'s defaults).  On the day
after, at ``--change-at`` o'clock, the site changes under it: every page view of its people
now sends two telemetry beacons (``POST /api/beacon/``, a new endpoint).  Measured:

* **shadow scoring** of that model as a candidate, on the normal day and on the changed day:
  the share of requests it would refuse that the rules alone serve, against the bound
  (``MODEL_BOUND_FACTOR`` × contamination) — the bad candidate must be outside it;
* **the live guard** replaying the changed day through the pipeline (the guard judging on the
  log's clock): whether it demotes the model before the change (it must not), and how many
  minutes after the change it does (target: within 5).
"""
from __future__ import annotations

import argparse
import dataclasses
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def changed(day: list, at: float, beacons: int = 2, seed: int = 0) -> list:
    rng = random.Random(seed)
    out = []
    for r in day:
        out.append(r)
        if r.ts >= at and r.label in ("human", "office") and r.method == "GET":
            out += [dataclasses.replace(r, ts=r.ts + rng.uniform(0.5, 4.0), method="POST", path="/api/beacon/",
                                        status=204, response_ms=2.0) for _ in range(beacons)]
    return sorted(out, key=lambda r: r.ts)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--humans", type=int, nargs="+", default=[300, 1000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--change-at", type=float, default=14.0, help="hour of the day the site changes")
    args = parser.parse_args(argv)
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from smartlayer.ml.runtime import ActiveModel
    from smartlayer.ml.training.frames import records_frame
    from smartlayer.ml.training.shadow import frame_lines, shadow_report
    from smartlayer.ml.training.train import fit_frame
    from smartlayer.offline.replay import Replayer
    from smartlayer.sim import DEFAULT_START, generate, generate_normal_week

    params = {"n_estimators": 100, "max_samples": 256, "contamination": 0.01, "random_state": 42}
    for humans in args.humans:
        t0 = time.perf_counter()
        fitted = fit_frame(records_frame(generate_normal_week(seed=args.seed, humans=humans)), params=params, seed=0)
        model = ActiveModel(f"drift-{humans}", fitted.model.compiled_, fitted.manifest)
        start = DEFAULT_START + 7 * 86400
        day = generate(start=start, duration=86400, seed=args.seed + 4, humans=humans,
                       scenarios={"api_client": max(1, humans // 50), "crawler": 2, "office": max(1, humans // 70)})
        change = start + args.change_at * 3600
        print(f"\n{humans} people a day; model trained in {time.perf_counter() - t0:.0f}s")
        for name, records in (("normal day", day), ("changed all day", changed(day, start))):
            lines, window = frame_lines(records_frame(records))
            report = shadow_report(model, lines, window=window)
            c = report["candidate"]
            print(f"  shadow, {name:<16} refuses {c['refused_share']:7.2%} of requests the rules serve "
                  f"({c['refused_clients']} of {report['window']['clients']} clients), flags "
                  f"{c['flagged_share']:6.2%}; bound {report['bound']:.0%}: "
                  f"{'within' if report['within_bound'] else 'OUTSIDE -> activation refused'}")
        rp = Replayer(model=model, payloads=False)
        guard = rp.detector.guard
        demoted_at = None
        early = False
        for line in changed(day, change):
            rp.feed(line)
            if guard.demoted is not None and demoted_at is None:
                demoted_at = line.ts
                early = line.ts < change
        if demoted_at is None:
            print("  live guard: never demoted")
        elif early:
            print(f"  live guard: demoted BEFORE the change, at {(demoted_at - start) / 3600:.2f} h")
        else:
            print(f"  live guard: demoted {(demoted_at - change) / 60:.1f} min after the change "
                  f"(flagged share {guard.demoted.share:.0%}, bound {guard.demoted.bound:.0%}); "
                  f"green for the {args.change_at:g} h before it")


if __name__ == "__main__":
    main()
