"""Why a training run produced no model (nothing was written or activated), and its exit status."""
from __future__ import annotations

#: Exit status of a run refused because another holds the lock (EX_TEMPFAIL: try later).
EXIT_LOCKED = 75


class TrainingError(Exception):
    """A run that cannot produce a model; nothing was written or activated."""

    returncode = 1


class NotEnoughData(TrainingError):
    pass


class TrainingLocked(TrainingError):
    returncode = EXIT_LOCKED
