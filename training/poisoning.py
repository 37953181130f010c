"""Poisoning resistance, measured: does a week with slow-drip attackers in it blind the next model?

    python training/poisoning.py [--seeds 1 2 3] [--humans 300] [--share 0.039]

For each seed: a *clean* model is trained on a normal generated week (the
defaults of ``train_smartlayer``: the first model, nothing to trim under);
the same week retrained under it shows what trimming costs when there is no
attacker.  Then slow-drip attackers
(``smartlayer/sim/scenarios/hostile.py``: a request a minute for hours,
sensitive paths, IDs walked one by one, the odd payload — never banned, so
nothing leaves them out) are mixed into the same week until they make up
``--share`` of its rows (3.9 %, as on the site the issue reports), and the
model is retrained three ways:

* **undefended** — no trimming (``trim_share=0``): what training did before;
* **trimmed under the current model** — the default: the clean model is the
  active version, and the ``MODEL_TRIM_SHARE`` most anomalous vectors under it
  (and clients mostly above its threshold) are left out before the fit.

Each model then replays a held-out attack day (``generate_attack_day``, seed
+ 100) through the whole pipeline.  Counted for the slow-drip clients:
requests the model flags (above its threshold: what the *model* catches,
whatever the rules do) and requests refused; for the benign clients (people,
offices, API clients, crawlers), clients refused.
The target (issue 15): the retrained model catches at least 90 % of what the
clean model caught.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def setup() -> None:
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()


def poisoned_week(seed: int, clean: list, share: float) -> tuple[list, int]:
    """The clean week plus slow-drip actors making up ``share`` of the rows."""
    from smartlayer.sim import DEFAULT_START, generate

    week = 7 * 86400.0
    probe = generate(start=DEFAULT_START, duration=week, seed=seed + 500, humans=0, scenarios={"slow_drip": 10})
    per_actor = max(1.0, len(probe) / 10)
    actors = max(1, round(share / (1 - share) * len(clean) / per_actor))
    drip = generate(start=DEFAULT_START, duration=week, seed=seed + 500, humans=0, scenarios={"slow_drip": actors})
    return sorted(clean + drip, key=lambda r: r.ts), actors


def replay(model, day, profile=None) -> dict[str, int]:
    from smartlayer.offline.replay import Replayer

    rp = Replayer(model=model, profile=profile)
    flagged = refused = 0
    drip_clients: set[str] = set()
    for line in day:
        blocked = rp.feed(line)
        if line.label != "slow_drip":
            continue
        ctx = rp.last
        drip_clients.add(ctx.client.key)
        refused += blocked
        if ctx.model_score is not None and ctx.model_score >= model.threshold:
            flagged += 1
    table = {row["scenario"]: row for row in rp.result.scenario_table()}
    benign = [row for label, row in table.items() if row["benign"]]
    return {"drip_flagged": flagged, "drip_refused": refused, "drip_clients_caught": table["slow_drip"]["caught"],
            "drip_clients": table["slow_drip"]["clients"], "people_refused": sum(r["caught"] for r in benign),
            "people": sum(r["clients"] for r in benign)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--humans", type=int, default=300)
    parser.add_argument("--share", type=float, default=0.039)
    parser.add_argument("--trim", type=float, default=None, help="MODEL_TRIM_SHARE (default: the setting)")
    parser.add_argument("--max-samples", type=int, default=None, help="the forest's max_samples (default: MODEL_PARAMS')")
    parser.add_argument("--no-profile", action="store_true",
                        help="train and replay without a site profile (before 2026-12-06 the script had none)")
    args = parser.parse_args(argv)
    setup()

    from smartlayer.conf import sl_settings
    from smartlayer.ml.runtime import ActiveModel
    from smartlayer.ml.training.frames import records_frame
    from smartlayer.ml.training.sources import rows_without
    from smartlayer.ml.training.train import fit_with_profile
    from smartlayer.profile.core import Profile
    from smartlayer.profile.learn import learn_profile, rows_from_records
    from smartlayer.sim import DEFAULT_START, generate_attack_day, generate_normal_week

    # the owner's nightly run: the default MODEL_PARAMS (max_samples 4096 since fs3; this script
    # used scikit-learn's 256 until 2026-12-06) and a site profile learned from the same week
    params = dict(sl_settings.MODEL_PARAMS) if args.max_samples is None else \
        {**sl_settings.MODEL_PARAMS, "max_samples": args.max_samples}
    profiles: dict[str, Profile | None] = {}

    def model_of(name, records, **kw):
        """The model and (unless --no-profile) the site profile the nightly run learns from ``records``
        (the profile without the clients the fit leaves out whole, ``fit_with_profile``)."""
        def learn(leave_out):
            return learn_profile(rows_without(lambda: rows_from_records(records), leave_out))

        fitted, doc = fit_with_profile(records_frame(records), None if args.no_profile else learn,
                                       params=params, seed=0, **kw)
        profiles[name] = None if doc is None else Profile(doc, name)
        return ActiveModel(name, fitted.model.compiled_, fitted.manifest), fitted.manifest["metrics"].get("trimmed")

    totals: dict[str, dict[str, int]] = {}
    print(f"{'seed':>4} {'model':<30} {'drip flagged':>12} {'drip refused':>12} {'drip clients':>12} "
          f"{'people refused':>14}  trimmed")
    for seed in args.seeds:
        t0 = time.perf_counter()
        clean_records = generate_normal_week(seed=seed, humans=args.humans)
        poisoned, actors = poisoned_week(seed, clean_records, args.share)
        drip_rows = len(poisoned) - len(clean_records)
        day = generate_attack_day(seed=seed + 100, start=DEFAULT_START + 7 * 86400)
        clean, clean_trim = model_of("clean", clean_records)
        variants = [
            ("clean (no slow drip)", clean, clean_trim),
            ("clean week again, trimmed", *model_of("clean-again", clean_records, reference=clean,
                                                    trim_share=args.trim)),
            ("undefended", *model_of("undefended", poisoned, trim_share=0.0)),
            ("trimmed under the clean model", *model_of("trimmed", poisoned, reference=clean,
                                                        trim_share=args.trim)),
        ]
        print(f"seed {seed}: {actors} slow-drip actors, {drip_rows} of {len(poisoned)} rows "
              f"({drip_rows / len(poisoned):.1%}); {time.perf_counter() - t0:.0f}s to train")
        for name, model, trimmed in variants:
            row = replay(model, day, profiles[model.version])
            acc = totals.setdefault(name, {})
            for k, v in row.items():
                acc[k] = acc.get(k, 0) + v
            note = "" if not trimmed else (f"{trimmed.get('vectors', 0)} vectors "
                                           f"({(trimmed.get('labels') or {}).get('slow_drip', 0)} slow drip)")
            print(f"{seed:>4} {name:<30} {row['drip_flagged']:>12} {row['drip_refused']:>12} "
                  f"{row['drip_clients_caught']:>5}/{row['drip_clients']:<6} "
                  f"{row['people_refused']:>6}/{row['people']:<7}  {note}")
    base = totals["clean (no slow drip)"]["drip_flagged"]
    print("\npooled over seeds", " ".join(map(str, args.seeds)))
    for name, acc in totals.items():
        ratio = acc["drip_flagged"] / base if base else float("nan")
        print(f"  {name:<30} drip flagged {acc['drip_flagged']:>6} ({ratio:6.1%} of clean), refused "
              f"{acc['drip_refused']:>6}, clients {acc['drip_clients_caught']}/{acc['drip_clients']}, people "
              f"refused {acc['people_refused']}/{acc['people']}")


if __name__ == "__main__":
    main()
