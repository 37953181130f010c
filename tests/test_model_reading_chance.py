"""A reader's spread of page gaps, read off a few gaps, is below ``READING_CV`` now and then by chance.

A colleague reading quickly (a page every 3–5 s, think times spread like anyone's) showed a
coefficient of variation of 0.42–0.58 on 10–15 page views on the generated office (plain tuning
seeds 85–90), and those flags counted as a script's pace: toward ``MODEL_SUSTAINED_ALONE`` and with
``endpoint_scanning`` agreeing (training/README.md, 2026-12-06).  A spread within two standard errors
of ``READING_CV`` is reading (:func:`smartlayer.ml.tells.paced_like_reading`); the paces automation
is given (a fixed wait, a short constant pause, a task list's 2–6 s) stay below that margin.
"""
from __future__ import annotations

from smartlayer.ml.tells import paced_like_reading
from tests.test_model_reading import _model, _paced, _visit

#: a fast reader's think times (seconds): mean 4.5 s, cv about 0.5 on every stretch of them
FAST_READER = (2.5, 6.0, 3.0, 8.0, 2.5, 4.0, 9.0, 3.0, 5.0, 2.5)


def test_a_spread_below_reading_cv_only_by_chance_is_reading():
    assert paced_like_reading(_paced(12, 0.45))       # 0.45 off 11 gaps: within two standard errors
    assert paced_like_reading(_paced(16, 0.5))
    assert paced_like_reading(_paced(40, 0.5))


def test_the_paces_automation_is_given_are_not():
    assert not paced_like_reading(_paced(8, 0.38))    # the margin from 8 page views: 0.39
    assert not paced_like_reading(_paced(16, 0.3))    # a task list's 2–6 s
    assert not paced_like_reading(_paced(40, 0.45))   # the margin narrows as the gaps add up: 0.49
    assert not paced_like_reading(_paced(12, 0.15))   # a short near-constant pause
    assert not paced_like_reading(_paced(7, 0.5))     # too few page views to say


def test_a_fast_readers_long_visit_flagged_throughout_is_not_refused():
    """40 page views 2.5–9 s apart, flagged on every one: before, the spread (0.48–0.52 at every page
    view) never read as reading and the flags alone refused the visit."""
    assert not any(d.refuses for d in _visit(_model(True), list(FAST_READER) * 4))
