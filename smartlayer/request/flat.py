"""A request's decisions as a queued log row holds them: plain values in one flat tuple.

Split from :mod:`.context`, which captures the row on the request thread and builds it in the log
writer's: this is only the encoding of the decisions in between (:func:`flat_decisions`) and its
reading back (:func:`read_flat`), and why it is flat.
"""
from __future__ import annotations

from typing import Any

from .decision import _REFUSING, Decision

#: A list of texts in a queued row, as one text: this mark, then the items joined by :data:`_ITEM`.
_LIST, _ITEM = "\x1e", "\x1f"
_PLAIN_VALUES = frozenset({str, int, float, bool, type(None)})


def _flat(values: list) -> str | tuple:
    """``values`` (texts) as one text (:data:`_LIST`), or as a tuple when an item is no text or holds a mark."""
    try:
        joined = _ITEM.join(values)
    except TypeError:          # an item that is no text
        return tuple(values)
    # every item a text without a mark: the marks are the separators alone (two C-level passes)
    if _LIST in joined or values and (joined.count(_ITEM) != len(values) - 1 or not joined):   # [""] reads as []
        return tuple(values)
    return _LIST + joined


def _unflat(value: Any) -> Any:
    """What :func:`_flat` (or a plain value) stood for."""
    if value.__class__ is str and value[:1] == _LIST:
        return value[1:].split(_ITEM) if len(value) > 1 else []
    return list(value) if value.__class__ is tuple else value


def flat_decisions(decisions: list[Decision]) -> tuple:
    """The decisions as a queued log row holds them: one flat tuple of plain values, per decision
    ``action, component, reason, reasons, monitor, refuses, n`` and its ``n`` details as key, value
    (``n == -1``: the details dict follows as it is); lists of texts as one text (:func:`_flat`).

    Why not the decisions themselves: a :class:`Decision` is an object the collector tracks, and so
    is a tuple holding one.  Every client past its grace period has a decision on every request (an
    allow with the rules that fired), and its row waits up to ``LOG_FLUSH_INTERVAL`` in the writer's
    queue: tracked, it is traversed by each young and middle collection it lives through and moved up
    to the old generation, whose growth triggers full collections of the host's whole heap.  Flat,
    because the collector untracks a tuple only once everything in it is untracked, one level of
    nesting per collection: records of records would still reach the old generation.  Details that are
    not plain (the model's lazy ``top_features``, the LLM's verdict) stay a dict, worked out by the
    writer as before; that row stays tracked.
    """
    out: list[Any] = []
    plain = _PLAIN_VALUES
    for d in decisions:
        details, action = d.details, d.action
        out += (action._value_, d.component, d.reason, _flat(d.reasons), d.monitor, action in _REFUSING,
                len(details))
        start = len(out)
        for key, value in details.items():
            cls = value.__class__
            if cls is list:
                value = _flat(value)
            elif cls not in plain or cls is str and value[:1] == _LIST:   # not plain, or a text read as a list
                del out[start - 1:]
                out += (-1, details)
                break
            out += (key, value)
    return tuple(out)


def read_flat(flat: tuple) -> list[tuple]:
    """:func:`flat_decisions` read back: ``(action, component, reason, reasons, monitor, refuses, details)``
    per decision, lists as lists again."""
    records, i, end = [], 0, len(flat)
    while i < end:
        action, component, reason, reasons, monitor, refuses, n = flat[i:i + 7]
        i += 7
        if n < 0:
            details, i = flat[i], i + 1
        else:
            details = {flat[j]: _unflat(flat[j + 1]) for j in range(i, i + 2 * n, 2)}
            i += 2 * n
        records.append((action, component, reason, _unflat(reasons), monitor, refuses, details))
    return records
