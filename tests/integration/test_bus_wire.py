"""The bus's own Redis connections (``smartlayer.state.wire``), over a real Redis.

The bus thread publishes and listens on two connections of its own instead of checking one out
of the cache's pool for every flush and reading through redis-py's pub/sub object: these tests
count that work (no pool checkout) and check that replication still works whatever the cache's
connections speak (RESP3, the pure-Python parser).
"""
from __future__ import annotations

import threading
import time

import pytest
from redis.connection import ConnectionPool

from smartlayer.state.bus import Bus
from tests.integration.test_replicated_window import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def pair(redis_alias):
    """Two buses (two "workers") on the cache alias, each collecting what the other sends."""
    made: list[Bus] = []

    def make(alias: str = redis_alias) -> tuple[Bus, Bus, list, list]:
        got: tuple[list, list] = ([], [])
        a, b = Bus(alias=alias, interval=0.02), Bus(alias=alias, interval=0.02)
        made.extend((a, b))
        a.subscribe("t", got[0].extend)
        b.subscribe("t", got[1].extend)
        assert a.connected.wait(5) and b.connected.wait(5), "buses did not subscribe"
        return a, b, got[0], got[1]

    yield make
    for bus in made:
        bus.stop()


def test_flushes_check_nothing_out_of_the_cache_pool(pair, monkeypatch):
    """Once subscribed, the bus threads publish and receive without a connection from the cache's
    pool (before the bus had its own, every flush checked one out and back: ~100 µs of CPU, and
    with redis-py's pub/sub object, nine system calls a received message)."""
    a, b, got_a, got_b = pair()
    threads = {a._thread.ident, b._thread.ident}
    checkouts = []
    real = ConnectionPool.get_connection

    def counted(pool, *args, **kwargs):
        if threading.get_ident() in threads:
            checkouts.append(1)
        return real(pool, *args, **kwargs)

    monkeypatch.setattr(ConnectionPool, "get_connection", counted)
    for i in range(200):
        a.send("t", ("a", i))
        b.send("t", ("b", i))
        if i % 40 == 0:
            time.sleep(0.05)   # several flush intervals, several messages each way
    wait_until(lambda: len(got_a) == 200 and len(got_b) == 200, what="every item delivered")
    assert got_b == [("a", i) for i in range(200)] and got_a == [("b", i) for i in range(200)]
    assert checkouts == []


@pytest.mark.parametrize("options", [{"protocol": 3}, {"parser_class": "redis._parsers.resp2._RESP2Parser"},
                                     {"decode_responses": True}],
                         ids=["resp3-cache", "pure-python-parser", "decoded-responses"])
def test_replication_works_whatever_the_cache_connections_speak(pair, settings, redis_alias, options):
    """The bus's connections speak RESP2 with the pool's parser and read bytes: a site whose cache
    uses RESP3, redis-py without hiredis, or decoded responses replicates all the same."""
    settings.CACHES = {**settings.CACHES, "other": {**settings.CACHES[redis_alias], "OPTIONS": options}}
    a, b, got_a, got_b = pair("other")
    for i in range(50):
        a.send("t", ("a", i))
    wait_until(lambda: len(got_b) == 50, what="every item delivered")
    assert got_b == [("a", i) for i in range(50)] and got_a == []
