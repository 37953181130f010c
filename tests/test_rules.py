"""Every documented rule of AIAnomalyDetector at its boundary, without HTTP."""
from __future__ import annotations

import pytest

from smartlayer.detectors.behaviour.rules import evaluate
from smartlayer.request.facts import arrival_flags, longest_sequential_run
from smartlayer.state.windows.window import ClientWindow

BROWSER = "Mozilla/5.0 Chrome/126.0"
T0 = 1_700_000_000.0


class Feed:
    """Drive one ClientWindow the way the middleware does: arrive, then complete."""

    def __init__(self, ua=BROWSER, authenticated=True):
        self.win = ClientWindow(200)
        self.ua = ua
        self.auth = authenticated

    def hit(self, ts, path="/", status=200, method="GET", ua=None, complete=True):
        flags = arrival_flags(authenticated=self.auth, user_agent=self.ua if ua is None else ua, path=path)
        snap = self.win.arrive((ts, method, path, flags), 600)
        if complete:
            self.win.complete((ts, status, 5.0, False))
        return snap

    def warm(self, n, start=T0 - 7200, gap=60.0):
        """n calm requests long ago: leaves the grace period without tripping rules."""
        for i in range(n):
            self.hit(start + i * gap, path=f"/page/{i % 3}")


def result_of(snap, **kw):
    return evaluate(snap, **kw)


# ── BLACK ──────────────────────────────────────────────────────────────────
def test_empty_user_agent_blocks_at_first_request():
    f = Feed(ua="")
    r = result_of(f.hit(T0))
    assert r.black == ["empty_user_agent"]


def test_whitespace_user_agent_counts_as_empty():
    f = Feed(ua="   ")
    assert "empty_user_agent" in result_of(f.hit(T0)).black


@pytest.mark.parametrize("n, blocked", [(49, False), (50, True)])
def test_request_flood_boundary_49_50_in_10s(n, blocked):
    f = Feed()
    snap = None
    for i in range(n):
        snap = f.hit(T0 + i * (9.9 / n))
    assert ("request_flood" in result_of(snap).black) is blocked


def test_requests_older_than_10s_do_not_count():
    f = Feed()
    for i in range(49):
        f.hit(T0 + i * 0.1)
    snap = f.hit(T0 + 10.5)  # the first ones have left the 10 s window
    assert "request_flood" not in result_of(snap).black


@pytest.mark.parametrize("errors, blocked", [(74, False), (75, True)])
def test_error_flood_boundary_74_75_percent(errors, blocked):
    f = Feed()
    for i in range(100):
        f.hit(T0 + i * 1.0, status=404 if i < errors else 200)
    snap = f.hit(T0 + 100.5, complete=False)
    assert ("error_flood" in result_of(snap).black) is blocked


@pytest.mark.parametrize("finished, blocked", [(9, False), (10, True)])
def test_error_flood_needs_ten_finished_requests(finished, blocked):
    f = Feed()
    for i in range(finished):
        f.hit(T0 + i, status=500)
    snap = f.hit(T0 + finished + 0.5, complete=False)
    assert ("error_flood" in result_of(snap).black) is blocked


def test_smartlayer_blocks_do_not_feed_the_error_rule():
    f = Feed()
    for i in range(20):
        f.win.arrive((T0 + i, "GET", "/", 0), 600)
        f.win.complete((T0 + i, 403, 0.1, True))  # blocked by smartlayer itself
    snap = f.hit(T0 + 21, complete=False)
    assert "error_flood" not in result_of(snap).black


# ── grace period ───────────────────────────────────────────────────────────
@pytest.mark.parametrize("n, graced", [(20, True), (21, False)])
def test_grace_first_20_requests_are_never_scored(n, graced):
    f = Feed(ua="curl/8.0", authenticated=False)
    snap = None
    for i in range(n):
        snap = f.hit(T0 + i * 30.0, path="/.env")
    r = result_of(snap)
    assert r.in_grace is graced
    assert (r.score == 0) is graced


# ── GREY weights, each at its boundary ─────────────────────────────────────
def test_suspicious_user_agent_scores_2():
    f = Feed(ua="python-requests/2.31")
    f.warm(25)
    r = result_of(f.hit(T0))
    assert r.fired == ["suspicious_user_agent"] and r.score == 2


