"""What a payload scan returns: the score, the hits as reason codes, and each hit in full."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ...profile.pending import resolved


class Hit(NamedTuple):
    """One piece of evidence: which signature, of which family and level, where, on what text.

    Immutable, as it must be: hits made of a text are kept with it and shared by the requests that
    send it again (:data:`.held._HELD`).  A tuple rather than a frozen dataclass, whose ``__init__``
    sets each field through ``object.__setattr__``: 60 bytecode instructions a hit against 22, about
    four times the time (an attacking request makes six hits or more).  The same attributes,
    equality, hash and ``repr``.
    """

    signature: str
    family: str
    paranoia: int
    weight: int
    location: str
    excerpt: str = ""

    @property
    def label(self) -> str:
        """The reason code of :attr:`ScanResult.hits`: ``signature@location``."""
        return f"{self.signature}@{self.location}"


@dataclass(slots=True)
class ScanResult:
    """What the scan found; read by the middleware, the log and the LLM prompt.

    A signature found in two parts is listed twice (``x@query``, ``x@cookie``)
    but counted once: ``score`` measures how many kinds of evidence there are,
    not how often an attacker repeated the same string.
    """

    score: int = 0                                      # sum of weights of distinct signatures
    hits: list[str] = field(default_factory=list)       # "name@location", heaviest first
    excerpt: str = ""                                   # normalised text around the first hit
    truncated: bool = False                             # input beyond VALIDATOR_MAX_BYTES left unscanned
    skipped: list[str] = field(default_factory=list)    # "part:reason" for parts not scanned
    details: list[Hit] = field(default_factory=list)    # one per entry of ``hits``, in the same order
    #: [where, name, shape] of each parameter (the log's and the profile's), or what works them out when
    #: read (:class:`~smartlayer.profile.pending.PendingParams`): read :attr:`params`
    shapes: Any = field(default=None, compare=False, repr=False)

    @property
    def params(self) -> list[list[str]] | None:
        """``[where, name, shape]`` of each parameter, worked out now if the scan left them for later."""
        shapes = self.shapes
        if shapes is not None and shapes.__class__ is not list:
            shapes = self.shapes = resolved(shapes)
        return shapes

    @params.setter
    def params(self, value: Any) -> None:
        self.shapes = value
