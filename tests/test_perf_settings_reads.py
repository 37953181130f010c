"""Reading a setting is a plain attribute lookup once the settings are loaded.

``sl_settings`` is read ~50 times a request (the rules' thresholds, the policy's counts, the
log's limits).  A class with ``__getattr__`` sends every one of those reads through CPython's
generic attribute hook (~600 instructions a read where a plain lookup costs ~250), so the
loaded object carries no ``__getattr__``: only the first read after a (re)load goes through it.
"""
from __future__ import annotations

import pytest

from smartlayer import conf
from smartlayer.conf import sl_settings


def _hooked() -> bool:
    return any("__getattr__" in vars(cls) or "__getattribute__" in vars(cls)
               for cls in type(sl_settings).__mro__ if cls is not object)


def test_a_loaded_settings_object_has_no_attribute_hook(sl):
    sl(BAN_TTL=123)
    assert sl_settings.BAN_TTL == 123            # the first read loads
    assert not _hooked()
    assert isinstance(sl_settings, conf.SmartLayerSettings)


def test_a_reload_reads_the_new_values(sl):
    sl(BAN_TTL=5)
    assert sl_settings.BAN_TTL == 5
    sl(BAN_TTL=7)                                # setting_changed: reloaded
    assert _hooked()                             # the next read loads again
    assert sl_settings.BAN_TTL == 7
    assert not _hooked()
    assert sl_settings.generation == conf._generation


def test_unknown_names_still_fail_loudly(sl):
    sl(BAN_TTL=9)
    with pytest.raises(AttributeError):
        sl_settings.NO_SUCH_SETTING  # noqa: B018 - the loading read
    with pytest.raises(AttributeError):
        sl_settings.NO_SUCH_SETTING_EITHER  # noqa: B018 - a loaded read
    assert sl_settings.BAN_TTL == 9
