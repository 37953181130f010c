"""The feature extractor: values, online/offline parity, sampling, loaders."""
from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import numpy as np
import pandas as pd
import pytest

from smartlayer.ml import features as F
from smartlayer.ml.features import FEATURE_NAMES, N_FEATURES, extract
from smartlayer.ml.training import frames
from smartlayer.ml.training.frames import frame_to_vectors
from smartlayer.request.facts import arrival_flags, longest_sequential_run
from smartlayer.state.windows.window import ClientWindow

T0 = 1_700_000_000.0
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"


def col(vec: list[float], name: str) -> float:
    return vec[FEATURE_NAMES.index(name)]


def feed(win: ClientWindow, ts: float, path: str = "/", *, method: str = "GET", status: int = 200,
         ms: float = 20.0, ua: str = BROWSER, auth: bool = False, blocked: bool = False):
    snap = win.arrive((ts, method, path, arrival_flags(authenticated=auth, user_agent=ua, path=path)), 600)
    vec = extract(snap)
    win.complete((ts, status, ms, blocked))
    return snap, vec


def synthetic_rows(seed: int = 3, clients: int = 12, per_client: int = 120) -> pd.DataFrame:
    """Interleaved clients with ties, blocked outcomes, sensitive paths, IDs, auth and tools."""
    rng = random.Random(seed)
    rows = []
    for c in range(clients):
        kind = c % 4
        t = T0 + rng.uniform(0, 300)
        uid = f"u:{c}" if kind == 1 else f"ip:10.0.0.{c}"
        for i in range(per_client):
            if kind == 3:
                t += 0.2  # an enumerator: metronome, sequential IDs
                path = f"/users/{1000 + i}"
            else:
                t += rng.choice([0.0, 0.5, 2.0, 7.0, 40.0, 700.0]) * rng.random()
                path = rng.choice(["/", "/products/", f"/products/{rng.randint(1, 9)}", "/cart/", "/admin/",
                                   "/api/items/", "/static/app.js"])
            rows.append({
                "ts": round(t, 3), "client_key": uid,
                "method": rng.choice(["GET"] * 8 + ["POST", "HEAD"]),
                "path": path,
                "status_code": rng.choice([200] * 10 + [404, 403, 500, 302]),
                "response_time_ms": round(rng.uniform(1, 300), 2),
                "user_agent": "python-requests/2.31" if kind == 2 else ("" if i == 5 and kind == 0 else BROWSER),
                "authenticated": kind == 1,
                "was_blocked": rng.random() < 0.05,
                "label": "enumeration" if kind == 3 else "human",
            })
    rng.shuffle(rows)  # row order must not matter, only (client, ts)
    return pd.DataFrame(rows)


# ── values ───────────────────────────────────────────────────────────────────

def test_names_and_shape_are_fixed():
    assert len(FEATURE_NAMES) == N_FEATURES == len(set(FEATURE_NAMES))
    assert F.FEATURE_SET_VERSION == "fs3"
    win = ClientWindow(200)
    _, vec = feed(win, T0)
    assert len(vec) == N_FEATURES and all(isinstance(v, float) and math.isfinite(v) for v in vec)


def test_rates_shares_and_flags():
    win = ClientWindow(200)
    # 30 requests over 4 minutes, a pause, then 12 in the last 10 seconds
    for i in range(30):
        feed(win, T0 + i * 8, f"/page/{i % 3}", status=404 if i % 5 == 0 else 200)
    for i in range(12):
        snap, vec = feed(win, T0 + 300 + i * 0.8, "/admin/", method="POST", status=500, ua="curl/8.0", auth=True)
    assert col(vec, "count_10s") == 12
    assert col(vec, "count_60s") == 12
    assert col(vec, "count_24h") == 42
    assert col(vec, "count_window") == 42
    # 11 of the 12 /admin/ outcomes are in (the current request is not finished)
    finished = 30 + 11
    assert col(vec, "share_5xx") == pytest.approx(11 / finished)
    assert col(vec, "share_404") == pytest.approx(6 / finished)
    assert col(vec, "share_4xx") == pytest.approx(6 / finished)
    assert col(vec, "sensitive_hits") == 12
    assert col(vec, "share_post") == pytest.approx(12 / 42)
    assert col(vec, "suspicious_ua") == 1.0 and col(vec, "authenticated") == 1.0
    assert col(vec, "distinct_paths_60s") == 1
    assert col(vec, "path_entropy_60s") == 0.0


