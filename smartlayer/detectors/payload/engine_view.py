"""Some of an engine's patterns, answering as an engine compiled on them alone would (offline work).

Split from :mod:`.engine`, which compiles and runs the patterns: a view only
renumbers what its base engine answers.
"""
from __future__ import annotations

from collections.abc import Sequence

from .engine import Engine, _line_local


class EngineView:
    """Some of another engine's patterns, answering as an engine compiled on them alone would.

    Offline (the replay), the query and header engines are views of one
    engine compiled on the patterns of both: they differ by five patterns of
    120, and RE2's set compilation was a third of the command's start-up.  A
    set reports each of its patterns whether or not others are in it, so
    matching on the shared set and keeping this view's patterns (in the same
    order: ``indices`` increase) finds exactly what an engine of its own finds.
    """

    __slots__ = ("base", "indices", "patterns", "line_local", "_view")

    def __init__(self, base: Engine, indices: Sequence[int]) -> None:
        self.base = base
        self.indices = tuple(indices)
        if any(a >= b for a, b in zip(self.indices, self.indices[1:], strict=False)):
            raise ValueError("a view keeps its base engine's order")
        self.patterns = tuple(base.patterns[i] for i in self.indices)
        self.line_local = _line_local(self.patterns)
        view = [-1] * len(base.patterns)
        for mine, theirs in enumerate(self.indices):
            view[theirs] = mine
        self._view = view

    def _mine(self, found: list[int]) -> list[int]:
        if not found:
            return found
        view = self._view
        return [i for i in map(view.__getitem__, found) if i >= 0]

    def matches(self, text: str, *, filtered: bool = False) -> list[int]:
        return self._mine(self.base.matches(text, filtered=filtered))

    def possible(self, text: str) -> frozenset[int] | None:
        """:meth:`.engine.Engine.possible` in this view's indices: a matcher narrowing a line's candidates
        (more than a few of them) asks it of whichever engine it holds, a view offline included."""
        theirs = self.base.possible(text)
        if theirs is None:
            return None
        view = self._view
        return frozenset(mine for mine in map(view.__getitem__, theirs) if mine >= 0)

    def matches_besides(self, text: str, known: frozenset[int]) -> list[int]:
        indices = self.indices
        return self._mine(self.base.matches_besides(text, frozenset(indices[i] for i in known)))

    def position(self, index: int, text: str) -> int:
        return self.base.position(self.indices[index], text)

    def find(self, index: int, text: str) -> int | None:
        return self.base.find(self.indices[index], text)

    def span(self, index: int, text: str) -> tuple[int, int] | None:
        return self.base.span(self.indices[index], text)

    def among(self, text: str, indices: list[int], first: bool = False) -> list[int]:
        theirs = [self.indices[i] for i in indices]
        found = set(self.base.among(text, theirs, first))
        return [mine for mine, their in zip(indices, theirs, strict=True) if their in found]
