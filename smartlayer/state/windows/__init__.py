"""Per-client windows: the recent requests of each client, what the rules and the model read.

* :mod:`.window` — :class:`~.window.ClientWindow` (one client's events, in
  timestamp order) and the in-process store;
* :mod:`.snapshot` — :class:`~.snapshot.Snapshot`, what the rules and the model read of a window;
* :mod:`.redis` — windows in Redis (Lua scripts), exact at every instant;
* :mod:`.replicated` — windows in each worker's memory, replicated over the
  bus (:mod:`smartlayer.state.bus`);
* :mod:`.store` — which one this process uses (``WINDOW_BACKEND``).
"""
from .store import get_window_store, reset_window_store, window_backend

__all__ = ["get_window_store", "reset_window_store", "window_backend"]
