"""With a site profile, the endpoint-scanning rule counts the endpoints a client chose, not its pages'
resources: the images and files (assets) and the beacons (telemetry) a page sends while it is read.

A person clicking "next product" every few seconds on a site whose pages post telemetry reads 14
product pages a minute and their beacons go to one more path; that is reading, not a scan (the
model's features leave the beacons out of the client's own requests for the same reason).
"""
from __future__ import annotations

import json

from smartlayer.detectors.behaviour.rules import evaluate
from smartlayer.profile.core import Profile
from smartlayer.profile.learn import learn_profile
from smartlayer.state.windows.window import ClientWindow
from tests.test_profile import _rows

T0 = 1_700_000_000.0


def _profile() -> Profile:
    learned = learn_profile(_rows(beacons=12), resolver=False, min_clients=3, min_support=30)
    return Profile(json.loads(json.dumps(learned)), "v1")


def _reader(pages: int, *, beacon_paths: tuple[str, ...]):
    win = ClientWindow(500)
    t = T0 - 400.0
    for i in range(25):                       # past the grace period, long before the last minute
        win.arrive((t + 10.0 * i, "GET", "/products/1/", 0), 600)
    snap = None
    t = T0 - 58.0
    for i in range(pages):
        snap = win.arrive((t + 4.0 * i, "GET", f"/products/{100 + i}/", 0), 600)
        win.arrive((t + 4.0 * i + 0.2, "GET", "/static/site.css", 0), 600)
        for path in beacon_paths:
            snap = win.arrive((t + 4.0 * i + 1.0, "POST", path, 0), 600)
    return snap


def test_a_pages_beacons_are_not_an_endpoint_it_scans():
    profile = _profile()
    assert profile.endpoint_class("/t/collect/") == "telemetry"
    snap = _reader(14, beacon_paths=("/t/collect/",))
    assert "endpoint_scanning" not in evaluate(snap, profile=profile).fired
    # an endpoint of the client's own choosing is one: 14 pages and a 15th path it asked for
    snap = _reader(14, beacon_paths=("/cart/add/",))
    assert "endpoint_scanning" in evaluate(snap, profile=profile).fired
    # without a profile nothing is known about the paths: every one counts, as before
    assert "endpoint_scanning" in evaluate(_reader(14, beacon_paths=("/t/collect/",))).fired
