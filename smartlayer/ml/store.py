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

This module runs on the request path (through :mod:`.runtime`): it imports
json, hashlib and NumPy only; ``joblib`` is imported by the two offline
methods that need it.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..conf import sl_settings
from .features import FEATURE_NAMES, FEATURE_SET_VERSION
from .forest import CompiledForest, ForestFormatError

MODEL_FILE = "model.joblib"
FOREST_FILE = "forest.npz"
MANIFEST_FILE = "manifest.json"
PROFILE_FILE = "profile.json"
ACTIVE_FILE = "ACTIVE"
OVERRIDES_FILE = "PROFILE_OVERRIDES.json"
LOCK_FILE = ".train.lock"
SHADOW_FILE = "shadow.json"
HISTORY_FILE = "HISTORY"
_REPORT_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}\.json$")
_VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class ModelStoreError(Exception):
    """A version is missing, damaged, tampered with or incompatible."""


class StoreLocked(ModelStoreError):
    """Another process holds the training lock."""


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


def check_version_name(version: str) -> str:
    """Version names become directory names: no separators, no dot-files."""
    if not isinstance(version, str) or not _VERSION_RE.match(version):
        raise ModelStoreError(f"invalid model version name {version!r}")
    return version


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


class ModelStore:
    """One store directory.  Cheap to construct; holds no open files."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root).expanduser().resolve() if root is not None else store_root()

    # ── paths ──────────────────────────────────────────────────────────────
    def path(self, version: str) -> Path:
        return self.root / check_version_name(version)

    @property
    def active_path(self) -> Path:
        return self.root / ACTIVE_FILE

    def versions(self) -> list[str]:
        """Complete versions in the store, oldest name first."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir()
                      if p.is_dir() and _VERSION_RE.match(p.name) and (p / MANIFEST_FILE).is_file())

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
                _fsync(tmp / name)
                os.chmod(tmp / name, 0o444)
            os.chmod(tmp, 0o755)
            try:
                os.rename(tmp, final)
            except OSError as exc:
                if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
                    raise ModelStoreError(f"model version {version} already exists in {self.root}") from None
                raise
            _fsync_dir(self.root)
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

    # ── the history: who activated what, when, and whether past a bound ────
    def record(self, event: dict[str, Any]) -> None:
        """Append one event to ``<root>/HISTORY`` (JSON lines, append-only)."""
        self.root.mkdir(parents=True, exist_ok=True)
        line = json.dumps(event, sort_keys=True, default=str) + "\n"
        fd = os.open(self.root / HISTORY_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)

    def history(self) -> list[dict[str, Any]]:
        """The recorded events, oldest first (unreadable lines skipped)."""
        try:
            text = (self.root / HISTORY_FILE).read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        events = []
        for line in text.splitlines():
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if isinstance(event, dict):
                    events.append(event)
        return events

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

    # ── the ACTIVE pointer ─────────────────────────────────────────────────
    def active_version(self) -> str | None:
        try:
            text = self.active_path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return text or None

    def set_active(self, version: str) -> None:
        """Point ACTIVE at ``version`` (atomically: write a temp file, then os.replace)."""
        check_version_name(version)
        self._replace(self.active_path, version + "\n", durable=True)

    def _replace(self, path: Path, text: str, *, durable: bool = False) -> None:
        """Replace ``path`` atomically (a temp file beside it, then os.replace): a reader sees the
        old content or the new, never half.  ``durable``: fsync the file and the directory too."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=self.root)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                if durable:
                    fh.flush()
                    os.fsync(fh.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        if durable:
            _fsync_dir(self.root)

    # ── the owner's profile overrides (any version) ───────────────────────
    @property
    def overrides_path(self) -> Path:
        return self.root / OVERRIDES_FILE

    def read_overrides(self) -> dict[str, Any]:
        """``{"class": {template: class}, "exempt_params": {template: [names]}}``; empty when none."""
        try:
            with open(self.overrides_path, encoding="utf-8") as fh:
                data = json.load(fh)
        except FileNotFoundError:
            return {"class": {}, "exempt_params": {}}
        except (OSError, ValueError) as exc:
            raise ModelStoreError(f"unreadable {self.overrides_path}: {exc}") from None
        if not isinstance(data, dict):
            raise ModelStoreError(f"{self.overrides_path} is not an object")
        return {"class": dict(data.get("class") or {}), "exempt_params": dict(data.get("exempt_params") or {})}

    def write_overrides(self, data: dict[str, Any]) -> None:
        """Replace the overrides atomically (every worker picks them up within MODEL_RELOAD_INTERVAL)."""
        self._replace(self.overrides_path, json.dumps(data, indent=2, sort_keys=True))

    def clear_active(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.active_path)

    # ── the training lock ──────────────────────────────────────────────────
    @contextlib.contextmanager
    def lock(self, *, wait: bool = False) -> Iterator[None]:
        """Hold ``<root>/.train.lock`` (``fcntl.flock``, exclusive).

        Without ``wait``, raise :class:`StoreLocked` at once if another
        process holds it.  The kernel releases a flock when its holder dies,
        so a crashed run never leaves a stale lock behind.
        """
        import fcntl

        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                raise StoreLocked(f"another training run is in progress (lock {self.root / LOCK_FILE} is held)") from None
            try:
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def load(version: str, root: str | Path | None = None) -> LoadedModel:
    """``ModelStore(root).load(version)`` — verified manifest and forest."""
    return ModelStore(root).load(version)
