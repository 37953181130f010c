"""A page view opened directly right after a page the site answered with an error is no hurry.

A person landing on a stale link (a 404) finds their way by typing an address or the home page: the
error page had no link to follow, so the next page is opened without a referer, seconds later.  On
plain tuning seed 126 a person's landing 404, the browser's ``/index.html`` (a 404) two seconds later
and ``/blog/`` typed a second after it made a hurried stretch of two against the site's ceiling of 1,
corroborating the model's flags on the 404s until the person was banned (training/README.md).  A task
list opens URL after URL: the pages that did not follow an error still count, and its stretch grows.
"""
from __future__ import annotations

from smartlayer.ml.features import extract
from smartlayer.ml.tells import answered_in_error, hurried_by_chance, hurried_direct_stretch
from smartlayer.request.facts import FLAG_NAVIGATED, FLAG_PROFILED
from smartlayer.state.windows.window import ClientWindow
from tests.test_model_hurried_stretch import HD, T0, _model


def _window(pages: list[tuple[float, str, bool, int]]):
    """The snapshot after page views ``(seconds after T0, path, navigated, status)``: each finished with
    its status before the next arrives, as served."""
    window = ClientWindow(500)
    snap = None
    for dt, path, navigated, status in pages:
        snap = window.arrive((T0 + dt, "GET", path, FLAG_PROFILED | (FLAG_NAVIGATED if navigated else 0)), 600.0)
        window.complete((T0 + dt, status, 20.0, False))
    return snap


# the person of seed 126: a stale link, the browser's /index.html, /blog/ typed, then links followed
STALE = [(0.0, "/articles/94/", False, 404), (2.0, "/index.html", False, 404), (3.0, "/blog/", False, 200),
         (14.0, "/articles/24/", True, 200), (25.0, "/articles/58/", True, 200)]
# a task list whose URLs include gone products: a URL every 3-5 s, each opened directly
TASKS = [(4.0 * i, f"/products/{17 * i % 300}/", False, 404 if i % 3 == 1 else 200) for i in range(7)]


def test_a_page_opened_right_after_an_error_page_does_not_extend_the_stretch():
    person = _window(STALE)
    assert extract(person)[HD] == 2.0 and hurried_direct_stretch(person.arrivals) == 2
    assert hurried_direct_stretch(person.arrivals, errors=answered_in_error(person.outcomes)) == 0
    assert hurried_by_chance(extract(person), person.arrivals, 1.0, person.outcomes)


def test_a_person_finding_their_way_after_a_stale_link_is_not_corroborated():
    scored = _model().score(_window(STALE))
    assert scored.above_threshold and scored.corroborated is False


def test_a_task_list_with_gone_pages_among_its_urls_is_still_corroborated():
    tasks = _window(TASKS)
    assert hurried_direct_stretch(tasks.arrivals, errors=answered_in_error(tasks.outcomes)) == 4
    assert _model().score(tasks).corroborated is True


def test_smartlayers_own_refusals_are_not_the_sites_errors():
    assert answered_in_error([(T0, 403, 1.0, True), (T0 + 1, 404, 1.0, False), (T0 + 2, 200, 1.0, False)]) \
        == frozenset([T0 + 1])
