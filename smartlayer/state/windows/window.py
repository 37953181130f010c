"""Per-client behaviour windows: the state behind the rules and the model.

Each client (see :mod:`smartlayer.request.client`) has a small bounded window of its
recent activity:

* ``arrivals`` — ``(ts, method, path, flags)`` of its latest requests, recorded
  when a request arrives (so concurrent requests count at once);
* ``outcomes`` — ``(ts, status, response_ms, blocked)`` recorded when the
  response is known (so error rates only see finished requests);
* per-minute arrival counts over the last hour and per-hour counts over the
  last day, for the idle rule and the grace period.

:class:`ClientWindow` is the one implementation of that state.  The middleware
keeps windows in a :class:`WindowStore`; the offline feature extractor and the
replay command drive the very same class over historical rows, which is what
makes online and offline features identical.

Three stores exist: :class:`LocalWindowStore` (in-process, the equivalent of
Django's local-memory cache, for the embedded default); on Django's
``RedisCache``, the replicated store in :mod:`smartlayer.state.windows.replicated`
(the default: windows in each worker's memory, shared between workers over
Redis pub/sub, no round trip per request) or the Redis store in
:mod:`smartlayer.state.windows.redis` (windows in Redis, exact at every instant, one
round trip per request).
"""
from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ...conf import sl_settings
from ...request.client import COOKIE_MARK
from .recent import Tally

# the snapshot's names, imported from here by the window's users since before the split
from .snapshot import DAY, HOUR, MINUTE, Arrival, Outcome, Snapshot  # noqa: F401


