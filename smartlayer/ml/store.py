"""The model store: immutable version directories and a movable ACTIVE pointer.

Layout under the root (``MODEL_STORE``, else ``<BASE_DIR>/models_store``,
else ``./models_store`` — never inside the installed package, which may be
read-only and is replaced on upgrade)::

    <root>/
      ACTIVE                  the active version's name (one line)
      .train.lock             flock'ed by a training run
      HISTORY                 activations (who, when, forced past the shadow bound?), JSON lines
      <version>/              written once, never modified
        model.joblib          the fitted scikit-learn IsolationForest (offline use)
        forest.npz            the compiled arrays the runtime scores with
        profile.json          the site profile learned with it (smartlayer.profile), when there is one
        shadow.json           the candidate scored on recent traffic before it could be activated
        manifest.json         what, when, on which data, how good, and every artifact's sha256

A version directory is assembled under a temporary name and then renamed
into place (atomic on POSIX), so a reader sees either no version or a
complete one.  ``ACTIVE`` is replaced with :func:`os.replace`, so it always
holds a whole version name.  :meth:`ModelStore.load` verifies the sha256 of
``forest.npz`` against the manifest and the manifest's feature set against
:data:`~smartlayer.ml.features.FEATURE_SET_VERSION` before using anything:
a tampered, truncated or incompatible version raises :class:`ModelStoreError`.

The root's shared files (``ACTIVE``, ``HISTORY``, the overrides, the lock)
are kept by :mod:`.storefiles`, mixed in here.

This module runs on the request path (through :mod:`.runtime`): it imports
json, hashlib and NumPy only; ``joblib`` is imported by the two offline
methods that need it.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..conf import sl_settings
from .features import FEATURE_NAMES, FEATURE_SET_VERSION
from .forest import CompiledForest, ForestFormatError
from .storefiles import (  # noqa: F401  (names re-exported: the store's public surface)
    ACTIVE_FILE,
    HISTORY_FILE,
    LOCK_FILE,
    OVERRIDES_FILE,
    ModelStoreError,
    RootFiles,
    StoreLocked,
    check_version_name,
    fsync_dir,
    fsync_file,
    is_version_name,
)

MODEL_FILE = "model.joblib"
FOREST_FILE = "forest.npz"
MANIFEST_FILE = "manifest.json"
PROFILE_FILE = "profile.json"
SHADOW_FILE = "shadow.json"
_REPORT_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}\.json$")


def store_root() -> Path:
    """The configured store directory (it need not exist yet)."""
    configured = sl_settings.MODEL_STORE
    if configured:
        root = Path(configured)
    else:
        from django.conf import settings

        base = getattr(settings, "BASE_DIR", None)
        root = Path(base) / "models_store" if base else Path.cwd() / "models_store"
    root = root.expanduser().resolve()
    package = Path(__file__).resolve().parents[1]
    if root == package or package in root.parents:
        raise ModelStoreError(
            f"MODEL_STORE {root} is inside the smartlayer package; set SMART_MIDDLEWARE['MODEL_STORE'] "
            "to a directory the deployment owns")
    return root


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_compatible(manifest: dict[str, Any]) -> None:
    """Refuse a model whose vectors would not mean what ours mean."""
    fs = manifest.get("feature_set")
    if fs != FEATURE_SET_VERSION:
        raise ModelStoreError(
            f"model {manifest.get('version')!r} was trained on feature set {fs!r}; this smartlayer "
            f"computes {FEATURE_SET_VERSION!r} — retrain with train_smartlayer")
    if tuple(manifest.get("feature_names") or ()) != FEATURE_NAMES:
        raise ModelStoreError(
            f"model {manifest.get('version')!r} lists other feature names than feature set "
            f"{FEATURE_SET_VERSION!r}")


@dataclass(frozen=True)
class LoadedModel:
    """A verified version: its manifest and the compiled forest."""

    version: str
    manifest: dict[str, Any]
    forest: CompiledForest
    path: Path


class ModelStore(RootFiles):
    """One store directory.  Cheap to construct; holds no open files."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root).expanduser().resolve() if root is not None else store_root()

    # ── paths ──────────────────────────────────────────────────────────────
    def path(self, version: str) -> Path:
        return self.root / check_version_name(version)


    def versions(self) -> list[str]:
        """Complete versions in the store, oldest name first."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir()
                      if p.is_dir() and is_version_name(p.name) and (p / MANIFEST_FILE).is_file())

    def exists(self, version: str) -> bool:
        return (self.path(version) / MANIFEST_FILE).is_file()

    # ── writing ────────────────────────────────────────────────────────────
    def save(self, version: str, *, estimator: Any, forest: CompiledForest, manifest: dict[str, Any],
             profile: dict[str, Any] | None = None, reports: dict[str, dict[str, Any]] | None = None) -> Path:
        """Write a new immutable version; returns its directory.

        ``manifest`` gets ``version`` and ``artifacts`` (name → sha256 and
        size) filled in; the directory appears atomically or not at all.
        ``profile``: the site profile learned with the model, stored beside it
        (``profile.json``) so that it is activated and rolled back with it.
        ``reports``: JSON files written beside it (``shadow.json``, the shadow
        scoring of the candidate), hashed in the manifest like the artifacts.
        """
        import joblib

        final = self.path(version)
        if final.exists():
            raise ModelStoreError(f"model version {version} already exists in {self.root}")
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=self.root))
        try:
            joblib.dump(estimator, tmp / MODEL_FILE)
            forest.to_npz(tmp / FOREST_FILE)
            names = [MODEL_FILE, FOREST_FILE]
            if profile is not None:
                with open(tmp / PROFILE_FILE, "w", encoding="utf-8") as fh:
                    json.dump(profile, fh, sort_keys=True, separators=(",", ":"), default=str)
                names.append(PROFILE_FILE)
            for name, report in (reports or {}).items():
                if name in (MODEL_FILE, FOREST_FILE, MANIFEST_FILE, PROFILE_FILE) or not _REPORT_RE.match(name):
                    raise ModelStoreError(f"invalid report file name {name!r}")
                with open(tmp / name, "w", encoding="utf-8") as fh:
                    json.dump(report, fh, indent=2, sort_keys=True, default=str)
                    fh.write("\n")
                names.append(name)
            manifest = dict(manifest)
            manifest["version"] = version
            manifest["artifacts"] = {
                name: {"sha256": sha256_file(tmp / name), "bytes": (tmp / name).stat().st_size}
                for name in names
            }
            with open(tmp / MANIFEST_FILE, "w", encoding="utf-8") as fh:
                json.dump(manifest, fh, indent=2, sort_keys=True, default=str)
                fh.write("\n")
            for name in (*names, MANIFEST_FILE):
                fsync_file(tmp / name)
                os.chmod(tmp / name, 0o444)
            os.chmod(tmp, 0o755)
            try:
                os.rename(tmp, final)
            except OSError as exc:
                if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
                    raise ModelStoreError(f"model version {version} already exists in {self.root}") from None
                raise
            fsync_dir(self.root)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return final

    def delete(self, version: str) -> None:
        """Remove a version directory (never the active one)."""
        if self.active_version() == version:
            raise ModelStoreError(f"model version {version} is active; activate another one first")
        shutil.rmtree(self.path(version), ignore_errors=True)

    # ── reading ────────────────────────────────────────────────────────────
    def read_manifest(self, version: str) -> dict[str, Any]:
        path = self.path(version) / MANIFEST_FILE
        try:
            with open(path, encoding="utf-8") as fh:
                manifest = json.load(fh)
        except FileNotFoundError:
            raise ModelStoreError(f"model version {version}: no {MANIFEST_FILE} in {path.parent}") from None
        except (OSError, ValueError) as exc:
            raise ModelStoreError(f"model version {version}: unreadable {MANIFEST_FILE}: {exc}") from None
        if not isinstance(manifest, dict) or manifest.get("version") != version:
            raise ModelStoreError(f"model version {version}: manifest belongs to another version")
        return manifest

    def manifest_sha256(self, version: str) -> str:
        """Hash of the manifest file — what the registry records, since the
        manifest holds both artifact hashes, the threshold and the statistics."""
        try:
            return sha256_file(self.path(version) / MANIFEST_FILE)
        except OSError as exc:
            raise ModelStoreError(f"model version {version}: {exc}") from None

    def verify(self, version: str, names: tuple[str, ...] = (FOREST_FILE, MODEL_FILE)) -> dict[str, Any]:
        """Check the manifest, the feature set and the sha256 of ``names``."""
        manifest = self.read_manifest(version)
        check_compatible(manifest)
        artifacts = manifest.get("artifacts") or {}
        for name in names:
            expected = (artifacts.get(name) or {}).get("sha256")
            path = self.path(version) / name
            if not expected:
                raise ModelStoreError(f"model version {version}: manifest has no sha256 for {name}")
            try:
                actual = sha256_file(path)
            except FileNotFoundError:
                raise ModelStoreError(f"model version {version}: {name} is missing") from None
            except OSError as exc:
                raise ModelStoreError(f"model version {version}: cannot read {name}: {exc}") from None
            if actual != expected:
                raise ModelStoreError(
                    f"model version {version}: {name} does not match its sha256 in the manifest "
                    "(damaged or tampered with); refusing to load it")
        return manifest

    def load(self, version: str) -> LoadedModel:
        """The verified manifest and compiled forest of ``version`` (NumPy + json only)."""
        manifest = self.verify(version, (FOREST_FILE,))
        try:
            forest = CompiledForest.from_npz(self.path(version) / FOREST_FILE)
        except ForestFormatError as exc:
            raise ModelStoreError(f"model version {version}: {exc}") from None
        if forest.n_features != len(FEATURE_NAMES):
            raise ModelStoreError(f"model version {version}: forest expects {forest.n_features} features, "
                                  f"feature set {FEATURE_SET_VERSION} has {len(FEATURE_NAMES)}")
        for key in ("threshold", "feature_stats"):
            if key not in manifest:
                raise ModelStoreError(f"model version {version}: manifest lacks {key!r}")
        return LoadedModel(version=version, manifest=manifest, forest=forest, path=self.path(version))

    def read_report(self, version: str, name: str = SHADOW_FILE) -> dict[str, Any] | None:
        """A report stored with ``version`` (verified against the manifest's sha256),
        or None when the version has none (trained before reports existed)."""
        return self._json_artifact(version, name, self.read_manifest(version), strict=False)

    def _json_artifact(self, version: str, name: str, manifest: dict[str, Any], *,
                       strict: bool) -> dict[str, Any] | None:
        """A JSON object stored with ``version``, sha256 verified; None when the manifest lists no such
        file.  Anything but an object is an error (``strict``) or None."""
        if name not in (manifest.get("artifacts") or {}):
            return None
        self.verify(version, (name,))
        try:
            with open(self.path(version) / name, encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError) as exc:
            raise ModelStoreError(f"model version {version}: unreadable {name}: {exc}") from None
        if isinstance(data, dict):
            return data
        if strict:
            raise ModelStoreError(f"model version {version}: {name} is not an object")
        return None

    def load_profile(self, version: str, manifest: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """The site profile stored with ``version`` (sha256 verified), or None when it has none."""
        manifest = manifest if manifest is not None else self.read_manifest(version)
        return self._json_artifact(version, PROFILE_FILE, manifest, strict=True)

    def load_estimator(self, version: str) -> Any:
        """The scikit-learn estimator (offline only: unpickling runs code, so
        the sha256 is checked first)."""
        import joblib

        self.verify(version, (MODEL_FILE,))
        return joblib.load(self.path(version) / MODEL_FILE)

def load(version: str, root: str | Path | None = None) -> LoadedModel:
    """``ModelStore(root).load(version)`` — verified manifest and forest."""
    return ModelStore(root).load(version)