def test_rhythm_entropy_and_sequential_ids():
    win = ClientWindow(200)
    for i in range(40):
        snap, vec = feed(win, T0 + i * 0.5, f"/users/{100 + i}")
    assert col(vec, "gap_cv") == pytest.approx(0.0, abs=1e-6)           # a metronome
    assert col(vec, "log_gap_mean_s") == pytest.approx(math.log1p(0.5))
    assert col(vec, "sequential_run_60s") == 40
    assert col(vec, "path_entropy_60s") == pytest.approx(math.log2(40))  # 40 distinct paths, once each
    win2 = ClientWindow(200)
    for i, gap in enumerate([1, 30, 2, 50, 1, 90, 3]):
        snap, vec2 = feed(win2, T0 + sum([1, 30, 2, 50, 1, 90, 3][:i]) + gap, "/")
    assert col(vec2, "gap_cv") > 0.8                                     # people are bursty


def test_blocked_outcomes_are_counted_apart():
    win = ClientWindow(200)
    for i in range(10):
        feed(win, T0 + i, "/x", status=403 if i < 4 else 200, blocked=i < 4)
    _, vec = feed(win, T0 + 10, "/x")
    assert col(vec, "share_blocked") == pytest.approx(4 / 10)
    assert col(vec, "share_4xx") == 0.0  # the blocked 403s are not the client's errors


def test_empty_and_single_arrival_windows():
    from smartlayer.state.windows.window import Snapshot

    empty = Snapshot(now=T0, arrivals=(), outcomes=(), minutes={}, hours={}, first_seen=T0)
    assert extract(empty) == [0.0] * N_FEATURES
    _, vec = feed(ClientWindow(200), T0)
    assert col(vec, "log_gap_mean_s") == pytest.approx(math.log1p(600))


def _reference_run(paths):
    """The rule written plainly: regex per path, runs per template."""
    import re

    by_template = {}
    for p in paths:
        m = re.match(r"^(.*?)(\d{1,12})/?$", p)
        if m:
            by_template.setdefault(m.group(1), set()).add(int(m.group(2)))
    best = 0
    for ids in by_template.values():
        for i in ids:
            n = 0
            while i + n in ids:
                n += 1
            best = max(best, n)
    return best


def test_memoised_sequential_run_matches_the_plain_rule():
    rng = random.Random(7)
    templates = ["/users/", "/orders/", "/a/b/", "/", "/x-", "/p/٣"]
    for _ in range(3000):
        paths = []
        for _ in range(rng.randint(0, 12)):
            t = rng.choice(templates)
            n = rng.choice([rng.randint(0, 30), rng.randint(10**12, 10**12 + 5), rng.randint(10**14, 10**14 + 3)])
            tail = rng.choice(["", "/", "//", "x", "٣"])
            paths.append(f"{t}{n}{tail}")
        assert longest_sequential_run(paths) == _reference_run(paths), paths


# ── online / offline parity ────────────────────────────────────────────────

def online_vectors(df: pd.DataFrame) -> dict[int, list[float]]:
    """What the middleware's Detector hands to the model, request by request.

    Drives the real :class:`smartlayer.detectors.behaviour.detector.Detector` (monitor mode, so
    nothing is banned) with a spy model that extracts features from the
    snapshot it is given, in global time order as requests arrive.
    """
    from smartlayer.detectors.behaviour.detector import Detector
    from smartlayer.ml.runtime import ModelScore
    from smartlayer.request.client import Client
    from smartlayer.request.context import RequestContext
    from smartlayer.state.ban_backends import MemoryBans
    from smartlayer.state.windows.window import LocalWindowStore

    seen: dict[int, list[float]] = {}
    current: list[int] = [-1]

    class Spy:
        def score(self, snap):
            seen[current[0]] = extract(snap)
            return ModelScore(0.0, 1.0, "spy", [])

    det = Detector(LocalWindowStore(max_clients=1000), MemoryBans(), use_llm=False, model=Spy())
    order = df.sort_values(["ts"], kind="stable").index
    for idx in order:
        r = df.loc[idx]
        key = r.client_key
        client = Client(key=key, ip="10.0.0.1", user_id=key[2:] if key.startswith("u:") else None,
                        authenticated=bool(r.authenticated))
        ctx = RequestContext(client=client, method=r.method, path=r.path, user_agent=r.user_agent,
                             started=float(r.ts), t0=0.0)
        current[0] = int(idx)
        det.inspect(ctx, float(r.ts), monitor=True)
        det.record_outcome(ctx, int(r.status_code), float(r.response_time_ms), bool(r.was_blocked), now=float(r.ts))
    return seen


