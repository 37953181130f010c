"""Two parts of :func:`smartlayer.ml.features.extract` that read a column of numbers: the mean and
spread of the gaps between times, and the finished requests' error counts.

Split from :mod:`.features` to keep it readable; the extractor calls them once each per
vector.  Written for CPython speed like it: C-level passes (``math.hypot``/``math.dist``,
``tuple.count``), no Python step per event.
"""
from __future__ import annotations

import math
import operator
from bisect import bisect_left
from collections.abc import Sequence
from itertools import compress

_sqrt = math.sqrt
_dist = math.dist
_hypot = math.hypot
_not = operator.not_
_status_of = operator.itemgetter(1)
_blocked_of = operator.itemgetter(3)

#: Up to this many distinct error statuses are counted one C-level pass each; more are sorted, so
#: the work stays bounded (a window's statuses could all differ).
FEW_ERRORS = 6


def gap_mean_cv(ts: Sequence[float], gaps: Sequence[float] | None = None) -> tuple[float, float]:
    """Mean and coefficient of variation of the gaps between consecutive times (two or more).

    ``gaps``: ``ts[1:] - ts[:-1]`` if the caller has them.  ``max()``: arrivals from hosts with
    skewed clocks may be slightly out of order.  The sum of squared gaps is the squared distance
    between ``ts[1:]`` and ``ts[:-1]`` (one C call), or the same norm of the gaps themselves:
    ``math.hypot`` and ``math.dist`` share one algorithm over the same absolute differences, so
    the two are equal bit for bit.
    """
    n = len(ts) - 1
    mean = max(0.0, (ts[-1] - ts[0]) / n)
    if mean <= 0.0:
        return mean, 0.0
    sq = _hypot(*gaps) if gaps is not None else _dist(ts[1:], ts[:-1])
    var = sq * sq / n - mean * mean
    return mean, (_sqrt(var) / mean if var > 0.0 else 0.0)


def outcome_counts(outs: Sequence[tuple]) -> tuple[int, int, int, int, int]:
    """``(finished, blocked, 4xx, 404, 5xx)`` of outcomes ``(ts, status, ms, blocked)``: the
    requests smartlayer refused are not finished, the others are counted by status.  The two
    columns read are taken with ``itemgetter``, not a transpose of all four."""
    c4xx = c404 = c5xx = 0
    statuses = tuple(map(_status_of, outs))
    was_blocked = tuple(map(_blocked_of, outs))
    blocked = was_blocked.count(True)
    if blocked:
        statuses = tuple(compress(statuses, map(_not, was_blocked)))
    finished = len(statuses)
    if not finished or max(statuses) < 400:
        # the common window: no error at all (one C-level max, not a set and a comprehension)
        return finished, blocked, 0, 0, 0
    errors = [s for s in set(statuses) if s >= 400]
    if len(errors) <= FEW_ERRORS:
        # a client's statuses take few distinct values: one C-level count of each error status
        count = statuses.count
        for s in errors:
            k = count(s)
            if s >= 500:
                c5xx += k
            else:
                c4xx += k
                if s == 404:
                    c404 = k
    else:
        ordered = sorted(statuses)
        at400 = bisect_left(ordered, 400)
        at500 = bisect_left(ordered, 500)
        c4xx = at500 - at400
        c404 = bisect_left(ordered, 405, at400) - bisect_left(ordered, 404, at400)
        c5xx = finished - at500
    return finished, blocked, c4xx, c404, c5xx
