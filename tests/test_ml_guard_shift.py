"""The live guard's two judgments (smartlayer.ml.guard): a site that changed under the model moves
everybody's scores — demoted even while few requests cross the threshold; a minority of clients
flagged request after request is what the model is for — never demoted for it.

On a fake clock, with scores the test chooses: the guard's arithmetic is what is tested (the
figure on generated traffic is ``tests/benchmarks/drift.py``'s, in training/README.md).
"""
from __future__ import annotations

import random

from smartlayer.ml.guard import Guard, median_bound_for

T0 = 1_700_000_040.0   # a minute boundary


class Model:
    version = "v-shift"
    threshold = 0.6
    manifest = {"params": {"contamination": 0.01},
                "metrics": {"score_quantiles": {"p50": 0.44, "p90": 0.52, "p99": 0.6}}}


def run(guard: Guard, minutes: int, *, people: int, bots: int = 0, people_score=(0.38, 0.5),
        start: float = T0) -> float:
    """``people`` clients asking for a page every 20 s, ``bots`` every 3 s flagged each time."""
    rng = random.Random(7)
    model = Model()
    t = start
    end = start + 60 * minutes
    while t < end:
        for k in range(people):
            if rng.random() < 0.05 * 3:   # ~ one request per client per 20 s, in 3 s steps
                score = rng.uniform(*people_score)
                guard.note(model, f"ip:198.51.100.{k}", score >= model.threshold, t + k * 0.01, score)
        for b in range(bots):
            guard.note(model, f"ip:203.0.113.{b}", True, t + b * 0.01, 0.66)
        t += 3.0
    return t


def test_the_bound_is_the_training_quantile_the_setting_names(sl):
    assert median_bound_for(Model.manifest) == 0.52
    sl(MODEL_GUARD_MEDIAN_QUANTILE=0.5)
    assert median_bound_for(Model.manifest) == 0.44
    sl(MODEL_GUARD_MEDIAN_QUANTILE=0)
    assert median_bound_for(Model.manifest) is None
    assert median_bound_for({"params": {}}) is None     # an older version: only the flagged share judges


def test_everybody_scoring_higher_demotes_within_five_minutes_with_nothing_flagged():
    guard = Guard()
    changed = run(guard, 60, people=30)
    assert guard.green
    run(guard, 10, people=30, people_score=(0.5, 0.59), start=changed)   # below the threshold, all of them
    assert guard.demoted is not None and guard.demoted.share == 0.0
    assert changed < guard.demoted.since <= changed + 5 * 60
    assert guard.demoted.median > guard.demoted.median_bound == 0.52
    assert guard.demoted.as_dict()["median_bound"] == 0.52


def test_bots_flagged_on_every_request_among_people_do_not_tip_the_guard():
    """Twelve bots among thirty people: more than a quarter of the scored requests flagged (above
    the flagged-share bound, 25 %), for an hour — a minority of the clients."""
    guard = Guard()
    run(guard, 60, people=30, bots=12)
    assert guard.green and guard.history and guard.bound == 0.25
    scored = sum(b[1] for b in guard.history)
    assert sum(b[2] for b in guard.history) / scored > guard.bound


def test_a_majority_of_clients_flagged_still_demotes_an_older_version():
    """Without the training quantiles (a version from before them) the flagged share still judges."""
    class Old(Model):
        manifest = {"params": {"contamination": 0.01}}

    guard = Guard()
    model = Old()
    for second in range(0, 8 * 60, 2):
        for k in range(20):
            guard.note(model, f"ip:198.51.100.{k}", k % 2 == 0, T0 + second + k * 0.01, None)
    assert not guard.green