def test_online_and_offline_vectors_are_identical():
    df = synthetic_rows()
    online = online_vectors(df)
    X, meta = frame_to_vectors(df)
    assert len(X) == len(online) > 500
    offline = {int(row): list(vec) for row, vec in zip(meta["row"], X, strict=True)}
    assert offline.keys() == online.keys()
    for row, vec in online.items():
        assert offline[row] == vec, (row, df.loc[row].to_dict())  # exact, not approximate


def test_requests_are_vectorised_from_model_score_from(sl):
    sl(grey_grace_requests=20, MODEL_SCORE_FROM=21)
    rows = [{"ts": T0 + i, "client_key": "ip:1.2.3.4", "method": "GET", "path": f"/p{i}", "status_code": 200,
             "response_time_ms": 5.0, "user_agent": BROWSER, "authenticated": False, "was_blocked": False}
            for i in range(25)]
    X, meta = frame_to_vectors(pd.DataFrame(rows))
    assert list(meta["row"]) == [20, 21, 22, 23, 24]  # the 21st request is the first one scored
    assert col(list(X[0]), "count_24h") == 21
    sl(MODEL_SCORE_FROM=2)  # score early (the default): inside the grace period, from the 2nd request
    X, meta = frame_to_vectors(pd.DataFrame(rows))
    assert list(meta["row"]) == list(range(1, 25))


def test_sampling_is_bounded_deterministic_and_exact():
    df = synthetic_rows(clients=8, per_client=200)
    full, full_meta = frame_to_vectors(df)
    by_row = {int(r): v for r, v in zip(full_meta["row"], full, strict=True)}
    X1, m1 = frame_to_vectors(df, sample_every=3, max_vectors=100, seed=5)
    X2, m2 = frame_to_vectors(df, sample_every=3, max_vectors=100, seed=5)
    X3, m3 = frame_to_vectors(df, sample_every=3, max_vectors=100, seed=6)
    assert len(X1) == 100 and np.array_equal(X1, X2) and list(m1["row"]) == list(m2["row"])
    assert list(m1["row"]) != list(m3["row"])
    for r, v in zip(m1["row"], X1, strict=True):  # a sampled vector is the vector of that request
        assert np.array_equal(v, by_row[int(r)])
    assert m1["client_key"].nunique() == df["client_key"].nunique()
    Xe, _ = frame_to_vectors(df, sample_every=4)
    assert len(full) / 4 - 20 <= len(Xe) <= len(full) / 4 + 20


def test_reservoir_is_uniform():
    hits = np.zeros(50)
    for seed in range(2000):
        res = frames._Reservoir(5, random.Random(seed))
        kept = list(range(5))
        for i in range(50):
            slot = res.take()
            if slot is not None and i >= 5:
                kept[slot] = i
        hits[kept] += 1
    # each of 50 items is kept with probability 5/50: 200 expected per item
    assert hits.min() > 150 and hits.max() < 250


def test_missing_columns_are_refused():
    with pytest.raises(ValueError, match="missing columns"):
        frame_to_vectors(pd.DataFrame({"ts": [1.0]}))


# ── loaders ──────────────────────────────────────────────────────────────────

def test_records_frame_keys_and_exempt_paths():
    from smartlayer.sim import TrafficRecord

    recs = [
        TrafficRecord(ts=T0, ip="203.0.113.5", method="GET", path="/", query="", status=200, user_agent=BROWSER,
                      response_ms=3.0, user_id="42", label="human"),
        TrafficRecord(ts=T0 + 1, ip="2001:db8::1", method="GET", path="/static/x.css", query="", status=200,
                      user_agent=BROWSER, response_ms=1.0),
        TrafficRecord(ts=T0 + 2, ip="2001:db8::1", method="POST", path="/login", query="", status=302,
                      user_agent="", response_ms=9.0, label="credential_stuffing"),
    ]
    df = frames.records_frame(recs)
    assert list(df["client_key"]) == ["u:42", "ip:2001:db8::/64"]   # /static/ is exempt in tests
    assert list(df["authenticated"]) == [True, False]
    assert list(frames.records_frame(recs, key="ip")["client_key"]) == ["ip:203.0.113.5", "ip:2001:db8::/64"]


