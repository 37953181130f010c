"""Per-client windows in Redis: shared and exact across worker processes.

:class:`~smartlayer.state.windows.window.ClientWindow` defines what a window *is*; this
module only changes *where it lives*.  With several worker processes (or
several machines) an in-process window sees only the requests its own process
served, so a flood spread over four workers looks four times slower than it
is.  Here every worker appends to the same Redis keys, atomically, and gets
back the same :class:`~smartlayer.state.windows.window.Snapshot` that one ``ClientWindow``
fed with the whole interleaved sequence would have returned.

Layout, per client (``<base>`` is ``<CACHE_PREFIX>:w:<sha1 of the client key>``
passed through the cache's own ``KEY_PREFIX``/``VERSION``, see
:func:`smartlayer.state.cache.make_key`):

===============  ======  ====================================================
``<base>:a``     list    encoded arrivals, oldest first (≤ WINDOW_MAX_EVENTS)
``<base>:o``     list    encoded outcomes, oldest first (≤ WINDOW_MAX_EVENTS)
``<base>:m``     hash    minute number → arrivals in that minute
``<base>:h``     hash    hour number → arrivals in that hour
``<base>:s``     hash    ``first`` / ``last`` seen (the float's ``repr``)
===============  ======  ====================================================

:meth:`RedisWindowStore.arrive` is **one round trip**: a Lua script applies the
steps of :meth:`ClientWindow.arrive` to those keys (day-of-silence reset,
expiry by age, the event bound, bucket pruning, the append, the bucket
counts), refreshes the TTL and returns the resulting state.  Every number the
script compares against — the age cutoff, the bucket numbers, the pruning
floors — is computed here in Python with the same expressions the class uses,
and every timestamp travels as ``repr(float)``, which Lua's ``tonumber``
(``strtod``) reads back to the identical double.  That is what makes the
snapshots *equal*, not merely close (``tests/integration/test_redis_state.py``
checks it step by step against ``ClientWindow`` on random sequences).

Keys live ``max(1 day, WINDOW_SECONDS) + 1 hour`` after the last arrival: a
client silent for longer than a day is reset by ``ClientWindow`` anyway, so
letting Redis drop its keys changes nothing but memory.
"""
from __future__ import annotations

import threading
from collections import deque
from typing import Any

from ...conf import sl_settings
from ..cache import make_key
from ..failures import report_failure
from ..redis import cache_serializer, redis_client
from .snapshot import DAY, HOUR, MINUTE, Arrival, Outcome, Snapshot

#: The storage form of :meth:`ClientWindow.arrive`.  The comments name the
#: Python lines each block mirrors; keep them in step with window.py.
_ARRIVE_LUA = """
-- KEYS: 1 arrivals, 2 outcomes, 3 minutes, 4 hours, 5 seen, 6.. guard keys (optional)
-- ARGV: 1 encoded arrival, 2 "now cutoff minute hour floor_minute floor_hour max_events ttl day"
--       (numbers in one argument: fewer arguments to pack per call)
-- A guard key that exists (a ban) stops the script before anything is
-- recorded: {'guard', value}.  Bans and the window in one round trip.
for i = 6, #KEYS do
  local v = redis.call('GET', KEYS[i])
  if v then return {'guard', v} end
end
local p = {}
for word in string.gmatch(ARGV[2], '%S+') do p[#p + 1] = word end
local now_s, now, cutoff = p[1], tonumber(p[1]), tonumber(p[2])
local max_events, ttl, day = tonumber(p[7]), tonumber(p[8]), tonumber(p[9])
local seen = redis.call('HMGET', KEYS[5], 'first', 'last')
local first, last = seen[1], seen[2]
-- if self.last_seen and now - self.last_seen > DAY: clear buckets, first_seen = now
if last and tonumber(last) ~= 0 and now - tonumber(last) > day then
  redis.call('DEL', KEYS[3], KEYS[4])
  first = now_s
end
-- if not self.first_seen: self.first_seen = now
if (not first) or tonumber(first) == 0 then first = now_s end
redis.call('HSET', KEYS[5], 'first', first, 'last', now_s)

-- _expire: drop the head of a list while its timestamp is below the cutoff
-- (LINDEX from the head: usually zero or one step, never a copy of the list)
local function expire_head(key)
  while true do
    local head = redis.call('LINDEX', key, 0)
    if head and tonumber(string.match(head, '^(%S+)')) < cutoff then
      redis.call('LPOP', key)
    else
      return
    end
  end
end
expire_head(KEYS[1])
expire_head(KEYS[2])
-- _expire: prune buckets older than the floor once there are too many
local function prune(key, limit, floor)
  if redis.call('HLEN', key) > limit then
    local f = tonumber(floor)
    for _, field in ipairs(redis.call('HKEYS', key)) do
      if tonumber(field) < f then redis.call('HDEL', key, field) end
    end
  end
end
prune(KEYS[3], 61, p[5])
prune(KEYS[4], 25, p[6])

-- self.arrivals.append(arrival)  (deque maxlen)
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -max_events, -1)
-- minute / hour buckets
redis.call('HINCRBY', KEYS[3], p[3], 1)
redis.call('HINCRBY', KEYS[4], p[4], 1)

for i = 1, 5 do redis.call('EXPIRE', KEYS[i], ttl) end
return {redis.call('LRANGE', KEYS[1], 0, -1), redis.call('LRANGE', KEYS[2], 0, -1),
        redis.call('HGETALL', KEYS[3]), redis.call('HGETALL', KEYS[4]), first}
"""

