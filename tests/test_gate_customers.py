"""Customers using the quota they bought, replayed: the plan answers, the rules do not refuse them.

A day of people and customers (each a signed-in integration bursting 30–120
requests at once to the routes of its ``premium`` plan, the part past 50 a
minute answered 429 by the quota) is replayed through the rules, payload
checks and combiner.  With the plan configured, no customer is refused; the
same day replayed without the plan shows what the rules alone did to them.
"""
from __future__ import annotations

import pytest

from smartlayer.offline.replay import Replayer
from smartlayer.sim import DEFAULT_START, generate
from smartlayer.sim.scenarios.machines import CUSTOMER_PER_MINUTE, CUSTOMER_PLAN, CUSTOMER_ROUTE

PLANS = {"free": {CUSTOMER_ROUTE: {"per_minute": 5}}, CUSTOMER_PLAN: {CUSTOMER_ROUTE: {"per_minute": CUSTOMER_PER_MINUTE}}}


def customers_day(seed: int):
    return generate(start=DEFAULT_START, duration=86400, seed=seed + 700, humans=30, scenarios={"customer": 6})


def refused_customers(result):
    customers = [c for c in result.clients.values() if c.label == "customer"]
    return customers, [(c.client, c.reasons.most_common(2)) for c in customers if c.caught]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_customer_within_its_plan_is_refused(sl, seed):
    sl(RATE_LIMIT_PLANS=PLANS)
    day = customers_day(seed)
    assert sum(r.status == 429 for r in day if r.label == "customer") > 0  # the quota was reached
    customers, refused = refused_customers(Replayer(model=None).run(day))
    assert len(customers) == 6
    assert refused == []


@pytest.mark.slow
def test_without_their_plan_the_rate_rules_refuse_the_same_customers(sl):
    sl(RATE_LIMIT_PLANS={})
    customers, refused = refused_customers(Replayer(model=None).run(customers_day(1)))
    print(f"without the plan: {len(refused)} of {len(customers)} customers refused: {refused[:3]}")
    assert len(refused) >= len(customers) // 2, refused
