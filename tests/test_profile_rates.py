"""The rate allowance is learned the way the rate rules count: each client's busiest sliding 10 s, across clients."""
from __future__ import annotations

from smartlayer.detectors.behaviour.rules import evaluate
from smartlayer.profile.core import Profile
from smartlayer.profile.learn import Row, learn_profile
from smartlayer.profile.rates import SlidingCounts, peak_quantiles
from smartlayer.request.facts import arrival_flags
from smartlayer.state.windows.window import ClientWindow

T0 = 1_700_000_000.0
BROWSER = "Mozilla/5.0 Chrome/126.0"


def test_a_burst_across_a_bucket_edge_is_counted_whole():
    counts = SlidingCounts(10.0)
    for i in range(30):                       # 30 in the second before a 10 s edge, 30 in the second after it
        counts.add("a", T0 + 9.0 + i * 0.03)
        counts.add("a", T0 + 10.05 + i * 0.03)
    assert counts.peaks["a"] == 60            # fixed 10 s buckets would say 30


def test_requests_older_than_the_window_leave_it():
    counts = SlidingCounts(10.0)
    for i in range(50):
        counts.add("a", T0 + i * 2.0)         # one every 2 s: never more than 6 within 10 s
    assert counts.peaks["a"] == 6


def test_a_late_row_is_placed_where_it_belongs():
    counts = SlidingCounts(10.0)
    for ts in (0.0, 20.0, 10.5):              # 10.5 arrives after 20.0 (two workers writing one log)
        counts.add("a", T0 + ts)
    assert counts.peaks["a"] == 1             # 0.0 is 10.5 s before it: alone in its window
    counts.add("a", T0 + 20.4)                # 10.5, 20.0 and 20.4 within 10 s
    assert counts.peaks["a"] == 3


def test_prune_forgets_silent_clients_but_keeps_their_peaks():
    counts = SlidingCounts(10.0)
    for i in range(5):
        counts.add("quiet", T0 + i)
    counts.add("busy", T0 + 100)
    counts.prune(T0 + 100)
    assert list(counts._recent) == ["busy"] and counts.peaks == {"quiet": 5, "busy": 1}
    counts.add("quiet", T0 + 101)             # back after a pause: a new window
    assert counts.peaks["quiet"] == 5


def test_one_client_does_not_set_the_allowance_for_everyone():
    peaks = [10] * 19 + [500]
    assert peak_quantiles(peaks) == [10, 10, 10, 500]
    assert peak_quantiles([3, 7]) == [3, 7, 7, 7]          # too few clients to leave one out
    assert peak_quantiles([]) == [0, 0, 0, 0]


def _reader_rows(client: str, start: float, tabs: int) -> list[Row]:
    """A reader whose page flushes 35 queued events on load, then posts every 2 s from each open tab."""
    rows, t = [], start
    for page in range(6):
        rows.append(Row(t, client, "GET", f"/articles/{page + 1}/", 200, "text/html", "text/html",
                        "document/navigate/same-origin", False, "news.example", []))
        for _ in range(35):
            t += 0.02
            rows.append(Row(t, client, "POST", "/t/collect/", 204, "", "*/*", "empty/no-cors/same-origin", False,
                            "news.example", []))
        until = t + 60
        while t < until:
            t += 2.0 / tabs
            rows.append(Row(t, client, "POST", "/t/collect/", 204, "", "*/*", "empty/no-cors/same-origin", False,
                            "news.example", []))
    return rows


def test_a_reader_with_three_tabs_open_is_within_the_sites_norm():
    rows = []
    for c in range(30):
        rows += _reader_rows(f"ip:10.0.1.{c}", T0 + c * 5000 + (c % 7) * 1.3, tabs=(1, 1, 2, 3)[c % 4])
    doc = learn_profile(rows, resolver=False, min_clients=3, min_support=30)
    beacons = doc["endpoints"]["/t/collect/"]
    assert beacons["class"] == "telemetry"
    # a page load: 35 flushed events, then 3 tabs posting for ten seconds — a busiest 10 s others had too
    assert beacons["allowance_10s"] >= 35 + 14
    profile = Profile(doc, "rates-test")

    win, snap = ClientWindow(2000), None
    for i in range(25):                       # an established reader, past the grace period
        win.arrive((T0 - 7200 + i * 60, "GET", "/articles/1/", arrival_flags(authenticated=False,
                                                                             user_agent=BROWSER, path="/articles/1/")), 600)
    t = T0
    for _ in range(35):
        t += 0.02
        snap = win.arrive((t, "POST", "/t/collect/", arrival_flags(authenticated=False, user_agent=BROWSER,
                                                                  path="/t/collect/")), 600)
    for _ in range(14):
        t += 2.0 / 3
        snap = win.arrive((t, "POST", "/t/collect/", arrival_flags(authenticated=False, user_agent=BROWSER,
                                                                  path="/t/collect/")), 600)
    assert "elevated_rate" in evaluate(snap).fired or evaluate(snap).black   # the fixed thresholds refuse it
    judged = evaluate(snap, profile=profile)
    assert not judged.black and "elevated_rate" not in judged.fired


def test_normal_count_is_each_templates_count_up_to_its_allowance():
    """Paths of one template add up before the allowance caps them; unknown paths and endpoints
    without an allowance count nothing (checked against a plain recount on random arrivals)."""
    import random

    doc = {"format": 1, "endpoints": {
        "/t/collect/": {"class": "telemetry", "allowance_10s": 6},
        "/articles/{int}/": {"class": "page", "allowance_10s": 3},
        "/static/{slug}": {"class": "asset", "allowance_10s": 0},
    }}
    profile = Profile(doc, "count-test")
    paths = ["/t/collect/", "/articles/1/", "/articles/2/", "/static/app.js", "/nowhere/", "/articles/x/"]
    allowance = {"/t/collect/": 6, "/articles/1/": 3, "/articles/2/": 3}
    rng = random.Random(7)
    for _ in range(300):
        arrivals = [(float(i), "GET", rng.choice(paths[:rng.randint(1, len(paths))]), 0)
                    for i in range(rng.randint(0, 20))]
        per: dict[str, int] = {}
        for a in arrivals:
            t = profile.template(a[2])
            if a[2] in allowance:
                per[t] = per.get(t, 0) + 1
        expected = sum(min(n, 6 if t == "/t/collect/" else 3) for t, n in per.items())
        assert profile.normal_count(arrivals) == expected, arrivals
