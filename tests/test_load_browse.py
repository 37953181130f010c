"""``load.py --browse``'s traffic, checked without wrk: a human visit is cut into page-view bursts
(a page and what it fetched until the next page), a client replays one person visit after visit, and the wrk
script carries each request's own headers."""
from __future__ import annotations

from types import SimpleNamespace

from tests.benchmarks.browse import bursts, lua_script, people

PAGE = "text/html,application/xhtml+xml"


def rec(ts: float, path: str, kind: str, client: str = "human-1", method: str = "GET", label: str = "human"):
    return SimpleNamespace(ts=ts, path=path, query="", response_type=kind, client_id=client, method=method,
                           label=label, user_agent="Mozilla/5.0 Firefox/128.0", accept=PAGE if kind == "text/html"
                           else "*/*", referer="https://shop.example.com/", fetch="document/navigate/same-origin")


def test_a_visit_is_cut_into_page_views_with_their_assets():
    visit = [rec(0, "/static/app.js", "application/javascript"),          # before any page: dropped
             rec(1, "/", "text/html"), rec(1.1, "/static/site.css", "text/css"), rec(1.2, "/favicon.ico", ""),
             rec(9, "/products/1", "text/html"),
             rec(20, "/cart", "text/html"), rec(20.3, "/media/1.jpg", "image/jpeg")]
    assert [[r.path for r in b] for b in bursts(visit)] == [
        ["/", "/static/site.css", "/favicon.ico"], ["/products/1"], ["/cart", "/media/1.jpg"]]


def test_a_person_is_replayed_visit_after_visit():
    """Visits are cut at half an hour; a person's bursts follow one another across its visits, with
    where each visit starts; POSTs and other labels are not replayed."""
    week = [rec(0, "/", "text/html"), rec(5, "/a", "text/html"),
            rec(5000, "/b", "text/html"), rec(5010, "/c", "text/html"), rec(5020, "/d", "text/html"),
            rec(6, "/login", "text/html", method="POST"), rec(7, "/x", "text/html", client="bot", label="crawler"),
            rec(8, "/solo", "text/html", client="human-2")]
    persons, starts = people(week, 10, ahead=1)
    assert [[b[0].path for b in p] for p in persons] == [["/", "/a", "/b", "/c", "/d"], ["/solo"]]
    assert starts == [[0, 2], [0]]


def test_later_visits_typed_in_are_not_replayed_back_to_back():
    """A later visit that begins without a Referer (typed, bookmarked) is left out: replayed seconds
    after the last page instead of half an hour, it would be a hurried direct page view."""
    later = rec(5000, "/b", "text/html")
    later.referer = ""
    persons, starts = people([rec(0, "/", "text/html"), later, rec(5010, "/c", "text/html"),
                              rec(9000, "/e", "text/html")], 10, ahead=1)
    assert [[b[0].path for b in p] for p in persons] == [["/", "/e"]] and starts == [[0, 1]]


def test_the_wrk_script_carries_each_request_s_headers_once():
    persons, starts = people([rec(0, "/", "text/html"), rec(0.1, "/static/site.css", "text/css"),
                              rec(5, "/a", "text/html")], 10, ahead=1)
    script = lua_script(persons, starts, clients=100, threads=2)
    assert script.count('"/static/site.css"') == 1 and script.count('"https://shop.example.com/"') == 1
    assert '{"document","navigate","same-origin"}' in script
    assert "local POOL, CLIENTS, NTHREADS = 1, 100, 2" in script and "local STARTS = {{0}}" in script


def test_a_client_never_starts_where_it_would_soon_run_out():
    """People with fewer than ``ahead`` page views are left out, and a visit is a start only with
    ``ahead`` page views from it on: a client that ran out would read the same pages in a loop."""
    week = [rec(0, "/", "text/html"), rec(5, "/a", "text/html"), rec(5000, "/b", "text/html"),
            rec(0, "/x", "text/html", client="human-2")]
    persons, starts = people(week, 10, ahead=2)
    assert [[b[0].path for b in p] for p in persons] == [["/", "/a", "/b"]] and starts == [[0]]