@pytest.mark.django_db
def test_requestlog_frame_leaves_out_what_was_not_served():
    from smartlayer.models import Ban, RequestLog

    base = datetime(2025, 3, 1, 12, tzinfo=dt_timezone.utc)

    def log(i: int, key: str, **kw):
        fields = {"timestamp": base + timedelta(seconds=i), "client_key": key, "method": "GET", "path": "/p",
                  "status_code": 200, "response_time_ms": 4.5, "user_agent": BROWSER}
        fields.update(kw)
        return RequestLog(**fields)

    rows = [log(i, "ip:1.1.1.1") for i in range(30)]
    rows += [log(40 + i, "u:7", user_id="7") for i in range(5)]
    rows += [log(50, "ip:1.1.1.1", was_blocked=True), log(51, "ip:1.1.1.1", monitor_only=True),
             log(52, "ip:1.1.1.1", path="/static/app.js"), log(53, "ip:6.6.6.6"),
             log(54, "ip:8.8.8.8", ip_address="8.8.8.8"), log(-3600, "ip:1.1.1.1")]
    RequestLog.objects.bulk_create(rows)
    Ban.objects.create(client_key="ip:6.6.6.6", created_at=base - timedelta(hours=2), expires_at=base + timedelta(hours=1))
    Ban.objects.create(client_key="ip:9.9.9.9", ip_address="8.8.8.8", created_at=base)
    Ban.objects.create(client_key="ip:5.5.5.5", created_at=base - timedelta(days=3),
                       expires_at=base - timedelta(days=2))  # over before the window: irrelevant
    df = frames.requestlog_frame(base, base + timedelta(hours=1), chunk_size=7)
    assert len(df) == 35
    assert set(df["client_key"]) == {"ip:1.1.1.1", "u:7"}
    assert list(df.columns) == [*F.FRAME_COLUMNS, *F.OPTIONAL_COLUMNS]
    assert df["ts"].iloc[0] == pytest.approx(base.timestamp())
    assert df.loc[df.client_key == "u:7", "authenticated"].all()
    assert not df.loc[df.client_key == "ip:1.1.1.1", "authenticated"].any()
    empty = frames.requestlog_frame(base + timedelta(days=5), base + timedelta(days=6))
    assert empty.empty and list(empty.columns) == [*F.FRAME_COLUMNS, *F.OPTIONAL_COLUMNS]


def test_out_of_order_arrivals_never_raise():
    """Hosts with skewed clocks can record arrivals slightly out of order."""
    import math

    from smartlayer.ml.features import FEATURE_NAMES, extract
    from smartlayer.state.windows.window import ClientWindow

    win = ClientWindow(200)
    snap = None
    for ts in (1_700_000_100.0, 1_700_000_101.0, 1_700_000_050.0):
        snap = win.arrive((ts, "GET", "/", 0), 600)
    vector = extract(snap)
    assert len(vector) == len(FEATURE_NAMES) and all(math.isfinite(v) for v in vector)


# ── fs2: the site's request classes, page-view pacing, navigation ──────────

def _classes_window(*, assets: bool, referer: bool, gap: float, pages: int = 8, profiled: bool = False):
    from smartlayer.request.facts import FLAG_ASSET, FLAG_NAVIGATED, FLAG_PROFILED, FLAG_TELEMETRY

    site = FLAG_PROFILED if profiled else 0

    win = ClientWindow(200)
    t, snap = T0, None
    for i in range(pages):
        nav = (FLAG_NAVIGATED if referer and i else 0) | site
        snap = win.arrive((t, "GET", f"/products/{10 * i}/", nav), 600)
        win.complete((t, 200, 30.0, False))
        if assets:
            snap = win.arrive((t + 0.1, "GET", f"/media/{i}.jpg", FLAG_ASSET | FLAG_NAVIGATED | site), 600)
            snap = win.arrive((t + 0.3, "POST", "/t/collect/", FLAG_TELEMETRY | FLAG_NAVIGATED | site), 600)
        t += gap
    return snap


