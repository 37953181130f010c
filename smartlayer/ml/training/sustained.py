"""The site's own bar for a sustained anomaly: what its training week's visitors did page after page.

``MODEL_SUSTAINED_ALONE`` requests above the threshold within ``MODEL_SUSTAINED_WINDOW`` refuse a
client on the model's word alone.  The threshold is the ``1 − contamination`` quantile of the
training scores: by construction some served traffic is above it, and the rare-but-normal visitors
of a site — a shopper clicking "next product" every few seconds, a colleague with a warm cache
hurrying through pages without images of their own — are above it *request after request* on a
long visit (the counts of page views, assets and links followed grow with the visit).  A model
whose own training week, replayed through that rule, would have refused such a served visitor
refuses the next day's like it (generated traffic, tuning seeds: every benign ``model:sustained``
refusal was one).

So training replays the rule over the training vectors: the lowest score at or above the
threshold at which no served client of the week (the clients left out as mostly anomalous under
the current model excepted, like the threshold's) has ``MODEL_SUSTAINED_ALONE`` vectors within any
``MODEL_SUSTAINED_WINDOW``.  Online, only requests at or above it count toward the flags alone
(``sustained_threshold`` in the manifest; :mod:`smartlayer.ml.runtime`); a rule agreeing, a
corroborating tell or a run of tells still count every request above the threshold.  A week
without such a visit learns the threshold itself: nothing changes.
"""
from __future__ import annotations

import math

import numpy as np

from ...conf import sl_settings


def _most_in_a_window(ts: np.ndarray, window: float) -> int:
    """The most of these (sorted) times within any ``window`` seconds (a window ending at each)."""
    if not len(ts):
        return 0
    starts = np.searchsorted(ts, ts - window, side="right")
    return int((np.arange(len(ts)) - starts + 1).max())


def sustained_threshold(scores: np.ndarray, clients: np.ndarray, ts: np.ndarray, threshold: float, *,
                        sample_every: int = 1, alone: int | None = None, window: float | None = None) -> float:
    """The lowest score ≥ ``threshold`` at which no client has ``alone`` vectors within ``window``.

    ``scores``, ``clients``, ``ts``: the served training vectors' scores, client keys and times.
    ``sample_every``: only every k-th request of a client became a vector, so ``alone`` flags are
    ``alone / k`` vectors.  Cost: one pass per candidate score (the scores of the clients that
    reach the count, highest first), each over those clients' flagged vectors only.
    """
    alone = int(sl_settings.MODEL_SUSTAINED_ALONE if alone is None else alone)
    window = float(sl_settings.MODEL_SUSTAINED_WINDOW if window is None else window)
    need = max(1, math.ceil(alone / max(1, int(sample_every))))
    above = scores >= threshold
    if alone <= 0 or int(above.sum()) < need:
        return float(threshold)
    order = np.lexsort((ts[above], clients[above]))
    s, c, t = scores[above][order], clients[above][order], ts[above][order]
    bounds = np.flatnonzero(np.r_[True, c[1:] != c[:-1], True])
    groups = [(s[a:b], t[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=False) if b - a >= need]

    def reached(bar: float) -> bool:
        return any(_most_in_a_window(gt[gs >= bar], window) >= need for gs, gt in groups)

    if not groups or not reached(threshold):
        return float(threshold)
    # the smallest bar that no client reaches: among these clients' scores, by bisection
    candidates = np.unique(np.concatenate([gs for gs, _ in groups]))
    lo, hi = 0, len(candidates)          # candidates[hi] (or above the last) is never reached
    while lo < hi:
        mid = (lo + hi) // 2
        if reached(float(np.nextafter(candidates[mid], np.inf))):
            lo = mid + 1
        else:
            hi = mid
    if lo >= len(candidates):
        return float(np.nextafter(candidates[-1], np.inf))
    return float(np.nextafter(candidates[lo], np.inf))
