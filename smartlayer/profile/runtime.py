"""The active site profile on the request path.

The profile travels with the model version it was learned with (``profile.json``
in the version's directory, its sha256 in the manifest), so activating,
rolling back and the admin are those of :mod:`smartlayer.ml.registry`; the
model runtime loads it with the model and rebuilds it when the owner's
overrides (``PROFILE_OVERRIDES.json`` in the store) change.  The common case
of :func:`active_profile` is one clock comparison.

``PROFILE_ENABLED = False``, no active version, or a version learned without
a profile: None, and every decision is made as without a profile.
"""
from __future__ import annotations

from ..ml.runtime import get_active_profile
from .core import Profile


def active_profile() -> Profile | None:
    return get_active_profile()