def test_page_views_assets_and_beacons_are_counted_apart():
    person = extract(_classes_window(assets=True, referer=True, gap=25.0))
    assert col(person, "page_views") == 8 and col(person, "assets") == 8
    assert col(person, "pages_with_assets") == 1.0 and col(person, "pages_with_telemetry") == 1.0
    assert col(person, "bare_pages") == 0 and col(person, "direct_pages") == 1  # only the landing page
    assert col(person, "navigated_share") == pytest.approx(7 / 8)
    assert col(person, "chain_depth") == 7
    assert col(person, "log_page_gap_mean_s") == pytest.approx(math.log1p(25.0))
    # a page's resources are not the client's own pace: the rates count page views and calls
    assert col(person, "count_window") == 8
    bot = extract(_classes_window(assets=False, referer=False, gap=4.0))
    assert col(bot, "page_views") == 8 and col(bot, "assets") == 0
    assert col(bot, "bare_pages") == 8 and col(bot, "direct_pages") == 8 and col(bot, "chain_depth") == 0
    assert col(bot, "pages_with_assets") == 0.0 and col(bot, "pages_with_telemetry") == 0.0
    assert col(bot, "log_page_gap_mean_s") == pytest.approx(math.log1p(4.0))
    assert col(bot, "page_gap_cv") == pytest.approx(0.0, abs=1e-6)


def test_without_page_views_the_page_shares_are_undefined():
    win = ClientWindow(200)
    for i in range(5):
        snap = win.arrive((T0 + i, "POST", "/api/orders/", 256), 600)  # FLAG_API
    vec = extract(snap)
    assert col(vec, "page_views") == 0 and col(vec, "api_calls") == 5
    for name in ("assets_per_page", "pages_with_assets", "pages_with_telemetry", "navigated_share", "page_breadth"):
        assert col(vec, name) == -1.0


def test_assets_beacons_and_declared_crawlers_are_not_scored(sl):
    from smartlayer.ml.features import scored
    from smartlayer.request.facts import FLAG_ASSET, FLAG_DECLARED_CRAWLER

    sl(MODEL_SCORE_FROM=2)
    win = ClientWindow(200)
    assert not scored(win.arrive((T0, "GET", "/", 0), 600))           # one request: no pace yet
    assert scored(win.arrive((T0 + 1, "GET", "/a/", 0), 600))
    assert not scored(win.arrive((T0 + 1.1, "GET", "/a.jpg", FLAG_ASSET), 600))
    bot = ClientWindow(200)
    bot.arrive((T0, "GET", "/robots.txt", FLAG_DECLARED_CRAWLER), 600)
    assert not scored(bot.arrive((T0 + 2, "GET", "/a/", FLAG_DECLARED_CRAWLER), 600))  # CRAWLER_POLICY's to judge


def test_online_and_offline_vectors_are_identical_with_a_site_profile():
    """With the profile's classes and referers: the detector's flags are the training frame's flags."""
    from smartlayer.detectors.behaviour.detector import Detector
    from smartlayer.ml.runtime import ModelScore
    from smartlayer.offline.replay import _client_of
    from smartlayer.profile.core import Profile
    from smartlayer.profile.learn import learn_profile, rows_from_records
    from smartlayer.request.context import RequestContext
    from smartlayer.sim import DEFAULT_START, generate
    from smartlayer.state.ban_backends import MemoryBans
    from smartlayer.state.windows.window import LocalWindowStore

    records = generate(start=DEFAULT_START, duration=6 * 3600, seed=4, humans=12, diurnal=False,
                       scenarios={"moderate_bot": 3, "advanced_bot": 2, "telemetry": 2, "api_client": 1})
    profile = Profile(learn_profile(lambda: rows_from_records(records)))
    df = frames.records_frame(records)
    assert (df["referer_host"] != "").any()
    seen: dict[int, list[float]] = {}
    current = [-1]

    class Spy:
        def score(self, snap):
            seen[current[0]] = extract(snap)
            return ModelScore(0.0, 1.0, "spy", [])

    from smartlayer.request.exempt import is_exempt

    det = Detector(LocalWindowStore(max_clients=1000), MemoryBans(), use_llm=False, model=Spy(), profile=profile)
    served = [r for r in records if not is_exempt(r.path, r.ip)]   # what records_frame keeps, in order
    for i, r in enumerate(served):
        ctx = RequestContext(client=_client_of(r), method=r.method, path=r.path, user_agent=r.user_agent,
                             started=r.ts, t0=0.0, referer=r.referer)
        current[0] = i
        det.inspect(ctx, r.ts, monitor=True)
        det.record_outcome(ctx, r.status, r.response_ms, False, now=r.ts)
    X, meta = frame_to_vectors(df, profile=profile)
    offline = {int(row): list(vec) for row, vec in zip(meta["row"], X, strict=True)}
    assert len(offline) > 300 and offline.keys() == seen.keys()
    assert any(v[FEATURE_NAMES.index("navigated_share")] > 0 for v in offline.values())
    for row, vec in seen.items():
        assert offline[row] == vec, row


