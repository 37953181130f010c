"""Writing an automatic ban's database row off the request thread.

A ban decided on the request path is in force the moment its cache entry is
written (and, with replicated windows, this worker's mirror updated and the
ban announced): that part stays on the request thread.  Its database row —
a query for an existing active ban, then an insert, and the cache refresh the
insert's signal triggers — is what makes it durable, and nothing that request
waits for.  It cost two SQL queries on the request thread per ban (a wave of
new clients banned at once is a burst of them, on the requests being refused).

So when a background writer runs in this process (WatchLog's thread, which
registers itself here: :func:`set_drainer`), the row is handed to it and written
with its next batch, within ``LOG_FLUSH_INTERVAL``.  Without one (no WatchLog,
``LOG_WRITER = "manual"``) the row is written at once, as before.

Nothing is dropped: a row the database cannot take now (it is away) stays
pending and is tried again with the next batch; each failure is reported and
counted (``failure.database``, ``bans.persist_failed``).  Only a row the
database refuses as data (it never will take it) is given up, counted
(``bans.persist_refused``) — the ban is still enforced from the cache until it
expires, as a ban made while the database was away always was.  Pending rows
are written at exit with the log's last flush.  A lift in this process forgets the
client's pending rows (:func:`discard`); a lift in another process within that
second finds no row yet, so the row written after it brings the ban back — lift it
again.
"""
from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from .failures import count, report_failure

#: (the unsaved Ban row, what to do once it is written) in the order the bans were made
_pending: deque[tuple[Any, Callable[[Any], Any]]] = deque()
_lock = threading.Lock()          # one writer of rows at a time (the drainer, a flush, stop)
_drainer: list[Any] = [None]      # the background writer that drains the pending rows, or None


def set_drainer(owner: Any) -> None:
    """``owner`` (a running background writer) writes pending rows from now on; None: nobody does."""
    _drainer[0] = owner


def drainer() -> Any:
    """The background writer that writes pending rows, or None."""
    return _drainer[0]


def pending() -> int:
    """Ban rows not yet written."""
    return len(_pending)


def submit(obj: Any, persist: Callable[[Any], Any]) -> bool:
    """Hand ``persist(obj)`` to the background writer; False when none runs (the caller persists now)."""
    if _drainer[0] is None:
        return False
    _pending.append((obj, persist))
    count("bans.deferred")
    return True


def discard(client_key: str) -> int:
    """Forget this client's pending rows (its ban was lifted before they were written); how many."""
    with _lock:
        keep = [item for item in _pending if item[0].client_key != client_key]
        gone = len(_pending) - len(keep)
        if gone:
            _pending.clear()
            _pending.extend(keep)
    return gone


def drain(invalid: tuple[type[BaseException], ...] = ()) -> bool:
    """Write the pending ban rows (the background writer's thread, a flush); True when none is left.

    ``invalid``: the exceptions that mean the database refuses the values (the writer's
    ``data_errors()``), as opposed to being away.  Stops at the first row the database cannot take
    now: it and the rest are kept, in order, for the next call.
    """
    if not _pending:
        return True
    with _lock:
        while _pending:
            obj, persist = _pending[0]
            try:
                persist(obj)
            except invalid as exc:
                _pending.popleft()
                count("bans.persist_refused")
                report_failure("database", f"the database refused the row of a ban of {obj.client_key!r} "
                                           f"(still enforced from the cache): {type(exc).__name__}: {exc}")
                continue
            except Exception as exc:  # noqa: BLE001 - database away: kept, tried again with the next batch
                count("bans.persist_failed")
                report_failure("database", exc)
                return False
            _pending.popleft()
    return True


def reset() -> None:
    """Forget the pending rows and the drainer (tests; a forked child, whose parent writes them)."""
    _pending.clear()
    _drainer[0] = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=reset)  # the parent's writer thread does not exist in the child
