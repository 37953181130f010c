"""Generated offices behind one address: nobody refused by the rules, over replayed days.

A workday with offices of 10–25 colleagues behind one NAT address each — a
page every one to five seconds, each person with the site's cookie — is
replayed through the rules, payload checks and combiner.  Before cookie
clients, every office was one flooding client (refused within seconds).

The learned model is measured, not gated, here: trained on a week of this
site that has its hurried offices in it (each colleague a client of its own, as
the middleware keys them), it refused 5 of 50 colleagues (seed 1) with feature
set fs1, by ``model:sustained`` with only the endpoint-scanning and unauthenticated
rules agreeing; trained on a week whose offices browse at people's usual pace it
refused 30 of 50.  Feature set fs2 judges page-view pacing (a page every 1–5 s is
a task-list bot's pace) and scores from a client's 2nd request: 8 of 50 here,
without a site profile (6 of 50 when scored only past the grace period); fs3 the same 8
(its added tells need a site profile's classes: without one they are 0).  Fast
browsing is rare for a model that has not seen it.
"""
from __future__ import annotations

import pytest

from smartlayer.ml.forest import CompiledForest
from smartlayer.ml.runtime import ActiveModel
from smartlayer.ml.training.frames import records_frame
from smartlayer.ml.training.train import fit_frame
from smartlayer.offline.replay import Replayer
from smartlayer.sim import DEFAULT_START, generate
from smartlayer.sim.generator import WEEK

PARAMS = {"n_estimators": 100, "max_samples": 256, "contamination": 0.01, "random_state": 42}
#: A Thursday, a working day, after the training week.
DAY = DEFAULT_START + 7 * 86400 + 86400 * (4 - (DEFAULT_START // 86400 + 3 + 7) % 7)


def office_day(seed: int):
    return generate(start=DAY, duration=86400, seed=seed + 500, humans=20, scenarios={"office": 3},
                    params={"office": {"gap": (1.0, 5.0)}})


def refused_people(result):
    people = [c for c in result.clients.values() if c.label == "office"]
    return people, [(c.client, c.reasons.most_common(2)) for c in people if c.caught]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_nobody_in_an_office_is_refused_by_the_rules(seed):
    people, refused = refused_people(Replayer(model=None).run(office_day(seed)))
    assert len(people) > 30
    assert refused == []


@pytest.mark.slow
def test_the_model_trained_on_the_site_is_measured_on_offices():
    week = generate(start=DEFAULT_START, duration=WEEK, seed=1, humans=300,
                    scenarios={"api_client": 10, "crawler": 3, "office": 2}, params={"office": {"gap": (1.0, 5.0)}})
    fitted = fit_frame(records_frame(week), params=PARAMS, seed=0)
    model = ActiveModel("office-gate", CompiledForest.from_estimator(fitted.model.forest_), dict(fitted.manifest))
    people, refused = refused_people(Replayer(model=model).run(office_day(1)))
    print(f"model trained with offices: {len(refused)} of {len(people)} colleagues refused")
    assert len(refused) <= len(people) // 6  # see the module docstring: measured 8 of 50 (fs2; fs1: 5)
