"""The line between worker processes: Redis pub/sub, batched, off the request path.

Why it exists: asking Redis on every request costs a round trip — on a busy
site the largest part of what smartlayer adds to a request (see
``docs/production.md``).  With the replicated window store
(:mod:`smartlayer.state.windows.replicated`) and the ban mirror (:mod:`smartlayer.state.bans`)
each worker decides from its own memory and tells the others what it saw:

* :meth:`Bus.send` queues an item (a window event) in this process — a deque
  append on the request path, nothing else;
* a background thread publishes what was queued, one message per topic, every
  ``REPLICATION_INTERVAL`` seconds, and applies the messages of the other
  processes as they arrive (its own are recognised and skipped);
* :meth:`Bus.publish_now` sends at once (bans: rare, and they must not wait).

The thread talks to Redis on two connections of its own (:mod:`smartlayer.state.wire`): it
wakes about a hundred times a second under load, and redis-py's pool and pub/sub object cost
more than the work itself at that rate.

Channels are named through the cache's own key function (``KEY_PREFIX``,
``VERSION``), so two sites sharing a Redis server never hear each other.
Messages are ``marshal``-encoded ``(PROTOCOL, sender id, [items])``: plain
tuples of str/int/float/bool, no code, fast both ways; a message that does not
decode, comes from another protocol version (a rolling upgrade) or that its
handler rejects is counted and dropped.  Like the pickled values of Django's
RedisCache, messages are trusted: whoever can write to this Redis can already
rewrite every ban and counter.

Failure: Redis away → queued items are dropped and counted
(``bus.dropped``), the failure is logged once per interval, every worker keeps
deciding on what it knows, and the subscription is re-established when Redis
returns (``on_connect`` hooks then resynchronise what must not be missed —
the ban mirror reloads).  Pub/sub delivers at most once: what was published
while a subscriber was disconnected is not replayed.
"""
from __future__ import annotations

import marshal
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from ..conf import sl_settings
from .failures import count, report_failure
from .singleton import ProcessSingleton
from .wire import Wire

Handler = Callable[[list], None]

#: the message format; messages of another version are counted and skipped
PROTOCOL = 1

#: items waiting per topic before the oldest are dropped (counted)
OUTBOX_SIZE = 20_000


