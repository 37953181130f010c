"""The evidence half of a scan: hits credited once each, the score, the excerpt, and the result built of them.

Split from :mod:`.scan` (which reads the parts of a request and keeps the
memory of clean texts) and :mod:`.matching` (which decides what is matched
when): :class:`Evidence` keeps no state of its own, the scan's slots hold it.
A hit made of a short text met before is not made again: the hits of such a
text at a location are kept with it (:data:`.held._HELD`) and credited in
one loop (:meth:`Evidence.credit`), without a call per hit.
"""
from __future__ import annotations

from operator import attrgetter
from typing import Any, NamedTuple

from .normalise import _CLIPPED, _MARKER_NAMES
from .result import Hit, ScanResult
from .signatures import _BY_NAME, Signature

_EXCERPT_CHARS = 500
_EXCERPT_BEFORE = 120
#: A hit's weight, the key that orders a result's hits (heaviest first).
_WEIGHT = attrgetter("weight")


class Evidence:
    """What a scan found so far (mixed into :class:`.scan._Scan`, whose slots hold it)."""

    __slots__ = ()
    labels: set[str]
    listed: list[str]
    seen: set[str]
    hits: list[Hit]
    score: int
    excerpt: str
    located: int
    truncated: bool
    skipped: list[str]
    budget: int
    growth: int
    whole: Laid | None

    def _hit(self, sig: Signature, location: str, text: str, position: int | None, made: dict | None = None,
             label: str = "") -> None:
        """Credit ``sig``, found in ``text`` at ``position`` (None: not located).  ``made``: hits made before of this text
        (:data:`.held._HELD`) by label and position, shared (immutable).  ``label``: the caller's ``name@location``."""
        label = label or f"{sig.name}@{location}"
        if label in self.labels:
            return
        self.labels.add(label)
        hit = made.get((label, position)) if made is not None else None
        if hit is None:
            excerpt = ""
            if position is not None:
                start = max(0, position - _EXCERPT_BEFORE)
                excerpt = text[start:start + _EXCERPT_CHARS]
            hit = Hit(sig.name, sig.family, sig.paranoia, sig.weight, location, excerpt)
            if made is not None:
                made[(label, position)] = hit
        self.hits.append(hit)
        self.listed.append(label)
        if sig.name not in self.seen:
            self.seen.add(sig.name)
            self.score += sig.weight
        if not self.excerpt:
            self.excerpt = hit.excerpt

    def credit(self, laid: Laid) -> None:
        """Credit the hits a short text held at a location, each located (see :attr:`.held.laid`): what
        :meth:`_hit` does for each, at once when none of them is credited yet (set operations, where a
        loop cost ten lines a hit: 60 of the 190 lines a repeated probe's request runs more than a clean
        one), else one by one.  The caller checked that each may be located (:data:`.matching._MAX_LOCATED`)."""
        labels, seen = self.labels, self.seen
        if laid.distinct and labels.isdisjoint(laid.labels):
            if not self.hits:
                self.whole = laid            # the request's first hits: result() may list them as laid out
            labels.update(laid.labels)
            self.located += len(laid.hits)
            self.hits.extend(laid.hits)
            self.listed.extend(laid.labels)
            if seen.isdisjoint(laid.weights):
                seen.update(laid.weights)
                self.score += laid.score
            else:
                for name, weight in laid.weights.items():
                    if name not in seen:
                        seen.add(name)
                        self.score += weight
            if not self.excerpt:
                self.excerpt = laid.excerpt
            return
        for label, name, weight, hit in laid.entries:
            if label in labels:
                continue
            labels.add(label)
            self.located += 1
            self.hits.append(hit)
            self.listed.append(label)
            if name not in seen:
                seen.add(name)
                self.score += weight
            if not self.excerpt:
                self.excerpt = hit.excerpt

    def account(self, raw: str, text: str, markers: int, location: str) -> str:
        """Charge a normalised text to the request's budget and growth allowance; its markers become hits."""
        if len(text) > len(raw):
            self.growth -= len(text) - len(raw)
        if len(text) > self.budget:
            text = text[:self.budget]
            self.truncated = True
        self.budget -= max(len(raw), len(text))
        if markers:
            if markers & _CLIPPED:
                self.truncated = True
            for bit, name in _MARKER_NAMES:
                if markers & bit:
                    self._hit(_BY_NAME[name], location, text, 0)
        return text

    def skip(self, reason: str) -> None:
        if reason not in self.skipped:
            self.skipped.append(reason)

    def fail(self, exc: BaseException) -> None:
        """A bug, not an attack: count and log it, keep what was found."""
        from ...state.failures import report_failure

        self.skip("error:internal")
        report_failure("payload_scan", f"{type(exc).__name__}: {exc}")

    def result(self) -> ScanResult:
        hits = self.hits
        if not hits:
            return ScanResult(0, [], "", self.truncated, self.skipped)
        whole = self.whole
        if whole is not None and len(hits) == len(whole.hits):   # hits only grow: these are the laid out ones
            ordered, labels = list(whole.ordered), list(whole.ordered_labels)
        else:
            # heaviest first, ties in the order found (a reversed sort keeps that order): no Python call per hit
            ordered = sorted(hits, key=_WEIGHT, reverse=True)
            # the labels as listed (Hit.label, without its call), unless the sort moved a hit
            labels = self.listed if ordered == hits else [f"{hit.signature}@{hit.location}" for hit in ordered]
        excerpt = self.excerpt
        # lone surrogates (from JSON "\\ud800") would break a log write or an LLM call
        return ScanResult(self.score, labels, excerpt if excerpt.isascii() else excerpt.encode("utf-8", "replace").decode("utf-8"),
                          self.truncated, self.skipped, ordered)


