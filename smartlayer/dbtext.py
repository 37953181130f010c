"""Text the database accepts: every free-text value smartlayer writes goes through here.

Requests put arbitrary text into the request log (a ``%00`` in the path, a
user agent, a reason quoting an excerpt) and from there into bans, verdicts
and reports.  Two things in a Python ``str`` are refused by the backends:

* **NUL** (U+0000): PostgreSQL text cannot hold it (psycopg: "A string
  literal cannot contain NUL"; ``COPY``: "invalid byte sequence for encoding
  UTF8: 0x00"), and ``jsonb`` refuses the ``\\u0000`` escape;
* **lone surrogates** (U+D800–U+DFFF, e.g. from a JSON ``"\\ud800"`` or a
  ``surrogateescape`` decoding): UTF-8 cannot encode them, so psycopg and
  sqlite3 raise ``UnicodeEncodeError`` and ``jsonb`` refuses the escape.

One refused value used to fail the whole batch of log rows it was in.  So
every such character is replaced with **U+FFFD** (the Unicode replacement
character) before the value is stored, and the value is cut to its column's
``max_length``.  U+FFFD rather than a visible ``\\x00`` escape: it replaces
one character with one, so a cleaned value is never longer than the original
and cuts stay where they were, and it cannot be mistaken for four characters
a client really sent.  What was there is still visible as "something
unrepresentable".

Cost: the log row is built on the request path.  Ordinary text is checked
with two C-level scans (``str.isascii`` and ``"\\x00" in s``) and returned as
is; only non-ASCII text or text with a NUL goes through one linear regex
substitution.  JSON is walked once, never dumped to be checked.
"""
from __future__ import annotations

import functools
import math
import re
from typing import Any

REPLACEMENT = "\ufffd"
_REFUSED = re.compile("[\x00\ud800-\udfff]")
#: :func:`columns` marks JSON columns with this instead of a length.
JSON = -1


def db_text(value: Any, max_length: int | None = None) -> str:
    """``value`` as text the database accepts, at most ``max_length`` characters.

    ``None`` becomes ``""`` (callers keep ``None`` for nullable columns
    themselves); anything else that is not a ``str`` is converted with ``str()``.
    """
    if not isinstance(value, str):
        value = "" if value is None else str(value)
    if not (value.isascii() and "\x00" not in value):
        value = _REFUSED.sub(REPLACEMENT, value)
    if max_length is not None and len(value) > max_length:
        value = value[:max_length]
    return value


def db_json(value: Any) -> Any:
    """A copy of a JSON-able value whose strings (keys included) are :func:`db_text`.

    Also what no backend's JSON accepts: a non-finite float (``NaN`` is not
    JSON; PostgreSQL refuses it) becomes ``None``; a value or key of a type
    JSON has no form for becomes its ``str()``.  Tuples become lists, as
    they would be serialised anyway.
    """
    cls = value.__class__
    # The common case inlined (measured: half the cost of a call per item):
    # an ordinary string (asked first: the commonest item) or a plain scalar is taken as it is.
    if cls is dict:
        return {(k if k.__class__ is str and k.isascii() and "\x00" not in k else _key(k)):
                (v if (c := v.__class__) is str and v.isascii() and "\x00" not in v or c in _PLAIN else db_json(v))
                for k, v in value.items()}
    if cls is list or cls is tuple:
        return [v if (c := v.__class__) is str and v.isascii() and "\x00" not in v or c in _PLAIN else db_json(v)
                for v in value]
    if cls is str:
        return db_text(value)
    if cls in _PLAIN:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    # subclasses (str enums, OrderedDict, int subclasses …) and the rest
    if isinstance(value, str):
        return db_text(value)
    if isinstance(value, int):  # bool included
        return value
    if isinstance(value, dict):
        return db_json(dict(value))
    if isinstance(value, (list, tuple)):
        return db_json(list(value))
    return db_text(str(value))


#: Types taken as they are (float is not: NaN and the infinities are not JSON).
_PLAIN = frozenset({int, bool, type(None)})


def _key(key: Any) -> Any:
    if key.__class__ is str:
        return db_text(key)
    if key is None or isinstance(key, (int, float, bool)):
        return key  # json.dumps turns these into strings itself
    return db_text(str(key))


@functools.cache
def columns(model: type) -> dict[str, int]:
    """``attname → max_length`` of ``model``'s text columns (0: unbounded),
    :data:`JSON` for its JSON columns.  Computed once per model."""
    from django.db import models

    out: dict[str, int] = {}
    for f in model._meta.concrete_fields:
        if isinstance(f, models.JSONField):
            out[f.attname] = JSON
        elif isinstance(f, (models.CharField, models.TextField)):
            out[f.attname] = int(f.max_length or 0)
    return out


def clean_fields(model: type, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` (field name → value) with every text and JSON value of
    ``model`` cleaned and cut to its column; ``None`` stays ``None``."""
    cols = columns(model)
    out = dict(values)
    for name, value in values.items():
        kind = cols.get(name)
        if kind is None or value is None:
            continue
        out[name] = db_json(value) if kind == JSON else db_text(value, kind or None)
    return out
