"""A page view is bare only when it fetched none of its own files (versions trained with ``own_assets``).

A returning browser has the site's CSS, scripts and fonts cached: its page views fetch none of them,
which the fs3 count read as "left without fetching a file", the tell of a script told to skip files.
The profile learns which files the whole site shares and which pages have files of their own
(:mod:`smartlayer.profile.furnish`); a version that reads them counts only the pages that had files
of their own to fetch.  Older versions score as before.
"""
from __future__ import annotations

from dataclasses import dataclass

from smartlayer.ml.features import FEATURE_NAMES, extract
from smartlayer.ml.runtime import ActiveModel
from smartlayer.profile.furnish import MIN_VIEWS, SHARED_PAGES, learn_furnishing
from smartlayer.request.facts import (
    FLAG_ASSET,
    FLAG_NAVIGATED,
    FLAG_OWN_ASSETS,
    FLAG_PROFILED,
    FLAG_SHARED_ASSET,
    FLAG_TELEMETRY,
)
from smartlayer.state.windows.window import ClientWindow

T0 = 1_700_000_000.0


def col(vec: list[float], name: str) -> float:
    return vec[FEATURE_NAMES.index(name)]


def _visit(pages: list[tuple[str, int, list[int]]], gap: float):
    """A client's window: each page view (path, its page flags, the flags of the files it fetched)."""
    win = ClientWindow(200)
    t, snap = T0, None
    for path, page_flags, files in pages:
        snap = win.arrive((t, "GET", path, FLAG_PROFILED | FLAG_NAVIGATED | page_flags), 600)
        win.complete((t, 200, 40.0, False))
        for k, f in enumerate(files):
            snap = win.arrive((t + 0.1 * (k + 1), "GET", f"/f/{k}", FLAG_PROFILED | FLAG_NAVIGATED | f), 600)
        t += gap
    return snap


SHARED = FLAG_ASSET | FLAG_SHARED_ASSET
OWN = FLAG_ASSET


def test_a_warm_cache_on_pages_without_files_of_their_own_is_not_bare():
    # the home page and listings fetch only the site's shared files, cached after the first page
    snap = _visit([("/", 0, [SHARED, SHARED])] + [(f"/l/{i}/", 0, []) for i in range(7)], gap=4.0)
    before, after = extract(snap), extract(snap, own_assets=True)
    assert col(before, "bare_pages") == 7 and col(before, "hurried_bare_pages") == 6
    assert col(after, "bare_pages") == 0 and col(after, "hurried_bare_pages") == 0
    # nothing else moves
    rest = [i for i, n in enumerate(FEATURE_NAMES) if n not in ("bare_pages", "hurried_bare_pages")]
    assert [before[i] for i in rest] == [after[i] for i in rest]


def test_a_page_with_files_of_its_own_that_fetched_none_is_bare():
    # product pages (their images) left within seconds with no image: the script told to skip files
    snap = _visit([(f"/products/{i}/", FLAG_OWN_ASSETS, []) for i in range(8)], gap=4.0)
    after = extract(snap, own_assets=True)
    assert col(after, "bare_pages") == 8 and col(after, "hurried_bare_pages") == 7
    # the site's shared files alone do not furnish a product page: its images were not fetched
    snap = _visit([(f"/products/{i}/", FLAG_OWN_ASSETS, [SHARED]) for i in range(8)], gap=4.0)
    assert col(extract(snap, own_assets=True), "bare_pages") == 8
    assert col(extract(snap), "bare_pages") == 0
    # its images were: furnished, as a person's product pages are
    snap = _visit([(f"/products/{i}/", FLAG_OWN_ASSETS, [OWN, OWN]) for i in range(8)], gap=4.0)
    assert col(extract(snap, own_assets=True), "bare_pages") == 0
    assert col(extract(snap, own_assets=True), "hurried_bare_pages") == 0


def test_beacons_and_posts_between_page_views_change_nothing():
    pages = [(f"/products/{i}/", FLAG_OWN_ASSETS, [FLAG_TELEMETRY]) for i in range(4)]
    pages += [(f"/l/{i}/", 0, [FLAG_TELEMETRY]) for i in range(4)]
    vec = extract(_visit(pages, gap=4.0), own_assets=True)
    assert col(vec, "bare_pages") == 4 and col(vec, "hurried_bare_pages") == 4


@dataclass
class _Row:
    ts: float
    client: str
    method: str
    path: str
    status: int = 200


def _rows() -> list[_Row]:
    """People land on many pages (a cold cache: the site's CSS first), then read products (their images)."""
    rows, t = [], T0
    for c in range(2 * SHARED_PAGES):
        who = f"p{c}"
        rows.append(_Row(t, who, "GET", f"/landing/{c}/"))
        rows.append(_Row(t + 0.1, who, "GET", "/static/site.css"))
        for k in range(3):
            rows.append(_Row(t + 5 + k, who, "GET", f"/products/{c * 3 + k}/"))
            rows.append(_Row(t + 5.1 + k, who, "GET", f"/media/{c * 3 + k}-1.jpg"))
            rows.append(_Row(t + 5.2 + k, who, "GET", "/"))     # a warm cache: nothing fetched
        t += 100
    rows.append(_Row(t, "crawler", "GET", "/products/1/"))       # fetches no files: not a browser
    return rows


def _templates(path: str) -> str:
    for prefix, t in (("/landing/", "/landing/{int}/"), ("/products/", "/products/{int}/"),
                      ("/media/", "/media/{file}")):
        if path.startswith(prefix):
            return t
    return path


def test_the_profile_learns_shared_files_and_pages_with_files_of_their_own():
    rows = _rows()
    of = {r.path: _templates(r.path) for r in rows}
    classes = {"/landing/{int}/": "page", "/products/{int}/": "page", "/": "page",
               "/static/site.css": "asset", "/media/{file}": "asset"}
    shared, own = learn_furnishing(rows, of, classes)
    assert shared == {"/static/site.css"}          # after every landing page; each image after one product
    assert own["/products/{int}/"] == 1.0          # the crawler's bare view is not a browser's
    assert own["/"] == 0.0                         # only ever the shared files, or nothing
    assert "/landing/{int}/" not in own            # fewer than MIN_VIEWS views
    assert 2 * SHARED_PAGES < MIN_VIEWS <= 3 * 2 * SHARED_PAGES


class _Forest:
    def anomaly_score(self, x):
        return 0.1


def _manifest(**extra):
    n = len(FEATURE_NAMES)
    return {"threshold": 0.6, "feature_stats": {"median": [0.0] * n, "scale": [1.0] * n}, **extra}


def test_the_version_says_which_definition_it_was_trained_with():
    snap = _visit([("/", 0, [SHARED])] + [(f"/l/{i}/", 0, []) for i in range(7)], gap=4.0)
    assert ActiveModel("old", _Forest(), _manifest()).own_assets is False
    new = ActiveModel("new", _Forest(), _manifest(own_assets=True))
    assert new.own_assets is True
    seen = []
    new.score_vector = lambda x: seen.append(x)    # what the served version extracts
    new.score(snap)
    assert seen == [extract(snap, own_assets=True)] and col(seen[0], "bare_pages") == 0
