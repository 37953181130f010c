"""One helper for the objects a process keeps one of.

The log writer, the window store, the replication bus, the LLM client, the
model runtime, the detector and the scheduler are each *one per process*:
built on first use, possibly rebuilt when the settings change (a new cache,
a new LLM key), forgotten in a forked child (a thread does not survive
``fork``; gunicorn ``--preload`` forks after import), and reset between
tests.  Each used to hand-roll its own lock, generation check, reset and
fork hook; :class:`ProcessSingleton` is that logic once.

The read path is one attribute load and one integer comparison (the
settings generation), cheap enough for every request.
"""
from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

from .. import conf as _conf

T = TypeVar("T")

_all: weakref.WeakSet[ProcessSingleton] = weakref.WeakSet()


class ProcessSingleton(Generic[T]):
    """Holds the process's one ``T``.

    ``factory()`` builds it.  ``per_settings``: a settings change (a new
    :attr:`smartlayer.conf.SmartLayerSettings.generation`) makes the next
    :meth:`get` build a new one and hand the old one to ``retire``.
    ``reset`` (tests) hands the current one to ``close``, or to ``retire``
    when no ``close`` is given.
    """

    def __init__(self, name: str, factory: Callable[[], T], *, per_settings: bool = False,
                 retire: Callable[[T], None] | None = None, close: Callable[[T], None] | None = None) -> None:
        self.name = name
        self._factory = factory
        self._per_settings = per_settings
        self._retire = retire
        self._close = close or retire
        self._value: T | None = None
        self._generation = -1
        self._lock = threading.Lock()
        _all.add(self)

    def get(self) -> T:
        value = self._value
        # the generation read from the module inline: several gets a request, a call fewer each
        if value is not None and (not self._per_settings or self._generation == _conf._generation):
            return value
        with self._lock:
            generation = _settings_generation()
            value = self._value
            if value is None or (self._per_settings and self._generation != generation):
                old = value
                value = self._value = self._factory()
                self._generation = generation
                if old is not None and self._retire is not None:
                    self._retire(old)
            return value

    def peek(self) -> T | None:
        """The current one, without building it."""
        return self._value

    def take(self) -> T | None:
        """Forget the current one and hand it to the caller, unclosed."""
        with self._lock:
            old, self._value = self._value, None
        return old

    def reset(self) -> None:
        """Close and forget the current one (the next :meth:`get` builds anew)."""
        with self._lock:
            old, self._value = self._value, None
        if old is not None and self._close is not None:
            self._close(old)

    def _forget(self) -> None:
        """In a forked child: the parent's object (and its threads) are not ours."""
        self._value = None
        self._lock = threading.Lock()


def _settings_generation() -> int:
    # read from the module, not through sl_settings' property: every get()
    # of every per-settings singleton asks (several times a request)
    return _conf._generation


def reset_all() -> None:
    """Reset every process singleton (tests)."""
    for singleton in list(_all):
        singleton.reset()


def _forget_all_after_fork() -> None:
    for singleton in list(_all):
        singleton._forget()


if hasattr(os, "register_at_fork"):  # POSIX; registered once, so get() needs no getpid() per call
    os.register_at_fork(after_in_child=_forget_all_after_fork)
