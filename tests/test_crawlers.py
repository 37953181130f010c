"""CRAWLER_POLICY: a declared crawler that keeps to robots.txt is not refused for crawling."""
from __future__ import annotations

import pytest
from django.test import Client as HttpClient

from smartlayer.detectors.behaviour import crawlers

pytestmark = pytest.mark.django_db

GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
SCRAPER = "Mozilla/5.0 (compatible; GrabberBot/1.0)"


@pytest.fixture(autouse=True)
def fresh_robots():
    crawlers.robots.parser = None
    yield
    crawlers.robots.parser = None


class Clock:
    """The middleware reads time.time(): a crawler's pace is simulated, not slept."""

    def __init__(self, monkeypatch, start=1_800_000_000.0):
        self.now = start
        monkeypatch.setattr("smartlayer.http.record.time.time", lambda: self.now, raising=False)
        monkeypatch.setattr("smartlayer.request.context.time.time", lambda: self.now)


def crawl(client, clock, paths, gap):
    codes = []
    for p in paths:
        clock.now += gap
        codes.append(client.get(p).status_code)
    return codes


def test_a_polite_crawler_walking_ids_in_order_is_not_refused(monkeypatch, sl):
    clock = Clock(monkeypatch)
    bot = HttpClient(HTTP_USER_AGENT=GOOGLEBOT, REMOTE_ADDR="66.249.66.1")
    assert crawl(bot, clock, ["/robots.txt"], 0.1) == [200]
    codes = crawl(bot, clock, [f"/users/{i}" for i in range(1, 80)], 1.5)
    assert set(codes) == {200}


def test_the_same_walk_without_robots_txt_is_judged_like_anyone(monkeypatch, sl):
    clock = Clock(monkeypatch)
    bot = HttpClient(HTTP_USER_AGENT=GOOGLEBOT, REMOTE_ADDR="66.249.66.2")
    codes = crawl(bot, clock, [f"/users/{i}" for i in range(1, 80)], 1.5)
    assert 403 in codes  # sequential ids + many distinct paths + unauthenticated


def test_a_crawler_in_disallowed_paths_is_not_polite(monkeypatch, sl):
    clock = Clock(monkeypatch)
    bot = HttpClient(HTTP_USER_AGENT=GOOGLEBOT, REMOTE_ADDR="66.249.66.3")
    crawl(bot, clock, ["/robots.txt"], 0.1)
    codes = crawl(bot, clock, [f"/users/{i}" for i in range(1, 40)] + ["/private/x"]
                  + [f"/users/{i}" for i in range(40, 80)], 1.5)
    assert 403 in codes


def test_a_crawler_faster_than_its_crawl_delay_is_not_polite(monkeypatch, sl):
    clock = Clock(monkeypatch)
    bot = HttpClient(HTTP_USER_AGENT=GOOGLEBOT, REMOTE_ADDR="66.249.66.4")
    crawl(bot, clock, ["/robots.txt"], 0.1)
    assert 403 in crawl(bot, clock, [f"/users/{i}" for i in range(1, 80)], 0.3)


def test_block_refuses_every_declared_crawler(monkeypatch, sl):
    sl(CRAWLER_POLICY="block")
    bot = HttpClient(HTTP_USER_AGENT=GOOGLEBOT, REMOTE_ADDR="66.249.66.5")
    assert bot.get("/page/1").status_code == 403


def test_a_list_allows_its_crawlers_and_refuses_the_others(monkeypatch, sl):
    sl(CRAWLER_POLICY=["googlebot"])
    clock = Clock(monkeypatch)
    google = HttpClient(HTTP_USER_AGENT=GOOGLEBOT, REMOTE_ADDR="66.249.66.6")
    crawl(google, clock, ["/robots.txt"], 0.1)
    assert set(crawl(google, clock, [f"/users/{i}" for i in range(1, 60)], 1.5)) == {200}
    other = HttpClient(HTTP_USER_AGENT=SCRAPER, REMOTE_ADDR="198.51.100.99")
    assert other.get("/page/1").status_code == 403


def test_crawler_policy_is_checked(settings):
    from smartlayer.checks.settings import check_settings

    settings.SMART_MIDDLEWARE = {"CRAWLER_POLICY": "sometimes"}
    assert [m.id for m in check_settings()] == ["smartlayer.E020"]