@pytest.mark.parametrize("n, fired", [(19, False), (20, True), (49, True)])
def test_elevated_rate_20_to_49(n, fired):
    f = Feed()
    f.warm(25)
    snap = None
    for i in range(n):
        snap = f.hit(T0 + i * 0.1, path="/page/1")
    r = result_of(snap)
    assert ("elevated_rate" in r.fired) is fired
    if fired:
        assert r.score >= 3


@pytest.mark.parametrize("errors, fired", [(39, False), (40, True), (74, True), (75, False)])
def test_moderate_error_rate_40_to_74(errors, fired):
    f = Feed()
    f.warm(25)
    for i in range(100):
        f.hit(T0 + i * 1.0, status=404 if i < errors else 200, path="/page/1")
    r = result_of(f.hit(T0 + 100.5, complete=False, path="/page/1"))
    assert ("moderate_error_rate" in r.fired) is fired


def test_sensitive_path_scores_4_unless_staff():
    f = Feed()
    f.warm(25)
    snap = f.hit(T0, path="/admin/login/")
    assert result_of(snap).score == 4
    assert "sensitive_path" not in result_of(snap, is_staff=True).fired


@pytest.mark.parametrize("distinct, fired", [(14, False), (15, True)])
def test_endpoint_scanning_15_distinct_paths_per_minute(distinct, fired):
    f = Feed()
    f.warm(25)
    snap = None
    for i in range(distinct):
        snap = f.hit(T0 + i * 3.0, path=f"/page/x{i}")
    assert ("endpoint_scanning" in result_of(snap).fired) is fired


@pytest.mark.parametrize("run, fired", [(4, False), (5, True)])
def test_sequential_id_probing(run, fired):
    f = Feed()
    f.warm(25)
    snap = None
    for i in range(run):
        snap = f.hit(T0 + i * 5.0, path=f"/users/{100 + i}")
    r = result_of(snap)
    assert ("sequential_id_probing" in r.fired) is fired
    if fired:
        assert r.score == 5


def test_sequential_run_is_per_template_and_ignores_random_ids():
    assert longest_sequential_run(["/users/1", "/orders/2", "/users/3", "/items/4", "/x/5"]) == 1
    assert longest_sequential_run(["/p/4", "/p/89", "/p/247", "/p/1000", "/p/7"]) == 1
    assert longest_sequential_run(["/u/3", "/u/1", "/u/2", "/u/5", "/u/4"]) == 5


def test_burst_after_idle_on_one_endpoint():
    f = Feed()
    f.warm(25, start=T0 - 86000 + 3600)  # active long ago, idle for the last 40 minutes
    snap = None
    for i in range(15):
        snap = f.hit(T0 + i * 0.5, path="/api/report")
    assert "burst_after_idle" in result_of(snap).fired


def test_no_burst_when_client_was_active_30_to_40_minutes_ago():
    f = Feed()
    f.warm(25, start=T0 - 2400, gap=20)  # requests between 40 and 32 minutes ago
    snap = None
    for i in range(15):
        snap = f.hit(T0 + i * 0.5, path="/api/report")
    assert "burst_after_idle" not in result_of(snap).fired


def test_unauthenticated_adds_one():
    f = Feed(authenticated=False)
    f.warm(25)
    r = result_of(f.hit(T0))
    assert r.fired == ["unauthenticated"] and r.score == 1


@pytest.mark.parametrize("extra, total", [
    (["sensitive_path", "elevated_rate"], 7),
    (["sensitive_path", "elevated_rate", "unauthenticated"], 8),
])
def test_score_7_and_8_combinations(extra, total):
    f = Feed(authenticated="unauthenticated" not in extra)
    f.warm(25, start=T0 - 2400, gap=20)  # active 40–32 minutes ago: no burst-after-idle
    snap = None
    for i in range(20):
        snap = f.hit(T0 + i * 0.1, path="/admin/" if i == 19 else "/page/1")
    r = result_of(snap)
    assert sorted(r.fired) == sorted(extra)
    assert r.score == total


def test_weights_and_thresholds_are_overridable(sl):
    sl(grey_weights={"unauthenticated": 6}, grey_grace_requests=0)
    f = Feed(authenticated=False)
    r = result_of(f.hit(T0))
    assert r.score == 6
