"""A counter's increment on Redis is one pipelined round trip (``SET NX EX`` + ``INCRBY``), not Django's
``add`` then ``incr`` (which asks ``EXISTS`` first: three).  Every refused request counts its blocks with
it (``CacheBans.note_block``), and a sync worker waits for each round trip.  Counted on the connection
pool, no clock; the values are what Django's cache API reads, and the counter keeps its timeout."""
from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def _round_trips():
    """Connections taken from smartlayer's Redis pool (one per command or pipeline) while inside."""
    from smartlayer.state.redis import raw_redis

    client, _ = raw_redis()
    pool = client.connection_pool
    original = pool.get_connection
    sent: list[int] = []

    def counting(*args, **kwargs):
        sent.append(1)
        return original(*args, **kwargs)

    pool.get_connection = counting
    try:
        yield sent
    finally:
        pool.get_connection = original


def test_incr_is_one_round_trip_and_agrees_with_the_cache_api(redis_alias):
    from django.core.cache import caches

    from smartlayer.state import cache as sl_cache
    from smartlayer.state.redis import raw_redis

    cache = caches[redis_alias]
    key = sl_cache.make_key("blocks", "perf-round-trips")
    cache.delete(key)
    with _round_trips() as sent:
        assert sl_cache.incr(key, 30) == 1
        assert sl_cache.incr(key, 30, delta=3) == 4
    assert len(sent) == 2   # one each
    client, full_key = raw_redis()
    assert cache.get(key) == 4 and 0 < client.ttl(full_key(key)) <= 30
    cache.delete(key)


def test_a_refusal_counts_its_block_in_one_round_trip(redis_alias):
    from django.core.cache import caches

    from smartlayer.request.client import Client
    from smartlayer.state import cache as sl_cache
    from smartlayer.state.ban_backends import CacheBans

    class Ctx:
        client = Client(key="ip:203.0.113.77", ip="203.0.113.77", user_id=None, authenticated=False)

    caches[redis_alias].delete(sl_cache.make_key("blocks", Ctx.client.key))
    with _round_trips() as sent:
        counts = [CacheBans().note_block(Ctx, 0.0) for _ in range(3)]
    assert counts == [1, 2, 3]
    assert len(sent) == 3
    caches[redis_alias].delete(sl_cache.make_key("blocks", Ctx.client.key))
