"""The process-wide window store, chosen by ``WINDOW_BACKEND`` for the current settings."""
from __future__ import annotations

from ...conf import derived, sl_settings
from ..singleton import ProcessSingleton
from .window import LocalWindowStore, WindowStore


@derived
def window_backend() -> str:
    """The window store in use: ``"local"``, ``"replicated"`` or ``"redis"`` (``"auto"`` resolved)."""
    backend = sl_settings.WINDOW_BACKEND
    if backend == "auto":
        from ..cache import cache_is_redis

        backend = "replicated" if cache_is_redis() else "local"
    return backend


def _build_store() -> WindowStore:
    backend = window_backend()
    if backend == "replicated":
        from .replicated import ReplicatedWindowStore

        return ReplicatedWindowStore()
    if backend == "redis":
        from .redis import RedisWindowStore

        return RedisWindowStore()
    return LocalWindowStore()


_store: ProcessSingleton[WindowStore] = ProcessSingleton(
    "window store", _build_store, per_settings=True, close=lambda store: store.clear())


def get_window_store() -> WindowStore:
    """The process-wide window store for the current settings."""
    return _store.get()


def reset_window_store() -> None:
    """Forget every window (tests, the demo)."""
    _store.reset()
