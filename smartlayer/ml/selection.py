"""Which requests the model scores — online (the detector) and offline (training) alike.

Kept apart from the vector itself (:mod:`.features`): the detector asks this on every request,
the extractor runs only when it says yes.  Re-exported by :mod:`.features`.
"""
from __future__ import annotations

from ..conf import sl_settings
from ..request.facts import FLAG_ASSET, FLAG_DECLARED_CRAWLER, FLAG_TELEMETRY
from ..state.windows.snapshot import Snapshot


def past_grace(snap: Snapshot) -> bool:
    """True once the client is past the grace period: :func:`smartlayer.detectors.behaviour.rules.evaluate`
    puts a client in grace while ``count_last_day() <= grey_grace_requests`` (nothing refuses it then
    on behaviour alone)."""
    grace = int(sl_settings.grey_grace_requests)
    # every arrival still in the window is also in the 24 h count
    return len(snap.arrivals) > grace or snap.count_last_day() > grace


_RESOURCES = FLAG_ASSET | FLAG_TELEMETRY


def scored(snap: Snapshot) -> bool:
    """True when the model scores this request — online (the detector) and offline (training) alike.

    Score early, decide later: from the client's ``MODEL_SCORE_FROM``-th request in 24 h, inside
    the grace period too, so the evidence (each request above the threshold) accumulates from the
    start of a visit; the grace period still decides when the behaviour may refuse anyone.
    A page's assets and beacons are not scored on their own: the features of the next page view
    or call count them (their pace is the page's, not the client's).  Nor is a declared crawler
    that asked for robots.txt: ``CRAWLER_POLICY`` judges crawlers, the model learns how browsers
    and the site's API clients behave (a crawler's no-asset, no-referer pace is what a task-list
    bot in a browser looks like; learned as normal, it would hide them).
    """
    arr = snap.arrivals
    if not arr:
        return False
    flags = arr[-1][3]
    if flags & _RESOURCES or (flags & FLAG_DECLARED_CRAWLER and snap.robots_at):
        return False
    start = max(1, int(sl_settings.MODEL_SCORE_FROM))
    return len(arr) >= start or snap.count_last_day() >= start
