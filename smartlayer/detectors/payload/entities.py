"""Which HTML character references decode, found in one linear pass: a trie of the HTML5 entity names.

Split from :mod:`.decoders`, whose entity step (``_unescape_entities``) asks this before calling
``html.unescape``: most ``&`` in real text (``&x=1``, ``Tom & Jerry``) start no reference that decodes, and
a Python call per ``&`` was the cost of random text.  The pattern is built from the standard library's own
table of names, so it decodes what ``html.unescape`` decodes and nothing else.
"""
from __future__ import annotations

import html
import re
from html.entities import html5 as _HTML5_NAMES
from typing import Any

#: :func:`decodable_references`' pattern, compiled on first use (~20 ms, once a process).
_DECODABLE: re.Pattern[str] | None = None


def decodable_references() -> re.Pattern[str]:
    """The references ``html.unescape`` changes, each matched as far as it reads it: a numeric one, or
    ``&`` and the longest HTML5 entity name there (``&notit;`` → ``&not``, as ``html.unescape`` makes it
    ``¬it;``).  ``sub`` with :func:`unescaped_reference` then equals ``html.unescape`` of the text.

    Why: random printable text has a ``&`` every hundred characters or so, and ``html.unescape`` (and the
    test before it, whether any reference decodes) made a Python call for each — 650 a 60 KiB body, two
    or three rounds, ~3 ms; almost none of them decode.  The names make a trie (a name's characters in
    nested groups, a longer name tried before the one it extends): no alternative is tried twice, so a
    ``&`` costs at most a name's length, and the backtracking audit passes it (``tests/test_payload_entities.py``).
    """
    global _DECODABLE
    if _DECODABLE is None:
        _DECODABLE = re.compile("&(?:#[0-9]+;?|#[xX][0-9a-fA-F]+;?|" + _name_trie(_HTML5_NAMES) + ")")
    return _DECODABLE


def _name_trie(names: Any) -> str:
    """A pattern matching the longest of ``names`` at a position (a trie: see :func:`decodable_references`)."""
    trie: dict[str, Any] = {}
    for name in names:
        node = trie
        for char in name:
            node = node.setdefault(char, {})
        node[""] = {}                              # a name ends here

    def pattern(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + pattern(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return pattern(trie)


def unescaped_reference(match: re.Match[str]) -> str:
    return html.unescape(match.group())
