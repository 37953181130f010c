"""State shared between requests and processes: the cache, counters, bans, windows.

* :mod:`.cache` — keys and atomic counters in Django's cache;
* :mod:`.failures` — fail open, never silently: failures logged once per
  interval and counted;
* :mod:`.singleton` — the one helper for per-process objects (the log writer,
  the window store, the bus, the LLM client, the model runtime);
* :mod:`.redis` — the redis-py client behind Django's RedisCache;
* :mod:`.bans`, :mod:`.ban_mirror`, :mod:`.ban_backends`, :mod:`.receivers` —
  bans: durable in the database, served from the cache or each worker's mirror;
* :mod:`.bus` and :mod:`.windows` — per-client windows, local, in Redis, or
  replicated between workers over pub/sub.

May import: conf, models, request (identity types), dbtext.  Never a
detector, the policy, the middleware or anything offline.

The names below are this package's face for the commonest helpers
(``from smartlayer import state; state.report_failure(...)``).
"""
from .cache import cache_is_redis, cache_is_shared, decr, get_cache, incr, incr_many, make_key
from .failures import count, logger, metrics, report_failure, reset_failure_log

__all__ = ["cache_is_redis", "cache_is_shared", "count", "decr", "get_cache", "incr", "incr_many", "logger",
           "make_key", "metrics", "report_failure", "reset_failure_log"]
