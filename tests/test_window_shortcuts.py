"""Shortcuts on the per-request path give what the long way gives.

* a snapshot's last 10 s, read by the window's running count, are the events
  a walk back from the newest finds (:meth:`Snapshot.arrivals_since`);
* the sequential run of the last minute is found again only when a path with
  an id comes or goes — and still equals counting from scratch;
* a referer's host is remembered, equal to parsing it, and the memo stays
  bounded whatever referers a client invents.
"""
from __future__ import annotations

import random

import pytest

from smartlayer.request import context
from smartlayer.request.context import _referer_host, referer_host
from smartlayer.request.facts import longest_sequential_run
from smartlayer.state.windows import recent
from smartlayer.state.windows.snapshot import _tail_since
from smartlayer.state.windows.window import ClientWindow

PATHS = ["/", "/static/a.css", "/b/1", "/b/2", "/b/3", "/b/5", "/c/7", "/beacon", "/c?x", "/img/9.png"]


@pytest.mark.parametrize("seed", range(25))
def test_the_last_ten_seconds_by_the_running_count_are_the_walked_tail(seed):
    rng = random.Random(seed)
    win = ClientWindow(rng.choice([5, 40, 200]))
    t = 2_000_000.0
    checked = 0
    for _ in range(600):
        t += rng.choice([0.0, 0.2, 0.5, 1.0, 2.0, 4.0, 9.9, 10.0, 10.1, 65.0])
        now = t - rng.choice([0.0, 0.0, 0.0, 3.0, 12.0]) if rng.random() < 0.1 else t   # late, now and then
        arrival = (now, "GET", rng.choice(PATHS), 0)
        if rng.random() < 0.1:
            win.merge_arrival(arrival, 600.0)   # another worker's, possibly into the middle
            continue
        snap = win.arrive(arrival, 600.0, view=rng.random() < 0.5)   # a view (the replay's) or a copy
        assert snap.counts is not None
        assert snap.arrivals_since(10) == _tail_since(snap.arrivals, snap.now - 10)
        assert snap.arrivals_since(60) == _tail_since(snap.arrivals, snap.now - 60)
        checked += 1
        win.complete((now, 200, 1.0, False))
    assert checked > 400


def test_paths_without_an_id_do_not_make_the_run_counted_again(monkeypatch):
    calls = []

    def counting(paths):
        calls.append(1)
        return longest_sequential_run(paths)

    monkeypatch.setattr(recent, "longest_sequential_run", counting)
    win = ClientWindow(400)
    t = 3_000_000.0
    for i in range(1, 6):   # ids 1…5 in a row: a run of 5
        snap = win.arrive((t + i, "GET", f"/items/{i}", 0), 3600.0)
    assert snap.counts.sequential_run_60s == 5
    before = len(calls)
    for j in range(40):     # a page's assets and beacons, new paths among them
        snap = win.arrive((t + 6 + j * 0.1, "GET", f"/static/app-{j % 7}.js" if j % 3 else "/beacon", 0), 3600.0)
        assert snap.counts.sequential_run_60s == 5
    assert len(calls) == before
    snap = win.arrive((t + 11, "GET", "/items/6", 0), 3600.0)   # an id: counted again
    assert snap.counts.sequential_run_60s == 6 and len(calls) == before + 1
    # minutes later every id has left the last minute: the run is 0 again
    snap = win.arrive((t + 200, "GET", "/static/app-1.js", 0), 3600.0)
    assert snap.counts.sequential_run_60s == 0
    assert snap.counts == recent.recent_of(snap.arrivals, snap.outcomes, snap.now)


def test_referer_hosts_are_remembered_equal_and_bounded(monkeypatch):
    monkeypatch.setattr(context, "_hosts", {})
    samples = ["", "-", "https://Shop.Example:8443/a?b#c", "http://user@host/x", "//cdn.example/x.js",
               "https://shop.example", "android-app://com.x/", "https://a.example/?q=//b.example/"]
    for r in samples * 2:   # the second pass reads the memo
        assert referer_host(r) == _referer_host(r)
    for i in range(context._HOSTS_MAX * 2 + 5):   # invented referers: the memo is emptied, never grows past its bound
        r = f"https://h{i}.example/p"
        assert referer_host(r) == f"h{i}.example"
        assert len(context._hosts) <= context._HOSTS_MAX
    long = "https://x.example/" + "a" * 2000
    assert referer_host(long) == "x.example" and long not in context._hosts