#: :meth:`ClientWindow.complete`, but only for a window that still exists
#: (as :class:`LocalWindowStore` ignores outcomes of evicted windows).
_COMPLETE_LUA = """
-- KEYS: 1 outcomes, 2 seen;  ARGV: 1 encoded outcome, 2 max events, 3 ttl
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
"""

_SUFFIXES = (":a", ":o", ":m", ":h", ":s")
_flusher_lock = threading.Lock()


# ── encoding ────────────────────────────────────────────────────────────────
# An arrival is "<ts> <flags> <len(method)> <method><path>": the timestamp
# first (the script reads it up to the first space), the method's length so
# that neither the method nor the path needs escaping — a path may hold
# spaces, separators, newlines or lone surrogates and still decodes exactly.

def encode_arrival(arrival: Arrival) -> bytes:
    ts, method, path, flags = arrival
    return f"{float(ts)!r} {int(flags)} {len(method)} {method}{path}".encode("utf-8", "surrogatepass")


def decode_arrival(raw: bytes | str) -> Arrival:
    text = raw.decode("utf-8", "surrogatepass") if isinstance(raw, bytes) else raw
    ts, flags, mlen, rest = text.split(" ", 3)
    n = int(mlen)
    return (float(ts), rest[:n], rest[n:], int(flags))


def encode_outcome(outcome: Outcome) -> bytes:
    ts, status, response_ms, blocked = outcome
    return f"{float(ts)!r} {int(status)} {float(response_ms)!r} {1 if blocked else 0}".encode()


def decode_outcome(raw: bytes | str) -> Outcome:
    text = raw.decode() if isinstance(raw, bytes) else raw
    ts, status, ms, blocked = text.split(" ")
    return (float(ts), int(status), float(ms), blocked == "1")


#: Decoded events by their stored bytes, one table per kind.  A window's
#: events come back on every request of that client (up to WINDOW_MAX_EVENTS
#: of each kind) but are never modified once stored, so each is decoded once
#: per process instead of once per request — for a busy client ~400 decodes
#: become ~400 dict hits.  Bounded: emptied when full (cheaper than LRU
#: bookkeeping on every hit).
_ARRIVALS: dict[bytes, Arrival] = {}
_OUTCOMES: dict[bytes, Outcome] = {}
_MEMO_MAX = 50_000


def _decoded(raw: bytes, memo: dict, decode: Any) -> tuple:
    value = memo.get(raw)
    if value is None:
        value = decode(raw)
        if len(memo) >= _MEMO_MAX:
            memo.clear()
        memo[raw] = value
    return value


def _buckets(flat: list) -> dict[int, int]:
    """HGETALL's flat [field, value, ...] reply → {int: int}."""
    return {int(flat[i]): int(flat[i + 1]) for i in range(0, len(flat), 2)}