class Bus:
    """One process's publisher and subscriber.  Thread-safe; start is lazy."""

    def __init__(self, alias: str | None = None, interval: float | None = None) -> None:
        self.alias = alias or sl_settings.CACHE_ALIAS
        self.interval = float(interval if interval is not None else sl_settings.REPLICATION_INTERVAL)
        self.sender = os.urandom(8)  # tells this process's own messages apart
        self._outbox: dict[str, deque] = {}
        self._handlers: dict[str, Handler] = {}
        self._on_connect: dict[str, Callable[[], None]] = {}
        self._subscribed: set[str] = set()
        self._client: Any = None
        self._channels: dict[str, str] = {}
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.connected = threading.Event()
        #: True from a failed Redis operation until the next successful subscription
        #: (not merely "not connected yet", which every process is for its first milliseconds)
        self.failing = False

    # ── plumbing ───────────────────────────────────────────────────────────
    def _redis(self) -> Any:
        if self._client is None:
            from .redis import redis_client

            self._client = redis_client(self.alias)
        return self._client

    def channel(self, topic: str) -> str:
        name = self._channels.get(topic)
        if name is None:
            from django.core.cache import caches

            name = self._channels[topic] = caches[self.alias].make_key(f"{sl_settings.CACHE_PREFIX}:bus:{topic}")
        return name

    def _encode(self, items: list) -> bytes:
        return marshal.dumps((PROTOCOL, self.sender, items))

    # ── the request side ───────────────────────────────────────────────────
    def subscribe(self, topic: str, handler: Handler, on_connect: Callable[[], None] | None = None) -> None:
        """Call ``handler(items)`` with every batch other processes publish on
        ``topic`` (``on_connect`` after each (re)subscription).  One handler per topic."""
        with self._lock:
            if topic not in self._handlers:
                self.connected.clear()  # set again once this topic is subscribed too
            self._handlers[topic] = handler
            self._outbox.setdefault(topic, deque(maxlen=OUTBOX_SIZE))
            if on_connect is not None:
                self._on_connect[topic] = on_connect
        self.start()

    def send(self, topic: str, item: Any) -> None:
        """Queue ``item`` for the next batch on ``topic`` (a deque append)."""
        box = self._outbox[topic]
        if len(box) == OUTBOX_SIZE:
            count("bus.dropped")  # the oldest goes: Redis has been away for a while
        box.append(item)

    def publish_now(self, topic: str, items: list) -> None:
        """Publish at once, from the calling thread (rare events: bans).  Raises on Redis errors."""
        self._redis().publish(self.channel(topic), self._encode(items))

    # ── the background side ────────────────────────────────────────────────
    def start(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="smartlayer-bus", daemon=True)
                self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def flush(self, wire: Wire) -> int:
        """Publish everything queued now on ``wire``, one message per topic; returns items sent."""
        messages = []
        batches = []
        for topic, box in list(self._outbox.items()):
            # only this thread takes from a box: what is in it now stays until taken (a full box drops its
            # oldest as a request appends, so one more pop may find it empty)
            pop = box.popleft
            items = []
            try:
                for _ in range(len(box)):
                    items.append(pop())
            except IndexError:
                pass
            if items:
                messages.append((self.channel(topic), self._encode(items)))
                batches.append(len(items))
        if not messages:
            return 0
        try:
            wire.publish(messages)
        except Exception:
            count("bus.dropped", sum(batches))
            raise
        sent = sum(batches)
        count("bus.sent", sent)
        return sent

    def dispatch(self, channel: bytes | str, data: bytes) -> None:
        """Hand one received message to its topic's handler (own messages skipped)."""
        name = channel.decode() if isinstance(channel, bytes) else channel
        topic = next((t for t, c in self._channels.items() if c == name), None)
        handler = self._handlers.get(topic) if topic else None
        if handler is None:
            return
        try:
            version, sender, items = marshal.loads(data)
        except (ValueError, EOFError, TypeError):
            count("bus.malformed")
            return
        if sender == self.sender:
            return
        if version != PROTOCOL:  # a rolling upgrade: workers of another release speak another format
            count("bus.other_version")
            return
        count("bus.received", len(items))
        try:
            handler(items)
        except Exception as exc:  # noqa: BLE001 - a bad message must not cost the subscription
            count("bus.malformed")
            report_failure("replication-apply", exc)

    def _deliver(self, replies: list) -> bool:
        """Dispatch the published messages among ``replies`` (:meth:`Wire.receive`); True when there was one."""
        delivered = False
        for kind, channel, data in replies:
            if kind == b"message":
                self.dispatch(channel, data)
                delivered = True
        return delivered

    def _subscribe(self, wire: Wire | None = None) -> Wire:
        """Subscribe to every topic with a handler that is not subscribed yet (on a new
        wire when ``wire`` is None), wait for Redis to confirm, then run those topics'
        ``on_connect`` hooks."""
        if wire is None:
            wire = Wire(self._redis())
            self._subscribed = set()
        topics = [t for t in list(self._handlers) if t not in self._subscribed]
        if not topics:
            return wire
        wire.subscribe([self.channel(t) for t in topics])
        confirmed, deadline = 0, time.monotonic() + 5
        while confirmed < len(topics):
            if time.monotonic() > deadline:
                raise TimeoutError("Redis did not confirm the subscription")
            for kind, channel, data in wire.receive(0.5):
                if kind == b"subscribe":
                    confirmed += 1
                elif kind == b"message":
                    self.dispatch(channel, data)
        self._subscribed.update(topics)
        for topic in topics:
            hook = self._on_connect.get(topic)
            if hook is not None:
                hook()
        if len(self._subscribed) >= len(self._handlers):  # "connected": to every topic asked for so far
            self.connected.set()
        self.failing = False
        return wire

    def _run(self) -> None:
        wire = None
        backoff = self.interval
        next_flush = time.monotonic() + self.interval
        while not self._stop.is_set():
            try:
                if wire is None or len(self._subscribed) < len(self._handlers):
                    wire = self._subscribe(wire)
                    backoff = self.interval
                woken = self._deliver(wire.receive(max(0.0, next_flush - time.monotonic())))
                now = time.monotonic()
                if flush_due(now, next_flush, self.interval, woken):
                    next_flush = now + self.interval
                    if self.flush(wire):
                        # Redis sends every message back to its publisher's subscription too; by the time the
                        # publish is answered that copy has been sent as well: read it now, not on a wake of its own
                        self._deliver(wire.receive(0))
            except Exception as exc:  # noqa: BLE001 - Redis away: keep serving, retry with back-off
                report_failure("replication", exc)
                self.failing = True
                self.connected.clear()
                wire = _close(wire)
                for box in self._outbox.values():  # stale by the time Redis is back
                    if box:
                        count("bus.dropped", len(box))
                        box.clear()
                self._stop.wait(backoff)
                backoff = min(2.0, backoff * 2)
                next_flush = time.monotonic() + self.interval
        _close(wire)  # stopped: give the connections back now, not at garbage collection


def flush_due(now: float, next_flush: float, interval: float, woken: bool) -> bool:
    """Whether the bus thread publishes now: at ``next_flush``, or — when another worker's message
    has just woken it (``woken``) — already from half an interval before.

    Every wake costs the thread more than the work it does (a context switch in, redis-py's read,
    the GIL taken from a busy request thread): ~0.2 ms of CPU against ~3 µs a window event
    (``tests/benchmarks/bus.py``).  Publishing while awake anyway makes the workers' flushes fall
    into step — one worker's timer, the others' wakes for its message — so a pair wakes three times
    an interval instead of four.  Events only ever leave earlier: the lag stays within an interval.
    Half an interval, not any time: two workers would otherwise answer each other's messages back
    and forth at the speed of the network."""
    return now >= next_flush or (woken and now >= next_flush - interval / 2)


def _close(wire: Wire | None) -> None:
    """Close a wire, whatever state it is in; returns None (the new value)."""
    if wire is not None:
        wire.close()
    return None


_bus: ProcessSingleton[Bus] = ProcessSingleton(
    "replication bus", lambda: Bus(), per_settings=True,
    # a settings change: the old bus stops at once; a reset (tests): it stops and its thread is joined
    retire=lambda old: old.stop(timeout=0), close=lambda old: old.stop())


def get_bus() -> Bus:
    """This process's bus for the current settings (a new one after a settings
    change, and in a forked child: the thread did not survive the fork and
    the sender id would be the parent's)."""
    return _bus.get()


def reset_bus() -> None:
    """Stop and forget this process's bus (tests)."""
    _bus.reset()
