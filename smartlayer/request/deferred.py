"""The rest of a decision handed from the event loop to a worker thread (see :mod:`smartlayer.http.loop`).

Here, in the bottom layer, because the one enforcement step (:mod:`smartlayer.policy.enforce`) raises
it and the middleware catches it: a flag and an exception, no I/O and no import above this layer.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class _State(threading.local):
    on = False


#: ``STATE.on``: this thread is the event loop's, running decisions there (see the module's doc).
STATE = _State()


def on_loop() -> bool:
    """Whether the decisions being made now run on the event loop (and must not start I/O)."""
    return STATE.on


class Deferred(Exception):  # noqa: N818 - not an error: the rest of a decision, handed to a thread
    """The rest of a decision that would start I/O, raised on the loop before any of it.

    ``finish()`` (in a worker thread) returns the decision; ``at``: the index of the member whose
    decision it is, set by the middleware's pass.
    """

    def __init__(self, finish: Callable[[], Any]) -> None:
        super().__init__("finished in a worker thread")
        self.finish = finish
        self.at = 0

    def then(self, after: Callable[[Any], Any]) -> Deferred:
        """The same hand-over, ``after`` applied to its decision (a caller's own steps after it)."""
        finish = self.finish
        return Deferred(lambda: after(finish()))
