"""The site profile is learned without the clients the fit leaves out whole.

Slow-drip attackers are never refused, so nothing leaves them out of the window; the fit leaves
out, whole, the clients mostly above the current model's threshold (:func:`smartlayer.ml.training.poison.trim`).
The profile was learned before the fit from every served request, theirs included: it took their
sensitive paths and walked IDs for the site's own, and its rules refused a quarter less of the slow
drip after a poisoned week (``training/poisoning.py``).  :func:`~smartlayer.ml.training.train.fit_with_profile`
learns it again without them, and fits again on it.
"""
from __future__ import annotations

import pytest

from smartlayer.ml.runtime import ActiveModel
from smartlayer.ml.training.frames import records_frame
from smartlayer.ml.training.sources import rows_without
from smartlayer.ml.training.train import fit_frame, fit_with_profile
from smartlayer.profile.learn import learn_profile, rows_from_records
from smartlayer.sim import DEFAULT_START, generate

PARAMS = {"n_estimators": 20, "contamination": 0.01, "random_state": 0}


@pytest.fixture(scope="module")
def week():
    clean = generate(start=DEFAULT_START, duration=2 * 86400, seed=5, humans=25)
    drip = generate(start=DEFAULT_START, duration=2 * 86400, seed=505, humans=0, scenarios={"slow_drip": 3})
    return clean, sorted(clean + drip, key=lambda r: r.ts)


def _keys(records, label: str) -> set[str]:
    return {row.client for row, rec in zip(rows_from_records(records), records, strict=True) if rec.label == label}


def _learner(records, calls: list):
    def learn(leave_out):
        calls.append(leave_out)
        return learn_profile(rows_without(lambda: rows_from_records(records), leave_out))
    return learn


@pytest.mark.django_db
def test_the_profile_is_learned_again_without_the_clients_left_out(week):
    clean, poisoned = week
    first = fit_frame(records_frame(clean), params=PARAMS, min_samples=50)
    current = ActiveModel("current", first.model.compiled_, first.manifest)
    calls: list = []
    fitted, profile = fit_with_profile(records_frame(poisoned), _learner(poisoned, calls), params=PARAMS,
                                       min_samples=50, reference=current)
    drip = _keys(poisoned, "slow_drip")
    assert fitted.left_out_clients and fitted.left_out_clients <= drip | _keys(poisoned, "human")
    assert fitted.left_out_clients & drip
    assert len(calls) == 2 and calls[0] == frozenset() and calls[1] and calls[1] & drip
    # the profile returned is the second one, learned without them
    assert profile == learn_profile(rows_without(lambda: rows_from_records(poisoned), calls[1]))


@pytest.mark.django_db
def test_without_a_current_model_the_profile_is_learned_once(week):
    _, poisoned = week
    calls: list = []
    fitted, profile = fit_with_profile(records_frame(poisoned), _learner(poisoned, calls), params=PARAMS,
                                       min_samples=50)
    assert calls == [frozenset()] and not fitted.left_out_clients and profile is not None


def test_rows_without_leaves_out_only_those_clients(week):
    clean, _ = week
    rows = list(rows_from_records(clean))
    one = rows[0].client
    kept = list(rows_without(lambda: rows_from_records(clean), frozenset({one}))())
    assert kept and all(r.client != one for r in kept)
    assert len(kept) == sum(r.client != one for r in rows)
    assert rows_without(lambda: rows, frozenset())() is rows