class ClientWindow:
    """The mutable window of one client.  Not thread-safe: stores lock around it.

    The events are kept in lists of at most ``max_events``, oldest first, not in bounded deques:
    every request's snapshot copies them (:meth:`arrive`), and ``tuple()`` of a list is a block copy
    where a deque is iterated item by item (~20 k instructions a request for a reader's 120 arrivals
    and outcomes).  Dropping the oldest is a ``del`` of the list's head: a few per request, each
    moving at most ``max_events`` pointers.
    """

    __slots__ = ("arrivals", "outcomes", "max_events", "minutes", "hours", "first_seen", "last_seen", "robots_at",
                 "tally", "marks")

    def __init__(self, max_events: int) -> None:
        self.max_events = max_events
        self.arrivals: list = []
        self.outcomes: list = []
        self.minutes: dict[int, int] = {}
        self.hours: dict[int, int] = {}
        self.first_seen: float = 0.0
        self.last_seen: float = 0.0
        self.robots_at: float = 0.0
        # the rules' counts, kept running (.recent); told of every event in and out
        self.tally = Tally()
        # flagged requests (the model's, the grey zone's, the profile's): (kind, bucket) → count (:meth:`mark`)
        self.marks: dict[tuple[str, int], int] | None = None

    def _expire(self, now: float, keep_seconds: float) -> None:
        cutoff = now - keep_seconds
        arr = self.arrivals
        if arr and arr[0][0] < cutoff:   # the call only when something leaves
            _drop_older(arr, cutoff, self.tally.arrival_left)
        out = self.outcomes
        if out and out[0][0] < cutoff:
            _drop_older(out, cutoff, self.tally.outcome_left)
        if len(self.minutes) > 61:
            floor_m = int(now // MINUTE) - 60
            for m in [m for m in self.minutes if m < floor_m]:
                del self.minutes[m]
        if len(self.hours) > 25:
            floor_h = int(now // HOUR) - 24
            for h in [h for h in self.hours if h < floor_h]:
                del self.hours[h]

    def arrive(self, arrival: Arrival, keep_seconds: float, snapshot: bool = True,
               view: bool = False) -> Snapshot | None:
        """Record an arriving request and return the window including it
        (``snapshot=False``: record only).

        ``view=True``: the snapshot reads this window's own event lists and
        bucket dicts instead of copies of them (up to 2 × WINDOW_MAX_EVENTS
        events and ~90 buckets per request), so it is valid only until the
        window next changes — for a caller that is done with each snapshot
        before it records anything else for that client, on one thread (the
        replay).  Concurrent stores need the copy: another thread's request
        or the replication thread may change the window meanwhile.
        """
        now = arrival[0]
        if self.last_seen and now - self.last_seen > DAY:
            # quiet for a day: nothing in the buckets is still in range
            self.minutes.clear()
            self.hours.clear()
            self.first_seen = now
        if not self.first_seen:
            self.first_seen = now
        self.last_seen = now
        self._expire(now, keep_seconds)
        arr, tally = self.arrivals, self.tally
        if arr:
            if now < arr[-1][0]:
                tally.stale()   # late: the running counts only move forward in time
            if len(arr) == self.max_events:
                tally.arrival_left(arr[0])   # the oldest makes room (the bound)
                del arr[0]
        arr.append(arrival)
        tally.arrived(arrival)
        if arrival[2] == "/robots.txt":
            self.robots_at = now
        m = int(now // MINUTE)
        self.minutes[m] = self.minutes.get(m, 0) + 1
        h = int(now // HOUR)
        self.hours[h] = self.hours.get(h, 0) + 1
        if not snapshot:
            return None
        if view:
            return Snapshot(now, arr, self.outcomes, self.minutes, self.hours, self.first_seen, self.robots_at,
                            tally.at(arr, self.outcomes, now))
        # positional, in field order: keywords to a class cost a dict of them a request
        return Snapshot(now, tuple(arr), tuple(self.outcomes), dict(self.minutes), dict(self.hours),
                        self.first_seen, self.robots_at, tally.at(arr, self.outcomes, now))

    def complete(self, outcome: Outcome) -> None:
        """Record the outcome of a request once its response is known."""
        out, tally = self.outcomes, self.tally
        if out:
            if outcome[0] < out[-1][0]:
                tally.stale()
            if len(out) == self.max_events:
                tally.outcome_left(out[0])
                del out[0]
        out.append(outcome)
        tally.completed(outcome)

    def mark(self, kind: str, bucket: int) -> int:
        """Count a flagged request of ``kind`` in time bucket ``bucket``; returns this bucket's
        count plus the previous one's (:meth:`~smartlayer.state.ban_backends.CacheBans.note_flag`
        explains the buckets).  A dict update, not a cache round trip; older buckets are dropped."""
        marks = self.marks
        if marks is None:
            marks = self.marks = {}
        here = (kind, bucket)
        n = marks.get(here, 0) + 1
        if n == 1 and marks:
            for old in [k for k in marks if k[0] == kind and k[1] < bucket - 1]:
                del marks[old]
        marks[here] = n
        return n + marks.get((kind, bucket - 1), 0)

    # ── events another process recorded (smartlayer.state.windows.replicated) ──────
    def merge_arrival(self, arrival: Arrival, keep_seconds: float) -> None:
        """Record an arrival another worker saw, in its place in time.

        An arrival that is the newest so far is exactly :meth:`arrive` (without
        building a snapshot).  An older one — it reached this process a few
        milliseconds after newer local ones — is inserted where its timestamp
        belongs, so the window equals what one ClientWindow fed with the
        time-ordered union of every worker's requests would hold.
        """
        now = arrival[0]
        if not self.last_seen or now >= self.last_seen:
            self.arrive(arrival, keep_seconds, snapshot=False)
            return
        if now < self.first_seen:
            self.first_seen = now
        if now >= self.last_seen - keep_seconds:  # else too old for the event list, not for the buckets
            _insert_in_order(self.arrivals, arrival, self.max_events)
            self.tally.stale()
        if arrival[2] == "/robots.txt" and now > self.robots_at:
            self.robots_at = now
        m = int(now // MINUTE)
        self.minutes[m] = self.minutes.get(m, 0) + 1
        h = int(now // HOUR)
        self.hours[h] = self.hours.get(h, 0) + 1

    def merge_outcome(self, outcome: Outcome) -> None:
        """Record an outcome another worker saw, in its place in time."""
        out = self.outcomes
        if not out or outcome[0] >= out[-1][0]:
            self.complete(outcome)
        else:
            _insert_in_order(out, outcome, self.max_events)
            self.tally.stale()


def _insert_in_order(events: list | deque, event: tuple, limit: int | None = None) -> None:
    """Insert ``event`` into time-ordered ``events`` (at most ``limit`` of them; a bounded deque's
    own bound when None) after every event with the same or an earlier timestamp; when they are
    full the oldest event makes room, as an append would."""
    ts = event[0]
    i = len(events)
    while i > 0 and events[i - 1][0] > ts:
        i -= 1
    if limit is None:
        limit = getattr(events, "maxlen", None)
    if limit is not None and len(events) >= limit:
        if i == 0:
            return  # older than everything kept in a full window: an append would have dropped it
        del events[0]
        i -= 1
    events.insert(i, event)


def _drop_older(events: list, cutoff: float, left: Callable[[tuple], None]) -> None:
    """Drop the events before ``cutoff`` from the front of ``events`` (oldest first, the first of them
    known to be older), telling ``left`` of each: the running counts follow what leaves."""
    k, n = 1, len(events)
    left(events[0])
    while k < n and events[k][0] < cutoff:
        left(events[k])
        k += 1
    del events[:k]


def _count_since(events: list, cutoff: float) -> int:
    """How many of the time-ordered ``events`` are at or after ``cutoff`` (walked from the newest)."""
    n = 0
    for event in reversed(events):
        if event[0] < cutoff:
            break
        n += 1
    return n


@dataclass(frozen=True, slots=True)
class SharedAddress:
    """The clients behind one address, as the store sees them before the current request.

    ``established``: this cookie has been used from this address before (so it
    was not made up for this request); ``room``: a new cookie client may still
    be tracked; ``clients``: cookie clients active in the last minute with more
    than one request; ``count_10s``: every request from the address in the
    last 10 s — its cookie clients and the requests scored as the address.
    """

    established: bool
    room: bool
    clients: int
    count_10s: int


class WindowStore(Protocol):
    """Where per-client windows live.  Implementations must be safe to share
    between threads; the Redis one is also exact across processes."""

    def arrive(self, key: str, arrival: Arrival) -> Snapshot: ...

    def complete(self, key: str, outcome: Outcome) -> None: ...

    def clear(self) -> None: ...

    def available(self) -> bool:
        """False while the store knows its shared backend is unreachable (CACHE_FAIL_OPEN = False)."""
        ...


class LocalWindowStore:
    """Windows in this process's memory, LRU-bounded in the number of clients.

    The in-process counterpart of Django's local-memory cache: right for the
    embedded default and single-process servers, wrong for several workers
    (the system checks warn about that when blocking is enforced).
    """

    def __init__(self, max_clients: int | None = None, max_events: int | None = None,
                 keep_seconds: float | None = None, *, views: bool = False) -> None:
        """``views=True``: snapshots are views of the windows, not copies (:meth:`ClientWindow.arrive`):
        only for one thread that is done with each snapshot before the next event of that client."""
        self.max_clients = int(max_clients or sl_settings.WINDOW_MAX_CLIENTS)
        self.views = views
        self.max_events = int(max_events or sl_settings.WINDOW_MAX_EVENTS)
        self.keep_seconds = float(keep_seconds or sl_settings.WINDOW_SECONDS)
        self._windows: OrderedDict[str, ClientWindow] = OrderedDict()
        # address key → {cookie client key: its window}: the clients sharing an address
        self._by_address: dict[str, dict[str, ClientWindow]] = {}
        self._lock = threading.Lock()

    def _touch(self, key: str) -> ClientWindow:
        """The client's window, created if new, marked most recently used; the
        least recently used one goes beyond ``max_clients``.  Call under the lock."""
        windows = self._windows
        win = windows.get(key)
        if win is None:
            win = windows[key] = ClientWindow(self.max_events)
            if COOKIE_MARK in key:
                self._by_address.setdefault(key.split(COOKIE_MARK, 1)[0], {})[key] = win
            if len(windows) > self.max_clients:
                old, _ = windows.popitem(last=False)
                if COOKIE_MARK in old:
                    self._forget_cookie_client(old)
        else:
            windows.move_to_end(key)
        return win

    def _forget_cookie_client(self, key: str) -> None:
        address = key.split(COOKIE_MARK, 1)[0]
        clients = self._by_address.get(address)
        if clients is not None:
            clients.pop(key, None)
            if not clients:
                del self._by_address[address]

    def shared_address(self, address: str, cookie_key: str | None, now: float) -> SharedAddress:
        """What the clients behind ``address`` are doing, before this request is recorded.

        A cookie client counts once it has made two requests (its first was
        recorded with the address as well, so a cookie made up for one
        request is just the address's).  Each client adds at most the flood
        limit to the address's count: one client's own flood is refused by
        its own window, and must not refuse its colleagues too.  Cost: one
        pass over the cookie clients of this address (at most
        ``SHARED_ADDRESS_MAX_CLIENTS``), each a few steps back from its
        newest event.
        """
        limit = int(sl_settings.SHARED_ADDRESS_MAX_CLIENTS)
        flood = int(sl_settings.black_requests_10s)
        cut10, cut60 = now - 10.0, now - 60.0
        with self._lock:
            clients = self._by_address.get(address) or {}
            mine = clients.get(cookie_key) if cookie_key is not None else None
            established = mine is not None and bool(mine.arrivals)
            room = established or len(clients) < limit
            active = 1 if mine is not None and len(mine.arrivals) == 1 else 0  # this request establishes it
            recent = 0
            for win in clients.values():
                arrivals = win.arrivals
                if len(arrivals) < 2:
                    continue
                if arrivals[-1][0] >= cut60:
                    active += 1
                recent += min(flood, _count_since(arrivals, cut10))
            own = self._windows.get(address)
            if own is not None:
                recent += min(flood, _count_since(own.arrivals, cut10))
        return SharedAddress(established=established, room=room, clients=active, count_10s=recent)

    def arrive(self, key: str, arrival: Arrival) -> Snapshot:
        with self._lock:
            return self._touch(key).arrive(arrival, self.keep_seconds, view=self.views)

    def complete(self, key: str, outcome: Outcome) -> None:
        with self._lock:
            win = self._windows.get(key)
            if win is not None:
                win.complete(outcome)

    def mark(self, key: str, kind: str, bucket: int) -> int | None:
        """:meth:`ClientWindow.mark` on the client's window; None when this store keeps no
        window for ``key`` (the caller then counts elsewhere)."""
        with self._lock:
            win = self._windows.get(key)
            return None if win is None else win.mark(kind, bucket)

    def clear(self) -> None:
        with self._lock:
            self._windows.clear()
            self._by_address.clear()

    def available(self) -> bool:
        return True

    def __len__(self) -> int:
        return len(self._windows)
