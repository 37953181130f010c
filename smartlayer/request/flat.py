"""A request's decisions and parameters as a queued log row holds them: plain values in flat tuples.

Split from :mod:`.context`, which captures the row on the request thread and builds it in the log
writer's: this is only the encoding in between (:func:`flat_decisions`, :func:`flat_params`), its
reading back (:func:`read_flat`, :func:`read_params`), and why it is flat (:func:`flat_decisions`).
"""
from __future__ import annotations

from itertools import chain
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


def flat_params(params: list[list[str]]) -> tuple | list[list[str]]:
    """The ``[where, name, shape]`` of each parameter as one flat tuple of texts (the validator's list
    of lists, tracked three levels deep, is what a row with a query string carried to the old
    generation); the list itself should one of them not have three items."""
    flat = tuple(chain.from_iterable(params))
    return flat if len(flat) == 3 * len(params) else params


def read_params(flat: tuple) -> list[list[str]]:
    """:func:`flat_params` read back."""
    return [list(flat[i:i + 3]) for i in range(0, len(flat), 3)]
