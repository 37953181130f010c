"""The drift case on generated traffic: shadow scoring refuses the bad candidate, the live guard
demotes the drifting model — with a real model and site profile, on the traffic's own clock.

    python tests/benchmarks/drift.py [--humans 300] [--seed 1] [--change-at 14]

A site whose pages post telemetry while people read them (``with_telemetry``).  A model and its site
profile are trained on a normal generated week of it, as ``train_smartlayer`` would.  Then the site
changes under them (``drifted``): a release adds a telemetry endpoint (``/t/vitals/``) and doubles the
pages' telemetry rate.  Measured:

* **shadow scoring** of that model as a candidate, on a normal day and on a changed day (the most
  recent day it would be judged on): the share of requests it would refuse that the rules alone
  serve, against the bound (``MODEL_BOUND_FACTOR`` × contamination), and the share it would flag, against
  what the live guard tolerates (``MODEL_GUARD_FACTOR`` × contamination with ``MODEL_GUARD_CLIENT_SHARE``
  of the clients) — the bad candidate, trained before the change, must be outside (activation refused),
  and a normal day inside;
* **the live guard** replaying a day that changes at ``--change-at`` o'clock through the pipeline
  (the guard judging on the log's clock): whether it demotes the model before the change (it must
  not), and how many minutes after the change it does (target: within 5).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def drift_day(start: float, humans: int, seed: int, site, change: float | None) -> list:
    """A day of the site; from ``change`` on (None: never), the released version of it."""
    from smartlayer.sim import drifted, generate_automation_day

    def day(sitemap):
        return generate_automation_day(seed, start=start, humans=humans, sitemap=sitemap, bots={})

    if change is None:
        return day(site)
    if change <= start:
        return day(drifted(site))
    # the same people (the same seed), before and after the release
    before = [r for r in day(site) if r.ts < change]
    after = [r for r in day(drifted(site)) if r.ts >= change]
    return before + after


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--humans", type=int, nargs="+", default=[300])
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
    from smartlayer.profile.core import Profile
    from smartlayer.profile.learn import learn_profile, rows_from_records
    from smartlayer.sim import DEFAULT_START, SiteMap, generate_normal_week, with_telemetry

    site = with_telemetry(SiteMap())
    for humans in args.humans:
        t0 = time.perf_counter()
        week = generate_normal_week(seed=args.seed, humans=humans, sitemap=site, profiled=True)
        learned = learn_profile(lambda week=week: rows_from_records(week))
        profile = Profile(learned, f"drift-{humans}")
        fitted = fit_frame(records_frame(week), profile=learned, seed=0)
        model = ActiveModel(f"drift-{humans}", fitted.model.compiled_, fitted.manifest)
        start = DEFAULT_START + 7 * 86400
        change = start + args.change_at * 3600
        print(f"\n{humans} people a day, telemetry every ~{site.telemetry_interval:g} s; model and profile trained "
              f"in {time.perf_counter() - t0:.0f}s")
        for name, at in (("normal day", None), ("changed all day", start)):
            lines, window = frame_lines(records_frame(drift_day(start, humans, args.seed + 4, site, at)))
            report = shadow_report(model, lines, window=window, candidate_profile=profile)
            c = report["candidate"]
            print(f"  shadow, {name:<16} refuses {c['refused_share']:7.2%} of requests the rules serve "
                  f"({c['refused_clients']} of {report['window']['clients']} clients), flags "
                  f"{c['flagged_share']:6.2%} ({c['flagged_clients_share']:.0%} of clients); bounds: refused "
                  f"{report['bound']:.0%}, flagged {report['guard_bound']:.0%} (live guard): "
                  f"{'within' if report['within_bound'] else 'OUTSIDE -> activation refused'}"
                  f"{' (the live guard would demote it)' if report['guard_demotes'] else ''}")
        rp = Replayer(model=model, profile=profile, payloads=False)
        guard = rp.detector.guard
        demoted_at = None
        early = False
        for line in drift_day(start, humans, args.seed + 4, site, change):
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
