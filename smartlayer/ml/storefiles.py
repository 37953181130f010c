"""The store root's shared, mutable files, apart from the immutable version directories.

Why a module of its own: a version directory is written once and only read
afterwards (:mod:`.store`), while these few files at the root change while
workers read them — the ``ACTIVE`` pointer, the append-only ``HISTORY`` of
activations, the owner's profile overrides and the training lock.  What they
share is the discipline of changing a file that others are reading: replace
atomically (a temporary file beside it, then :func:`os.replace`), fsync when
the change must survive a crash, append whole lines, lock with ``flock`` so a
dead holder never leaves a stale lock.  :class:`RootFiles` is mixed into
:class:`~smartlayer.ml.store.ModelStore`, which provides ``root``.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ACTIVE_FILE = "ACTIVE"
OVERRIDES_FILE = "PROFILE_OVERRIDES.json"
LOCK_FILE = ".train.lock"
HISTORY_FILE = "HISTORY"
_VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class ModelStoreError(Exception):
    """A version is missing, damaged, tampered with or incompatible."""


class StoreLocked(ModelStoreError):
    """Another process holds the training lock."""


def check_version_name(version: str) -> str:
    """Version names become directory names: no separators, no dot-files."""
    if not isinstance(version, str) or not _VERSION_RE.match(version):
        raise ModelStoreError(f"invalid model version name {version!r}")
    return version


def is_version_name(name: str) -> bool:
    """Whether ``name`` could be a version directory (the check without the exception)."""
    return bool(_VERSION_RE.match(name))


class RootFiles:
    """The root's pointer, history, overrides and lock; needs ``self.root`` (a :class:`Path`)."""

    root: Path

    @property
    def active_path(self) -> Path:
        return self.root / ACTIVE_FILE

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
            fsync_dir(self.root)

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

def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