# ── fs3: the tells of a task list, as counts that grow with the evidence ────

def test_a_task_list_is_hurried_direct_and_bare_a_reader_is_not():
    bot = extract(_classes_window(assets=False, referer=False, gap=4.0, profiled=True))
    # 8 page views, 7 of them opened 4 s after the previous one: each direct, each previous page bare
    assert col(bot, "hurried_direct_pages") == 7 and col(bot, "hurried_bare_pages") == 7
    assert col(bot, "even_page_gaps") == 6              # a fixed wait: every pair of gaps is even
    person = extract(_classes_window(assets=True, referer=True, gap=25.0, profiled=True))
    assert col(person, "hurried_direct_pages") == 0 and col(person, "hurried_bare_pages") == 0
    # nobody moved a mouse on the bot's pages: none of them sent a beacon; each of the reader's did
    assert col(bot, "silent_pages") == 8 and col(person, "silent_pages") == 0
    skimmer = extract(_classes_window(assets=True, referer=True, gap=4.0, profiled=True))
    # fast, but following the site's links and loading each page's files: neither tell
    assert col(skimmer, "hurried_direct_pages") == 0 and col(skimmer, "hurried_bare_pages") == 0
    # without a site profile nothing is an asset and nobody is navigated: the tells are not judged
    unprofiled = extract(_classes_window(assets=False, referer=False, gap=4.0))
    assert [col(unprofiled, n) for n in ("hurried_direct_pages", "hurried_bare_pages", "even_page_gaps",
                                        "silent_pages")] == [0, 0, 0, 0]


def test_even_page_gaps_count_pairs_of_gaps_within_the_ratio():
    from smartlayer.request.facts import FLAG_PROFILED

    win = ClientWindow(200)
    t, snap = T0, None
    # reading times spread like people's: 5, 40, 9, 120, 14 s — no two consecutive within 15 %
    for gap in (5.0, 40.0, 9.0, 120.0, 14.0, 0.0):
        snap = win.arrive((t, "GET", f"/p/{t}/", FLAG_PROFILED), 600)
        t += gap
    assert col(extract(snap), "even_page_gaps") == 0
    win = ClientWindow(200)
    t = T0
    for gap in (10.0, 10.5, 9.8, 30.0, 10.0, 0.0):     # even, even, uneven, uneven
        snap = win.arrive((t, "GET", f"/p/{t}/", FLAG_PROFILED), 600)
        t += gap
    assert col(extract(snap), "even_page_gaps") == 2


def test_ids_reached_by_the_site_s_next_links_are_no_sequential_run():
    from smartlayer.request.facts import FLAG_NAVIGATED

    def run(nav: int, gap: float) -> float:
        win = ClientWindow(200)
        snap = None
        for i in range(8):
            snap = win.arrive((T0 + gap * i, "GET", f"/products/{40 + i}/", nav if i else 0), 600)
        return col(extract(snap), "sequential_run_60s")

    assert run(FLAG_NAVIGATED, 5.0) <= 1      # "next product", clicked at a reader's pace
    assert run(0, 5.0) == 8                   # the same ids, each opened directly: enumeration
    assert run(FLAG_NAVIGATED, 0.2) == 8      # "navigated" faster than a page can be read


def test_page_views_in_the_same_instant_do_not_break_the_even_gaps():
    from smartlayer.request.facts import FLAG_PROFILED

    win = ClientWindow(200)
    snap = None
    for t in (T0, T0, T0 + 5.0, T0 + 10.0):        # a replayed log's tie, then an even pace
        snap = win.arrive((t, "GET", f"/p/{t}/", FLAG_PROFILED), 600)
    assert col(extract(snap), "even_page_gaps") == 1
