"""What is odd about a body-less request for the site is worked out once per (method, path, query).

Counted, never timed: the payload decision asks the site profile about every line it sees; a
log repeats its pages and queries, and the answer is a pure function of them, so the replay
asks the profile once per distinct shape — and decides exactly as when asking afresh.
"""
from __future__ import annotations

from smartlayer.offline.replay import Replayer
from smartlayer.profile.core import Profile
from smartlayer.profile.learn import learn_profile, rows_from_records
from smartlayer.sim import generate


def _traffic(seed: int, start: float = 1_700_000_000.0):
    return generate(start=start, duration=2 * 3600, seed=seed, humans=15,
                    scenarios={"vuln_scanner": 1, "scraper": 1, "tampering": 2})


class _Counted(Profile):
    asked: list = []

    def anomalies(self, method, path, params):
        _Counted.asked.append((method, path, tuple(map(tuple, params or ()))))
        return super().anomalies(method, path, params)


class _AskedAfresh:
    """The profile asked on every line, whatever shape the replay says the request has."""

    key = None

    def __init__(self, profile: Profile) -> None:
        self.anomalies = profile.anomalies


def _outcome(replayer: Replayer):
    r = replayer.result
    return r.decisions, r.outcomes, {k: c.as_row() for k, c in r.clients.items()}


def test_the_profile_is_asked_once_per_request_shape_and_decides_as_afresh():
    learned = learn_profile(rows_from_records(_traffic(3, 1_699_990_000.0)), resolver=False)
    recs = _traffic(4)
    _Counted.asked = []
    remembered = Replayer(model=None, profile=_Counted(learned, "t"))
    remembered.run(recs)
    asked = list(_Counted.asked)
    shapes = {(r.method, r.path, r.query) for r in recs}
    assert asked and len(asked) <= len(shapes)
    assert len(set(asked)) == len(asked)            # each shape once

    _Counted.asked = []
    fresh = Replayer(model=None, profile=_Counted(learned, "t"))
    fresh._page_profile = _AskedAfresh(fresh.profile)
    fresh.run(recs)
    again = list(_Counted.asked)
    assert set(again) == set(asked) and len(again) > len(asked)   # afresh: once per line
    assert _outcome(fresh) == _outcome(remembered)
