"""The one settings module of smartlayer.

Every tunable lives in the ``SMART_MIDDLEWARE`` dict of the Django settings.
This module merges that dict over :data:`DEFAULTS` (:mod:`smartlayer.defaults`) and hands the result out
through :data:`sl_settings`.  The merged view is computed lazily, read at call
time (never at import time) and thrown away whenever Django's
``setting_changed`` signal reports a change to ``SMART_MIDDLEWARE``, so
``override_settings`` works in tests exactly as it does for Django's own
settings.

Keys keep the spelling of the original django-smart-layer README, which used
upper case for the top-level keys (``AI_API_KEY``, ``RATE_LIMIT_PLANS``) and
lower case for the anomaly-detector tuning keys (``grey_hard_block_score``).
Every key the seed README documented stays valid with its documented default.

Code that derives something expensive from the settings (compiled regexes,
parsed networks, compiled rate-limit plans) wraps it in :func:`derived`, which
caches the value per settings generation.
"""
from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings as django_settings
from django.core.signals import setting_changed

from .defaults import (  # noqa: F401 - imported from here since before the split
    DEFAULT_GREY_WEIGHTS,
    DEFAULT_LOGIN_PATHS,
    DEFAULT_SENSITIVE_PATHS,
    DEFAULT_SUSPICIOUS_USER_AGENTS,
    DEFAULTS,
)

SETTINGS_NAME = "SMART_MIDDLEWARE"

#: Components that can decide about a request.  Used for monitor mode, the
#: ``blocked_by`` column of :class:`~smartlayer.models.RequestLog` and signals.
COMPONENTS = ("ban", "anomaly", "validator", "ratelimit")


#: MONITOR_MODE = True: whatever the component
_EVERY_COMPONENT: frozenset[str] = frozenset({"*"})

_lock = threading.Lock()
_merged: dict[str, Any] | None = None
_generation = 0


def _user_settings() -> dict[str, Any]:
    value = getattr(django_settings, SETTINGS_NAME, None)
    return value if isinstance(value, dict) else {}


class SmartLayerSettings:
    """Attribute and item access to the merged settings.

    ``sl_settings.BAN_TTL`` and ``sl_settings["grey_hard_block_score"]`` read
    the user's value when set, else the default.  Unknown names raise
    ``AttributeError``/``KeyError`` so typos in our own code fail loudly;
    typos in the user's dict are reported by the system checks instead.
    """

    def _data(self) -> dict[str, Any]:
        global _merged
        data = _merged
        if data is None:
            with _lock:
                if _merged is None:
                    merged = dict(DEFAULTS)
                    merged.update(_user_settings())
                    _merged = merged
                data = _merged
        return data

    def __getitem__(self, name: str) -> Any:
        return self._data()[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self._data().get(name, default)

    def as_dict(self) -> dict[str, Any]:
        return dict(self._data())

    @property
    def generation(self) -> int:
        """Increases every time the settings are reloaded."""
        return _generation

    def is_monitor(self, component: str) -> bool:
        """True when ``component`` decides but must not block.

        Asked four or five times per request: the answer for every component is worked out
        once per settings generation (kept in the instance dict, which :func:`reload` empties).
        """
        monitored = self.__dict__.get("_monitored_")
        if monitored is None:
            data = self._data()
            mode = data["MONITOR_MODE"]
            if isinstance(mode, (list, tuple, set, frozenset)):
                monitored = frozenset(mode)
            else:
                monitored = _EVERY_COMPONENT if mode else frozenset()
            with _lock:
                if _merged is data:
                    self.__dict__["_monitored_"] = monitored
        return monitored is _EVERY_COMPONENT or component in monitored


class _Unloaded(SmartLayerSettings):
    """:data:`sl_settings` before its first read after a (re)load: its first attribute read loads the
    merged settings into the instance dict and turns the object into a plain
    :class:`SmartLayerSettings` again.

    Why two classes: a class with ``__getattr__`` routes *every* attribute read through CPython's
    generic hook (a lookup and a call of ``__getattribute__`` first, ~600 instructions a read, and
    no specialised load), and ``sl_settings`` is read dozens of times a request.  Without it a read
    is an instance-dict hit.  An unknown name still raises ``AttributeError``."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        data = self._data()
        with _lock:
            if _merged is data:
                self.__dict__.update(data)
                self.__class__ = SmartLayerSettings   # loaded: reads are plain lookups until reload()
        try:
            return data[name]
        except KeyError:
            raise AttributeError(f"smartlayer has no setting {name!r}") from None


sl_settings: SmartLayerSettings = _Unloaded()


def reload() -> None:
    """Forget the merged settings and everything derived from them."""
    global _merged, _generation
    with _lock:
        _merged = None
        _generation += 1
        # the loading class first, then the values: a reader in between still finds the old ones
        sl_settings.__class__ = _Unloaded
        sl_settings.__dict__.clear()


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in (SETTINGS_NAME, "MIDDLEWARE", "CACHES", "BASE_DIR", "LOGIN_URL"):
        reload()


setting_changed.connect(_on_setting_changed, dispatch_uid="smartlayer.conf.reload")

T = TypeVar("T")


def derived(func: Callable[[], T]) -> Callable[[], T]:
    """Cache a zero-argument function of the settings until they change.

    The check is one integer comparison, cheap enough for the request path.
    """
    state: list[Any] = [-1, None]

    @functools.wraps(func)
    def wrapper() -> T:
        if state[0] != _generation:
            value = func()
            state[1] = value
            state[0] = _generation
            return value
        return state[1]

    wrapper.cache_clear = lambda: state.__setitem__(0, -1)  # type: ignore[attr-defined]
    return wrapper
