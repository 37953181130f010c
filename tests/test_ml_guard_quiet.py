"""The live guard on a quiet evening (smartlayer.ml.guard): a few busy clients are not the site.

On generated traffic (``training/targets.py``, tuning seeds) the guard demoted a good model for the
rest of a day twice: a product clicker and three bots, busy every minute, moved the median score of a
quiet span where each reader asked for a page or two; a task-list bot and an odd API integration made
a third of a quiet span's client-minutes.  Each client now weighs its last ``PER_CLIENT_CAP`` scores
over the judged minutes, and "most of the traffic flagged" needs ``MIN_FLAGGED_CLIENTS`` clients.
"""
from __future__ import annotations

import random

from smartlayer.ml.guard import MIN_FLAGGED_CLIENTS, PER_CLIENT_CAP, Guard
from tests.test_ml_guard_shift import T0, Model, run


def _evening(guard: Guard, minutes: int, *, readers: int, busy: int, busy_score: float) -> None:
    """``readers`` clients asking for a page every ~90 s, ``busy`` clients every 3 s."""
    rng = random.Random(11)
    model = Model()
    for step in range(minutes * 20):
        t = T0 + step * 3.0
        for k in range(readers):
            if rng.random() < 3.0 / 90.0:
                score = rng.uniform(0.45, 0.5)
                guard.note(model, f"ip:198.51.100.{k}", False, t + k * 0.01, score)
        for b in range(busy):
            guard.note(model, f"ip:203.0.113.{b}", busy_score >= model.threshold, t + b * 0.01, busy_score)


def test_a_few_busy_clients_do_not_move_the_median_of_a_quiet_span():
    guard = Guard()
    _evening(guard, 30, readers=12, busy=4, busy_score=0.55)   # odd, never flagged: the median alone
    assert guard.green and guard.history
    # three a minute each, the busy clients are most of the requests judged
    per_minute = [sum(len(v) for v in b[5].values()) for b in guard.history]
    busy_share = 4 * PER_CLIENT_CAP * len(guard.history) / sum(per_minute)
    assert busy_share > 0.5


def test_everybody_moving_still_demotes_with_few_busy_clients_among_them():
    guard = Guard()
    _evening(guard, 30, readers=12, busy=4, busy_score=0.55)
    assert guard.green
    changed = run(guard, 10, people=30, people_score=(0.5, 0.59), start=T0 + 30 * 60)
    assert guard.demoted is not None and guard.demoted.since <= changed


def test_two_clients_flagged_on_a_quiet_evening_are_not_most_of_the_traffic():
    guard = Guard()
    run(guard, 30, people=4, bots=2)
    assert guard.green
    flagged = sum(b[2] for b in guard.history) / sum(b[1] for b in guard.history)
    assert flagged > guard.bound                                    # the share alone would demote


def test_as_many_flagged_clients_as_the_minimum_still_demote():
    guard = Guard()
    run(guard, 30, people=10, bots=MIN_FLAGGED_CLIENTS)
    assert guard.demoted is not None
