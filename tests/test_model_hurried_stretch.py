"""Page views opened seconds apart without a referer corroborate the model only as one hurried stretch.

Behind an office's address the window also holds the colleagues' first requests of the day, each a
page opened directly; two people landing within seconds of each other make one hurried direct page
view, and two such coincidences in ten minutes passed the site's ceiling of 1 and got three colleagues
refused (plain tuning seed 106, training/README.md).  A task list opens URL after URL: its hurried
direct page views are one stretch that grows with every page, and stays corroborated.
"""
from __future__ import annotations

from smartlayer.ml.features import FEATURE_NAMES, N_FEATURES, extract
from smartlayer.ml.runtime import ActiveModel
from smartlayer.ml.tells import hurried_direct_stretch
from smartlayer.request.facts import FLAG_NAVIGATED, FLAG_PROFILED
from smartlayer.state.windows.window import ClientWindow

T0 = 1_700_000_000.0
HD = FEATURE_NAMES.index("hurried_direct_pages")
CEILINGS = {"hurried_direct_pages": 1.0, "even_gap_share": 0.7, "silent_share": 1.0, "steady_dwell": 0.85}


class _Forest:
    def anomaly_score(self, x) -> float:
        return 0.7


def _model(ceilings: dict[str, float] = CEILINGS) -> ActiveModel:
    manifest = {"threshold": 0.6, "feature_stats": {"median": [0.0] * N_FEATURES, "scale": [1.0] * N_FEATURES},
                "tell_ceilings": ceilings, "tells_profiled": True}
    return ActiveModel("t-1", _Forest(), manifest)


def _window(pages: list[tuple[float, str, bool]]):
    """The snapshot after page views ``(seconds after T0, path, navigated)`` of one window."""
    window = ClientWindow(500)
    snap = None
    for dt, path, navigated in pages:
        snap = window.arrive((T0 + dt, "GET", path, FLAG_PROFILED | (FLAG_NAVIGATED if navigated else 0)), 600.0)
    return snap


# an office's address: colleagues' landings, two of them 6 s apart twice (seven minutes between), and a
# colleague's first page with its cookie (reached by the landing's link) 2 s after a landing
OFFICE = [(0.0, "/", False), (6.0, "/category/hats/", False), (40.0, "/products/3/", True),
          (420.0, "/category/bags/", False), (426.0, "/", False), (428.0, "/products/29/", True)]
# a task list: a URL every 3-5 s, each opened directly
TASKS = [(4.0 * i, f"/products/{17 * i % 300}/", False) for i in range(6)]


def test_the_stretch_counts_hurried_direct_page_views_between_pauses():
    office, tasks = _window(OFFICE), _window(TASKS)
    assert extract(office)[HD] == 2.0 and hurried_direct_stretch(office.arrivals) == 1
    assert extract(tasks)[HD] == 5.0 and hurried_direct_stretch(tasks.arrivals) == 5
    # a page reached by a link inside the stretch neither breaks it nor counts
    mixed = _window([(0.0, "/a/", False), (3.0, "/b/", True), (6.0, "/c/", False), (9.0, "/d/", False)])
    assert hurried_direct_stretch(mixed.arrivals) == 2
    assert hurried_direct_stretch(()) == 0


def test_people_landing_behind_one_address_by_coincidence_corroborate_nothing():
    scored = _model().score(_window(OFFICE))
    assert scored.above_threshold and scored.corroborated is False


def test_a_task_list_opening_urls_seconds_apart_is_still_corroborated():
    assert _model().score(_window(TASKS)).corroborated is True
    # as soon as two of its hurried direct page views follow each other
    assert _model().score(_window(TASKS[:3])).corroborated is True


def test_another_tell_beyond_its_ceiling_still_corroborates_the_coincidences():
    # a site whose pages send beacons (people's silent share at most half): eight page views of the
    # address, none of them followed by a beacon
    model = _model({**CEILINGS, "silent_share": 0.5})
    longer = OFFICE + [(480.0 + 50 * i, f"/products/{40 + i}/", True) for i in range(2)]
    assert model.score(_window(longer)).corroborated is True
    assert _model().score(_window(longer)).corroborated is False
