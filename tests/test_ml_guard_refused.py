"""The live guard leaves the clients the site refuses out of "the typical request" (smartlayer.ml.guard).

On generated traffic (``training/targets.py``, new tuning seeds 14, 16 and 18) the guard demoted a good
model for hours: in quiet spans of 6-12 clients, the median score was made by a few clients odd minute
after minute — bots the pipeline was refusing, API integrations over their quota — while the people
among them scored as in the training week.  Those clients are being dealt with; the median judgment now
leaves out a client refused in the last ``REFUSED_MINUTES`` minutes.  Their flags still count toward
the flagged share: a model that refuses everybody is still demoted.
"""
from __future__ import annotations

import random
import statistics

from smartlayer.ml.guard import MIN_JUDGED_CLIENTS, REFUSED_MINUTES, Guard, _span_scores
from tests.test_ml_guard_shift import T0, Model
from tests.test_score_early import Constant, visit


def _quiet_span(guard: Guard, minutes: int, *, refuse: bool, start: float = T0, busy_score: float = 0.56,
                people: int = 4, busy: int = 6) -> None:
    """``people`` (a page every ~20 s, scores like the training week's) and ``busy`` clients scoring
    above the training 90th percentile, below the threshold (never flagged); refused when ``refuse``."""
    rng = random.Random(5)
    model = Model()
    for step in range(minutes * 20):
        t = start + step * 3.0
        for k in range(people):
            if rng.random() < 0.15:
                guard.note(model, f"ip:198.51.100.{k}", False, t + k * 0.01, rng.uniform(0.43, 0.5))
        for b in range(busy):
            client = f"ip:203.0.113.{b}"
            guard.note(model, client, False, t + b * 0.01, busy_score)
            if refuse:
                guard.refused(model, client, t + b * 0.01)


def test_busy_clients_the_site_refuses_do_not_move_the_median_of_a_quiet_span():
    unrefused = Guard()
    _quiet_span(unrefused, 30, refuse=False)
    assert unrefused.demoted is not None              # judged with them, the span is "off"
    guard = Guard()
    _quiet_span(guard, 30, refuse=True)
    assert guard.green and guard.history


def test_a_client_refused_long_ago_counts_again():
    guard = Guard()
    _quiet_span(guard, 2, refuse=True)
    assert guard.green
    _quiet_span(guard, REFUSED_MINUTES + 10, refuse=False, start=T0 + 2 * 60)
    assert guard.demoted is not None


def test_a_handful_of_clients_is_not_the_typical_request():
    """Three people and four API integrations odd all day (never refused): seven clients are too few."""
    guard = Guard()
    _quiet_span(guard, 30, refuse=False, people=3, busy=MIN_JUDGED_CLIENTS - 4)
    assert guard.green
    scores, clients = _span_scores(guard.history)
    assert clients == MIN_JUDGED_CLIENTS - 1 and statistics.median(scores) > guard.median_bound
    bigger = Guard()
    _quiet_span(bigger, 30, refuse=False, people=3, busy=MIN_JUDGED_CLIENTS - 3)
    assert bigger.demoted is not None


def test_everybody_flagged_and_refused_still_demotes():
    """A model the site changed under, refusing everybody it flags: the flagged share judges them."""
    guard = Guard()
    model = Model()
    for second in range(0, 8 * 60, 3):
        for k in range(20):
            client = f"ip:198.51.100.{k}"
            guard.note(model, client, True, T0 + second + k * 0.01, 0.7)
            guard.refused(model, client, T0 + second + k * 0.01)
    assert guard.demoted is not None


def test_the_detector_tells_the_guard_whom_it_refused(sl):
    sl(grey_grace_requests=20, MODEL_SCORE_FROM=2, MODEL_SUSTAINED_ALONE=15, MODEL_SUSTAINED_WINDOW=600)
    guard = Guard()
    out = visit(Constant(0.9), 30, guard=guard)
    assert any(decision.refuses for decision, _ in out)
    assert "ip:198.51.100.7" in guard.refused_at
