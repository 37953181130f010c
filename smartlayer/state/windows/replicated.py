"""Per-client windows kept in each worker's memory and replicated between workers.

The production default on Django's RedisCache (``WINDOW_BACKEND = "auto"``).

:class:`~smartlayer.state.windows.redis.RedisWindowStore` keeps one window per client
in Redis and asks for it on every request: exact at every instant, but one
round trip per request — the largest cost smartlayer adds to a busy site.
This store keeps the same :class:`~smartlayer.state.windows.window.ClientWindow` objects in
the worker's memory (as :class:`~smartlayer.state.windows.window.LocalWindowStore` does) and
replicates them through the :mod:`~smartlayer.state.bus`: every arrival and outcome
is recorded locally at once and queued; every ``REPLICATION_INTERVAL``
(default 20 ms) the queue is published, and each worker merges the others'
events into its windows *in timestamp order*
(:meth:`ClientWindow.merge_arrival`).  The counts of flagged requests that
the sustained-anomaly policy reads (:meth:`ClientWindow.mark`) travel the
same way, so counting a flag costs no round trip either.

What that guarantees:

* **Eventually exact.**  Once the events of all workers have been delivered,
  every worker's window of a client equals the window one ``ClientWindow``
  fed with the time-ordered union of all of them would hold
  (``tests/integration/test_replicated_window.py`` checks it).
* **Bounded lag.**  When a request is judged, the window holds every request
  of that client this worker served, and the other workers' requests up to
  about ``REPLICATION_INTERVAL`` plus a network hop ago.  A flood spread over
  several workers is therefore seen within tens of milliseconds — a few
  requests later than with the Redis store, never workers-times later as with
  per-process windows.
* **No request waits for Redis.**  If Redis goes away, every worker goes on
  deciding on what it has (its own traffic and what it heard before); the
  failure is logged once per interval and counted; replication resumes when
  Redis returns.

What it gives up against the Redis store: windows live in worker memory, so a
freshly started worker knows only what it has seen or heard since it started
(a client's history does not survive a restart of every worker), and events
published while a worker was disconnected are not replayed.  Sites that need
windows exact at every instant choose ``WINDOW_BACKEND = "redis"``.
"""
from __future__ import annotations

from typing import Any

from ...conf import sl_settings
from ..bus import Bus, get_bus
from .window import Arrival, LocalWindowStore, Outcome, Snapshot

TOPIC = "w"
#: flagged-request marks (:meth:`ClientWindow.mark`) travel on a topic of their own: a worker
#: of an older release, which does not know them, is simply not subscribed to it
MARKS = "wf"
_ARRIVAL, _OUTCOME = 0, 1
#: events merged per hold of the store's lock (~2 µs each)
MERGE_SLICE = 128


class ReplicatedWindowStore(LocalWindowStore):
    """A :class:`~smartlayer.state.windows.window.LocalWindowStore` whose windows the workers share (module docstring)."""

    def __init__(self, bus: Bus | None = None, group: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._bus = bus
        self._joined: Bus | None = None
        group = sl_settings.REPLICATION_GROUP if group is None else group
        # workers replicate windows with the workers of their group only (bans stay cluster-wide)
        self.topic = f"{TOPIC}:{group}" if group else TOPIC
        self.marks_topic = f"{MARKS}:{group}" if group else MARKS

    @property
    def bus(self) -> Bus:
        bus = self._bus if self._bus is not None else get_bus()
        if bus is not self._joined:  # first use, or a new process after a fork
            bus.subscribe(self.marks_topic, self.merge_marks)
            bus.subscribe(self.topic, self.merge)
            self._joined = bus
        return bus

    def available(self) -> bool:
        """False while Redis is known to be unreachable (for CACHE_FAIL_OPEN = False:
        windows kept from a site that cannot share them are not what its owner asked for)."""
        return not self.bus.failing

    def arrive(self, key: str, arrival: Arrival) -> Snapshot:
        snap = super().arrive(key, arrival)
        self.bus.send(self.topic, (key, _ARRIVAL, *arrival))
        return snap

    def complete(self, key: str, outcome: Outcome) -> None:
        super().complete(key, outcome)
        self.bus.send(self.topic, (key, _OUTCOME, *outcome))

    def mark(self, key: str, kind: str, bucket: int) -> int | None:
        n = super().mark(key, kind, bucket)
        if n is not None:
            self.bus.send(self.marks_topic, (key, kind, bucket))
        return n

    def merge_marks(self, items: list) -> None:
        """Apply a batch of another worker's flag marks (the bus thread calls this).

        A mark can arrive before the arrival that made its window (each flush publishes
        the topics one after the other), so a missing window is made here; the arrival
        fills it a moment later."""
        for start in range(0, len(items), MERGE_SLICE):
            self._merge_marks(items[start:start + MERGE_SLICE])

    def _merge_marks(self, items: list) -> None:
        with self._lock:
            for item in items:
                key, kind, bucket = item
                if not isinstance(bucket, int) or not isinstance(kind, str):
                    raise ValueError(f"not a flag mark: {item!r:.200}")
                self._touch(key).mark(kind, bucket)

    def merge(self, items: list) -> None:
        """Apply a batch of another worker's events (the bus thread calls this).

        In slices of :data:`MERGE_SLICE` events, releasing the lock between
        them, so a large batch (many workers, a burst) never holds up this
        worker's requests for more than a fraction of a millisecond.
        """
        for start in range(0, len(items), MERGE_SLICE):
            self._merge(items[start:start + MERGE_SLICE])

    def _merge(self, items: list) -> None:
        keep = self.keep_seconds
        with self._lock:
            windows = self._windows
            for item in items:
                key, kind = item[0], item[1]
                if len(item) != 6 or not isinstance(item[2], float):
                    raise ValueError(f"not a window event: {item!r:.200}")
                if kind == _ARRIVAL:
                    self._touch(key).merge_arrival(item[2:], keep)
                else:
                    win = windows.get(key)
                    if win is not None:  # an outcome of a window this worker no longer keeps: as complete()
                        win.merge_outcome(item[2:])
