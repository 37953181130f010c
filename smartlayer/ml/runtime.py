"""The active model on the request path.

:func:`get_active_model` is called for every scored request, so its common
case is one monotonic-clock comparison.  At most every
``MODEL_RELOAD_INTERVAL`` seconds (and whenever the settings change) one
thread per process looks at what *should* be active:

* the store's ``ACTIVE`` pointer file — re-read only when its ``stat``
  changes (a rollback on this host, a deploy);
* the cache key ``make_key("model", "active")`` that :func:`.registry.activate`
  sets — so an activation on another host reaches this worker without a
  shared filesystem notification.

Both carry a time; the more recent one wins (the cache can be flushed, the
file can be stale on a host that did not do the activation).  A new version
is loaded from ``forest.npz`` + ``manifest.json`` only (NumPy and json, sha256
verified — never the pickle).  If that fails the failure is reported through
:func:`~smartlayer.state.failures.report_failure` ("model"), the function returns
None (the rules keep deciding alone), and the broken version is not tried
again for :data:`RETRY_BROKEN_AFTER` seconds or until the pointer moves.

``MODEL_ENABLED = False`` makes it return None without touching anything.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from operator import mul, sub
from typing import Any

from ..conf import sl_settings
from ..profile.core import Profile
from ..state.cache import get_cache, make_key
from ..state.failures import report_failure
from ..state.singleton import ProcessSingleton
from ..state.windows.window import Snapshot
from .features import FEATURE_NAMES, extract
from .forest import CompiledForest
from .store import LoadedModel, ModelStore
from .tells import corroborating, hurried_by_chance, paced_like_reading, steady_by_chance

logger = logging.getLogger("smartlayer")

#: Seconds before a version that failed to load is tried again (unless the
#: pointer changes first).
RETRY_BROKEN_AFTER = 60.0
#: How many deviating features a score explains itself with.
TOP_FEATURES = 3


def active_cache_key() -> str:
    return make_key("model", "active")


class TopFeatures(Sequence):
    """The ``(name, robust z)`` pairs that explain one score, worked out on first reading.

    Most scored requests are never explained: a score below the threshold, with no tell, is
    recorded as a number.  The pairs are asked for when the model's evidence counts toward a
    decision (a flag, a tell, a corroboration, the grey zone's LLM prompt), so computing them for
    every scored request was a few per cent of a replay for nothing."""

    __slots__ = ("_model", "_x", "_items")

    def __init__(self, model: ActiveModel, x: list[float]) -> None:
        self._model, self._x, self._items = model, x, None

    def _pairs(self) -> list[tuple[str, float]]:
        items = self._items
        if items is None:
            items = self._items = self._model.top_features(self._x)
            self._model = self._x = None
        return items

    def __len__(self) -> int:
        return len(self._pairs())

    def __getitem__(self, i):  # type: ignore[override]
        return self._pairs()[i]

    def __iter__(self):
        return iter(self._pairs())

    def __eq__(self, other: object) -> bool:
        return list(self._pairs()) == list(other) if isinstance(other, Sequence) else NotImplemented

    def __repr__(self) -> str:
        return repr(self._pairs())


@dataclass(frozen=True, slots=True)
class ModelScore:
    """What the model says about one request.

    ``score``: anomaly score in (0, 1), higher = more anomalous.
    ``threshold``: this version's threshold (``MODEL_BLOCK_SCORE`` may override
    it in :func:`smartlayer.policy.decisions.combine`).
    ``top_features``: ``(name, robust z)`` of the features furthest from the
    training median, in units of the training IQR (the 1–99 % range for
    near-constant features) — why it scored so.
    ``corroborated``: a tell of automation in the vector exceeds the site's own ceiling for it
    (the version's ``tell_ceilings``, :mod:`smartlayer.ml.training.tells`).
    ``tells_alone``: the tells may count without a flag (``MODEL_TELL_COUNT``): the version's ceilings
    were learned from vectors with the site profile's classes.
    ``sustained_threshold``: the score from which a request counts toward ``MODEL_SUSTAINED_ALONE``
    (the version's, :mod:`smartlayer.ml.training.sustained`; None: the threshold).
    ``reading``: the window's page views are paced like a person's reading
    (:func:`~smartlayer.ml.tells.paced_like_reading`), or a walk through a listing showing no tell
    beyond chance (:func:`~smartlayer.ml.tells.steady_by_chance`, :meth:`ActiveModel.score`): the flag
    is the visit's length, and does not count toward ``MODEL_SUSTAINED_ALONE`` (False below the
    threshold).  None: the version does not
    judge it (trained without the site profile's classes, whose "page views" are every GET): every
    flag counts, as before.
    """

    score: float
    threshold: float
    version: str
    top_features: Sequence[tuple[str, float]] = field(default_factory=list)
    corroborated: bool = False
    sustained_threshold: float | None = None
    tells_alone: bool = True
    reading: bool | None = None

    @property
    def above_threshold(self) -> bool:
        return self.score >= self.threshold


class ActiveModel:
    """A loaded, verified version: scores snapshots without scikit-learn."""

    def __init__(self, version: str, forest: CompiledForest, manifest: dict[str, Any]) -> None:
        self.version = version
        self.forest = forest
        self.manifest = manifest
        self.threshold = float(manifest["threshold"])
        stats = manifest["feature_stats"]
        self._median = [float(v) for v in stats["median"]]
        self._inv_scale = [1.0 / float(s) if float(s) > 0 else 1.0 for s in stats["scale"]]
        if not (len(self._median) == len(self._inv_scale) == len(FEATURE_NAMES)):
            raise ValueError("feature_stats do not match the feature set")
        ceilings = manifest.get("tell_ceilings") or {}
        self._tells = corroborating(ceilings)
        # the steady-dwell tell is judged again with the window on a walk through a listing (score())
        steady = ceilings.get("steady_dwell")
        self._steady_ceiling = float(steady) if steady is not None else None
        self._other_tells = corroborating({k: v for k, v in ceilings.items() if k != "steady_dwell"})
        # the hurried-direct tell is judged again by the stretch on a window over its ceiling (score())
        hurry = ceilings.get("hurried_direct_pages")
        self._hurry_ceiling = float(hurry) if hurry is not None else None
        self._calm = {w: corroborating({k: v for k, v in ceilings.items() if k not in ("hurried_direct_pages", *w)})
                      for w in ((), ("steady_dwell",))}
        sustained = manifest.get("sustained_threshold")
        self.sustained_threshold = float(sustained) if sustained is not None else None
        self.tells_alone = bool(manifest.get("tells_profiled", False))
        # a page view is bare only when it fetched none of its own files (versions trained so say it)
        self.own_assets = bool(manifest.get("own_assets", False))

    @classmethod
    def from_loaded(cls, loaded: LoadedModel) -> ActiveModel:
        return cls(loaded.version, loaded.forest, loaded.manifest)

    def score_vector(self, x: list[float]) -> ModelScore:
        corroborated = False
        for tell, ceiling in self._tells:   # a plain loop: half the cost of any() over a generator
            if tell(x) > ceiling:
                corroborated = True
                break
        score = self.forest.anomaly_score(x)
        reading = None
        if self.tells_alone:   # judged only where it counts: a request above the threshold
            reading = score >= self.threshold and paced_like_reading(x)
        return ModelScore(score, self.threshold, self.version, TopFeatures(self, x),
                          corroborated, self.sustained_threshold, self.tells_alone, reading)

    def score(self, snap: Snapshot) -> ModelScore:
        """Extract the request's features and score them (a few tens of µs).

        A steadiness that a walk through a listing shows by chance corroborates nothing
        (:func:`~smartlayer.ml.tells.steady_by_chance`: it needs the window's paths, which the vector
        does not hold), and a flag on such a walk is judged as on a visit paced like reading
        (``reading``: "next product" clicked through a listing at a shopper's pace, flagged for its
        length); judged only for a request the tells corroborated or flagged and not already reading."""
        x = extract(snap, self.own_assets)
        scored_ = self.score_vector(x)
        others = self._other_tells
        # page views opened seconds apart without a referer by coincidence (never more than the ceiling
        # in one stretch: people landing behind an office) or after an error page corroborate nothing
        if (self._hurry_ceiling is not None and scored_.corroborated
                and hurried_by_chance(x, snap.arrivals, self._hurry_ceiling, snap.outcomes)):
            others = self._calm[("steady_dwell",)]
            if not any(tell(x) > ceiling for tell, ceiling in self._calm[()]):
                scored_ = replace(scored_, corroborated=False)
        # a walk through a listing that shows no tell beyond chance is browsing: its steadiness
        # corroborates nothing and a flag on it is its length, as a reader's is (``reading``)
        if (self._steady_ceiling is not None and (scored_.corroborated or scored_.reading is False)
                and steady_by_chance(x, snap.arrivals, self._steady_ceiling, others)):
            return replace(scored_, corroborated=False, reading=None if scored_.reading is None else True)
        return scored_

    def top_features(self, x: list[float], k: int = TOP_FEATURES) -> list[tuple[str, float]]:
        """The ``k`` features deviating most from the training median (robust z)."""
        z = list(map(mul, map(sub, x, self._median), self._inv_scale))
        # the sort keys computed once (C-level map) and read by a C-level getter, not a lambda per
        # comparison; reverse=True keeps the sort stable: ties keep feature order
        order = list(map(abs, z))
        best = sorted(range(len(z)), key=order.__getitem__, reverse=True)[:k]
        return [(FEATURE_NAMES[i], round(z[i], 2)) for i in best]


class _Runtime:
    """Process-wide state behind :func:`get_active_model`."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.current: ActiveModel | None = None
        self.profile: Profile | None = None        # the site profile stored with the active version
        self.profile_data: dict[str, Any] | None = None
        self.overrides_sig: tuple[int, int, int] | None = None
        self.next_check = 0.0
        self.generation = -1
        self.store: ModelStore | None = None
        self.pointer_sig: tuple[int, int, int] | None = None
        self.pointer_version: str | None = None
        self.pointer_mtime = 0.0
        self.broken: dict[str, float] = {}

    def wanted(self) -> str | None:
        """The version that should be active: the newer of pointer file and cache key."""
        store = self.store
        assert store is not None
        try:
            st = os.stat(store.active_path)
        except FileNotFoundError:
            self.pointer_sig, self.pointer_version, self.pointer_mtime = None, None, 0.0
        except OSError as exc:
            report_failure("model", f"cannot stat {store.active_path}: {exc}")
        else:
            sig = (st.st_mtime_ns, st.st_size, st.st_ino)
            if sig != self.pointer_sig:
                self.pointer_version = store.active_version()
                self.pointer_sig = sig
                self.pointer_mtime = st.st_mtime
        version, stamp = self.pointer_version, self.pointer_mtime
        try:
            entry = get_cache().get(active_cache_key())
        except Exception as exc:  # noqa: BLE001 - an unreachable cache must not stop scoring
            report_failure("cache", exc)
            entry = None
        if isinstance(entry, dict) and entry.get("version"):
            at = float(entry.get("at") or 0.0)
            if version is None or at >= stamp:
                version = str(entry["version"])
        return version

    def refresh(self, now: float) -> None:
        self._refresh(now)
        if self.current is not None:
            from .guard import demotion_state, process_guard

            # a demotion another worker published, or its clearing by an activation
            process_guard().adopt(demotion_state(), self.current.version)

    def _refresh(self, now: float) -> None:
        gen = sl_settings.generation
        if gen != self.generation:
            # new settings: maybe another store, another interval; forget everything
            self.reset()
            self.generation = gen
        self.next_check = now + max(0.0, float(sl_settings.MODEL_RELOAD_INTERVAL))
        try:
            if self.store is None:
                self.store = ModelStore()
            version = self.wanted()
        except Exception as exc:  # noqa: BLE001 - a bad MODEL_STORE must not break requests
            report_failure("model", exc)
            self.current = None
            return
        if version is None:
            self.current = self.profile = self.profile_data = None
            return
        if self.current is not None and self.current.version == version:
            self.refresh_overrides()
            return
        retry_at = self.broken.get(version)
        if retry_at is not None and now < retry_at:
            self.current = self.profile = self.profile_data = None
            return
        try:
            loaded = self.store.load(version)
            self.current = ActiveModel.from_loaded(loaded)
            self.broken.pop(version, None)
            _warn_if_window_differs(self.current)
        except Exception as exc:  # noqa: BLE001 - ModelStoreError and anything a bad file raises
            report_failure("model", f"cannot load model version {version!r}: {exc}")
            self.broken[version] = now + RETRY_BROKEN_AFTER
            self.current = self.profile = self.profile_data = None
            return
        try:
            self.profile_data = self.store.load_profile(version, loaded.manifest)
        except Exception as exc:  # noqa: BLE001 - a broken profile costs the profile, not the model
            report_failure("profile", f"cannot load the profile of version {version!r}: {exc}")
            self.profile_data = None
        self.overrides_sig = None
        self.profile = None
        self.refresh_overrides()

    def refresh_overrides(self) -> None:
        """(Re)build the profile when the owner's overrides changed (or it was just loaded)."""
        if self.profile_data is None or self.store is None or self.current is None:
            return
        try:
            st = os.stat(self.store.overrides_path)
            sig: tuple[int, int, int] | None = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            sig = (0, 0, 0)
        except OSError:
            sig = None
        if sig is not None and sig == self.overrides_sig and self.profile is not None:
            return
        try:
            data = dict(self.profile_data)
            overrides = self.store.read_overrides() if sig not in (None, (0, 0, 0)) else {}
            merged = {key: {**((data.get("overrides") or {}).get(key) or {}), **(overrides.get(key) or {})}
                      for key in ("class", "exempt_params")}
            data["overrides"] = merged
            self.profile = Profile(data, self.current.version)
            self.overrides_sig = sig
        except Exception as exc:  # noqa: BLE001
            report_failure("profile", f"cannot build the profile of version {self.current.version!r}: {exc}")
            self.profile = None


def _warn_if_window_differs(model: ActiveModel) -> None:
    """Features depend on the window's size: a model trained with another one
    still works, but its vectors mean something slightly different."""
    trained = model.manifest.get("window") or {}
    now = {"WINDOW_SECONDS": float(sl_settings.WINDOW_SECONDS),
           "WINDOW_MAX_EVENTS": int(sl_settings.WINDOW_MAX_EVENTS),
           "grey_grace_requests": int(sl_settings.grey_grace_requests)}
    changed = {k: (trained[k], v) for k, v in now.items() if k in trained and trained[k] != v}
    if changed:
        logger.warning("smartlayer: model %s was trained with %s; retrain with train_smartlayer",
                       model.version, ", ".join(f"{k}={a} (now {b})" for k, (a, b) in changed.items()))


_runtime: ProcessSingleton[_Runtime] = ProcessSingleton("model runtime", _Runtime, close=lambda rt: rt.reset())


def _checked() -> _Runtime:
    """The runtime, refreshed when its reload interval or the settings generation says so.

    One thread checks; the others keep scoring with what is loaded.
    """
    rt = _runtime.get()
    now = time.monotonic()
    if (now >= rt.next_check or rt.generation != sl_settings.generation) and rt.lock.acquire(blocking=False):
        try:
            rt.refresh(now)
        finally:
            rt.lock.release()
    return rt


def get_active_model() -> ActiveModel | None:
    """The active model, or None (no model, disabled, or it failed to load)."""
    if not sl_settings.MODEL_ENABLED:
        return None
    return _checked().current


def get_active_profile() -> Profile | None:
    """The site profile of the active version, or None (none, disabled, or it failed to load)."""
    if not sl_settings.PROFILE_ENABLED:
        return None
    return _checked().profile


def get_active() -> tuple[ActiveModel | None, Profile | None]:
    """The active model and its site profile, as :func:`get_active_model` and
    :func:`get_active_profile` answer, for one runtime check instead of two (the detector asks
    for both on every request)."""
    model_on, profile_on = sl_settings.MODEL_ENABLED, sl_settings.PROFILE_ENABLED
    if not (model_on or profile_on):
        return None, None
    rt = _checked()
    return (rt.current if model_on else None), (rt.profile if profile_on else None)


def reset_runtime() -> None:
    """Forget the loaded model and every timer (tests; after a manual store change)."""
    _runtime.reset()
