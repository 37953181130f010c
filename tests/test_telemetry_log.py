"""The telemetry-site log generator (smartlayer.sim.telemetry_log): beacons every ~2 s dominate it."""
from __future__ import annotations

import statistics
from collections import Counter

from smartlayer.sim import DEFAULT_START, HOSTILE_LABELS
from smartlayer.sim.telemetry_log import generate_telemetry_day, generate_telemetry_week


def _day(**kw):
    return generate_telemetry_day(seed=4, start=DEFAULT_START, readers=12, **kw)


def test_most_lines_are_beacons_posted_about_every_two_seconds():
    day = _day(hostile=False)
    beacons = [r for r in day if r.label == "telemetry" and r.method == "POST"]
    assert len(beacons) > 0.6 * len(day)
    assert {r.label for r in day} <= {"telemetry", "human", "product_order", "crawler", "api_client", "office"}
    # within one reader's reading time, one tab posts every 1.5-2.5 s (more tabs, more often)
    gaps = []
    by_client: dict[str, list[float]] = {}
    for r in beacons:
        by_client.setdefault(r.client_id, []).append(r.ts)
    for times in by_client.values():
        gaps += [b - a for a, b in zip(times, times[1:], strict=False) if 0.4 < b - a < 3.0]
    assert 0.7 < statistics.median(gaps) <= 2.5


def test_hostile_day_mixes_in_every_attack_and_is_deterministic():
    day = _day()
    labels = Counter(r.label for r in day)
    assert {"scraper", "vuln_scanner", "tampering", "path_probing"} <= set(labels)
    assert set(labels) & HOSTILE_LABELS
    assert [(r.ts, r.ip, r.path) for r in day[:200]] == [(r.ts, r.ip, r.path) for r in _day()[:200]]
    assert all(a.ts <= b.ts for a, b in zip(day, day[1:], strict=False))


def test_week_is_benign():
    week = generate_telemetry_week(seed=1, readers=4)
    assert week and not {r.label for r in week} & HOSTILE_LABELS
    assert week[-1].ts - week[0].ts > 5 * 86400