class Laid(NamedTuple):
    """The hits a short text held at a location, each located, as :meth:`Evidence.credit` credits them."""

    entries: tuple[tuple[str, str, int, Hit], ...]    # (label, signature name, weight, hit), in the order found
    labels: tuple[str, ...]                           # the same labels, hits, names and weights, gathered
    hits: tuple[Hit, ...]
    weights: dict[str, int]                           # name → weight
    score: int                                        # their sum
    excerpt: str                                      # the first excerpt that is not empty
    distinct: bool                                    # no name twice (two patterns of one signature: one by one)
    ordered: tuple[Hit, ...]                          # the hits as a result lists them alone (Evidence.result)
    ordered_labels: tuple[str, ...]                   # and their labels


def gathered(labels: Any, hits: Any) -> Laid | None:
    """``hits`` and their ``labels`` (``name@location``, in the order found) laid out as :meth:`Evidence.credit`
    credits them; None when there are none."""
    if not hits:
        return None
    hits, labels = tuple(hits), tuple(labels)
    weights = {hit.signature: hit.weight for hit in hits}
    ordered = tuple(sorted(hits, key=_WEIGHT, reverse=True))        # as result() orders them
    entries = tuple((label, hit.signature, hit.weight, hit) for label, hit in zip(labels, hits, strict=True))
    return Laid(entries, labels, hits, weights, sum(weights.values()), next((hit.excerpt for hit in hits if hit.excerpt), ""),
                len(weights) == len(hits), ordered,
                labels if ordered == hits else tuple(f"{hit.signature}@{hit.location}" for hit in ordered))


def laid_out(signatures: Any, location: str, found: list[int], memo: dict[int, int],
             made: dict[tuple[str, int | None], Any]) -> Laid | None:
    """The hits a short text held (``found``, the engine's ``signatures``) at ``location``, each located,
    in the order found, as :meth:`Evidence.credit` credits them; None while one is not made yet (or none)."""
    labels, hits = [], []
    for index in found:
        label = f"{signatures[index].name}@{location}"
        position = memo.get(index)
        hit = made.get((label, position)) if position is not None else None
        if hit is None:
            return None
        labels.append(label)
        hits.append(hit)
    return gathered(labels, hits)
