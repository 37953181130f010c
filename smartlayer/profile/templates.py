"""Paths collapsed to endpoint templates, and the trie that finds a path's template.

``/products/1234/`` and ``/products/77/`` are one endpoint: the profile learns
per *template* (``/products/{int}/``).  A path segment becomes a placeholder

* by its own shape, always: ``{int}`` (digits), ``{uuid}``, ``{hash}`` (16 or
  more hex digits), and ``{#…}`` for a segment mixing digits with other text,
  digit runs replaced by ``#`` (``12-3.jpg`` → ``{#-#.jpg}``) once enough
  distinct ones share that pattern;
* by the learner, ``{slug}``: the many leaf siblings of one parent
  (``/category/shoes/``, ``/category/hats/`` …), or a position Django's URL
  resolver says is a converter.

The :class:`Trie` is what the request path walks: one dict lookup per segment,
placeholders tried after the exact segment, a bounded number of steps.
"""
from __future__ import annotations

from typing import Any

INT, UUID, HASH, SLUG = "{int}", "{uuid}", "{hash}", "{slug}"
MAX_SEGMENTS = 16
MAX_SEGMENT = 120
_STEPS = 64
_HEX = frozenset("0123456789abcdef")
_SLUG_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")


def segment_type(seg: str) -> str | None:
    """The typed placeholder of one segment (``{int}``, ``{uuid}``, ``{hash}``, ``{#…}``), else None."""
    if not seg or len(seg) > MAX_SEGMENT:
        return None
    if seg.isdigit() and seg.isascii() and len(seg) <= 18:
        return INT
    low = seg.lower()
    if len(seg) == 36 and low.count("-") == 4 and _HEX.issuperset(low.replace("-", "")):
        return UUID
    if len(seg) >= 16 and _HEX.issuperset(low):
        return HASH
    if not any("0" <= c <= "9" for c in seg):
        return None
    out = []
    in_digits = False
    for c in seg:
        if "0" <= c <= "9":
            if not in_digits:
                out.append("#")
                in_digits = True
        else:
            out.append(c)
            in_digits = False
    return "{" + "".join(out) + "}"


def is_slug(seg: str) -> bool:
    return 0 < len(seg) <= 80 and _SLUG_CHARS.issuperset(seg.lower())


def split(path: str) -> list[str] | None:
    """The segments of a path (``/a/b/`` → ``["", "a", "b", ""]``); None past :data:`MAX_SEGMENTS`."""
    segs = path.split("/", MAX_SEGMENTS + 1)
    return segs if len(segs) <= MAX_SEGMENTS else None


class Node:
    __slots__ = ("exact", "typed", "slug", "template")

    def __init__(self) -> None:
        self.exact: dict[str, Node] = {}
        self.typed: dict[str, Node] = {}
        self.slug: Node | None = None
        self.template: str | None = None


class Trie:
    """Templates by segment; :meth:`find` gives a path's template or None."""

    def __init__(self, templates: Any = ()) -> None:
        self.root = Node()
        for t in templates:
            self.add(t)

    def add(self, template: str) -> None:
        node = self.root
        for seg in template.split("/"):
            if seg == SLUG:
                if node.slug is None:
                    node.slug = Node()
                node = node.slug
            elif seg.startswith("{") and seg.endswith("}") and len(seg) > 2:
                node = node.typed.setdefault(seg, Node())
            else:
                node = node.exact.setdefault(seg, Node())
        node.template = template

    def find(self, path: str) -> str | None:
        segs = split(path)
        if segs is None:
            return None
        budget = [_STEPS]
        return _walk(self.root, segs, 0, budget)


def _walk(node: Node, segs: list[str], i: int, budget: list[int]) -> str | None:
    budget[0] -= 1
    if budget[0] < 0:
        return None
    if i == len(segs):
        return node.template
    seg = segs[i]
    child = node.exact.get(seg)
    if child is not None:
        found = _walk(child, segs, i + 1, budget)
        if found is not None:
            return found
    if node.typed:
        kind = segment_type(seg)
        child = node.typed.get(kind) if kind is not None else None
        if child is not None:
            found = _walk(child, segs, i + 1, budget)
            if found is not None:
                return found
    if node.slug is not None and is_slug(seg):
        return _walk(node.slug, segs, i + 1, budget)
    return None


def typed_template(path: str) -> str:
    """A path with its strongly typed segments replaced (``{int}``, ``{uuid}``, ``{hash}``)."""
    segs = split(path) or path.split("/")[:MAX_SEGMENTS]
    out = []
    for seg in segs:
        kind = segment_type(seg)
        out.append(kind if kind in (INT, UUID, HASH) else seg)
    return "/".join(out)


def extension(path: str) -> str:
    """``/a/b.tar.gz`` → ``.gz``; ``/a/`` → ""."""
    last = path.rsplit("/", 1)[-1]
    dot = last.rfind(".")
    return last[dot:].lower() if 0 <= dot < len(last) - 1 and len(last) - dot <= 12 else ""