class RedisWindowStore:
    """A :class:`~smartlayer.state.windows.window.WindowStore` in Redis (see the module docstring).

    ``alias`` defaults to ``CACHE_ALIAS``; the other arguments default to the
    settings, as for :class:`~smartlayer.state.windows.window.LocalWindowStore`.  ``ttl``
    exists for tests of expiry; production keeps the default.
    """

    #: seconds between background sends of outcomes no arrival carried along
    FLUSH_INTERVAL = 0.1

    def __init__(self, alias: str | None = None, max_events: int | None = None,
                 keep_seconds: float | None = None, ttl: int | None = None) -> None:
        self.alias = alias or sl_settings.CACHE_ALIAS
        self.max_events = int(max_events or sl_settings.WINDOW_MAX_EVENTS)
        self.keep_seconds = float(keep_seconds or sl_settings.WINDOW_SECONDS)
        self.ttl = int(ttl or max(DAY, self.keep_seconds) + HOUR)
        self._conn: tuple[Any, Any, Any, Any] | None = None
        self._key_func: Any = None
        # outcomes waiting to be sent: (keys, args) of the complete script
        self._pending: deque = deque(maxlen=100_000)
        self._flusher: threading.Thread | None = None
        self._stop = threading.Event()

    # ── plumbing ───────────────────────────────────────────────────────────
    def _redis(self) -> tuple[Any, Any, Any, Any]:
        """Client, the two scripts and the cache's key function, made on first use.

        Lazily, so building the store never connects, and so a worker forked
        after import makes its own connections.  One tuple, assigned once:
        two threads racing here both end up with a valid set.
        """
        conn = self._conn
        if conn is None:
            from django.core.cache import caches

            client = redis_client(self.alias)
            arrive, complete = client.register_script(_ARRIVE_LUA), client.register_script(_COMPLETE_LUA)
            client.script_load(_ARRIVE_LUA)  # pipelines send EVALSHA: the scripts must be there
            client.script_load(_COMPLETE_LUA)
            conn = (client, arrive, complete, caches[self.alias].make_key)
            self._conn = conn
        return conn

    def keys(self, key: str) -> list[str]:
        """The five keys of a client: ``<KEY_PREFIX>:<VERSION>:<CACHE_PREFIX>:w:<sha1>:<a|o|m|h|s>``.

        Pure computation (the cache's key function, no connection), so
        :meth:`complete` never does I/O — the async middleware runs it on the event loop.
        """
        key_func = self._key_func
        if key_func is None:  # any thread's backend instance makes the same keys
            from django.core.cache import caches

            key_func = self._key_func = caches[self.alias].make_key
        base = key_func(make_key("w", key))
        return [base + s for s in _SUFFIXES]

    # ── WindowStore ────────────────────────────────────────────────────────
    def arrive(self, key: str, arrival: Arrival) -> Snapshot:
        """Record an arriving request and return the window including it (one round trip)."""
        snap, _ = self.arrive_guarded(key, arrival, ())
        return snap  # type: ignore[return-value]

    def arrive_guarded(self, key: str, arrival: Arrival, guards: Any) -> tuple[Snapshot | None, Any]:
        """Like :meth:`arrive`, unless one of the cache keys ``guards`` exists:
        then nothing is recorded and ``(None, its value)`` comes back.

        The detector passes the client's ban keys, so the ban check and the
        window cost one round trip together; outcomes still waiting to be sent
        ride along in the same pipeline, in order.
        """
        client, arrive_script, _, cache_key = self._redis()
        now = arrival[0]
        # the same expressions as ClientWindow.arrive / _expire, evaluated here
        # so the script only compares numbers and never re-derives them
        minute = int(now // MINUTE)
        hour = int(now // HOUR)
        numbers = (f"{float(now)!r} {float(now - self.keep_seconds)!r} {minute} {hour} {minute - 60} {hour - 24} "
                   f"{self.max_events} {self.ttl} {DAY}")
        keys = self.keys(key) + [cache_key(g) for g in guards]
        args = [encode_arrival(arrival), numbers]
        if self._pending:
            pipe = client.pipeline(transaction=False)
            self._queue_outcomes(pipe)
            pipe.evalsha(arrive_script.sha, len(keys), *keys, *args)
            reply = self._execute(pipe)[-1]
        else:
            reply = arrive_script(keys=keys, args=args)
        if reply and reply[0] == b"guard":
            return None, self._serializer().loads(reply[1])
        arrivals, outcomes, minutes, hours, first = reply
        return Snapshot(
            now=now,
            arrivals=tuple(_decoded(a, _ARRIVALS, decode_arrival) for a in arrivals),
            outcomes=tuple(_decoded(o, _OUTCOMES, decode_outcome) for o in outcomes),
            minutes=_buckets(minutes),
            hours=_buckets(hours),
            first_seen=float(first),
        ), None

    def complete(self, key: str, outcome: Outcome) -> None:
        """Record the outcome of a request once its response is known.

        Not a round trip of its own: the outcome waits (in order) for this
        process's next arrival, or at most :attr:`FLUSH_INTERVAL` seconds for
        the background flusher.  Error rates read outcomes of the last two
        minutes, so a tenth of a second of delay changes nothing they see.
        """
        keys = self.keys(key)
        self._pending.append(([keys[1], keys[4]], [encode_outcome(outcome), self.max_events, self.ttl]))
        if self._flusher is None:
            self._start_flusher()

    def flush(self) -> None:
        """Send every waiting outcome now (tests, shutdown)."""
        if not self._pending:
            return
        client = self._redis()[0]
        pipe = client.pipeline(transaction=False)
        self._queue_outcomes(pipe)
        self._execute(pipe)

    def _queue_outcomes(self, pipe: Any) -> None:
        sha = self._redis()[2].sha
        pending = self._pending
        while pending:
            try:
                keys, args = pending.popleft()
            except IndexError:
                break
            pipe.evalsha(sha, len(keys), *keys, *args)

    def _execute(self, pipe: Any) -> list:
        """Run a pipeline of EVALSHAs.  Plain EVALSHA, not redis-py's Script
        objects: with those, every pipeline first asks SCRIPT EXISTS — one more
        round trip per request.  The scripts are loaded when the connection is
        made; after a Redis restart (NOSCRIPT) they are loaded again and the
        pipeline re-sent once."""
        from redis.exceptions import NoScriptError

        commands = list(pipe.command_stack)
        try:
            return pipe.execute()
        except NoScriptError:
            self._conn = None
            client = self._redis()[0]
            retry = client.pipeline(transaction=False)
            for args, options in commands:
                retry.execute_command(*args, **options)
            return retry.execute()

    def _start_flusher(self) -> None:
        with _flusher_lock:
            if self._flusher is not None:
                return
            self._flusher = threading.Thread(target=self._flush_loop, name="smartlayer-outcomes", daemon=True)
            self._flusher.start()

    def _flush_loop(self) -> None:
        while not self._stop.wait(self.FLUSH_INTERVAL):
            try:
                self.flush()
            except Exception as exc:  # noqa: BLE001 - Redis away: those outcomes are lost, counted
                report_failure("window", exc)

    def _serializer(self) -> Any:
        return cache_serializer(self.alias)

    def available(self) -> bool:
        """Always: each request's own round trip tells whether Redis answers."""
        return True

    def clear(self) -> None:
        """Delete every window under this cache's prefix (tests, the demo) — never other keys.

        Best effort: with Redis unreachable there is nothing to clear now, and
        the caller (a test teardown, a demo reset) must not fail on that; the
        failure is still reported and counted.
        """
        try:
            client, _, _, cache_key = self._redis()
            pattern = cache_key(f"{sl_settings.CACHE_PREFIX}:w:") + "*"
            batch: list[bytes] = []
            for name in client.scan_iter(match=pattern, count=500):
                batch.append(name)
                if len(batch) >= 500:
                    client.delete(*batch)
                    batch = []
            if batch:
                client.delete(*batch)
        except Exception as exc:  # noqa: BLE001 - see the docstring
            report_failure("window", exc)
