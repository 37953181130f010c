"""What a signature is, and the helpers the family tables are written with.

Signatures are written against *normalised* text (see :mod:`.normalise`):
lower case, entities and percent-escapes decoded, whitespace collapsed to
single spaces.  They are matched all at once by :mod:`.engine` (RE2), so a
pattern may use neither look-around nor back-reference; every one is also
audited for backtracking in the tests (:mod:`.regex_safety`), so that the
stdlib fallback stays linear too.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

#: Where a text came from, as far as the signatures care.  A restricted file
#: extension means something in the path and nothing in a comment; a scanner's
#: name means something in the User-Agent and nothing in a search box.
PATH, QUERY, BODY, HEADER = "path", "query", "body", "header"
KINDS = (PATH, QUERY, BODY, HEADER)
ANYWHERE = frozenset(KINDS)
#: Short values a client chose (not free text): the query string, cookies, headers and the path.
VALUES = frozenset((PATH, QUERY, HEADER))
#: The start of a value: query and form pairs are scanned as ``name=value``.  Patterns are compiled
#: multi-line: the fields of one part are matched together, one a line, so ``^`` and ``$`` are a field's.
START = r"(?:^|=)\s?"


@dataclass(frozen=True, slots=True)
class Signature:
    """One kind of evidence.

    ``weight``: 3 is an attack on its own, 1–2 a hint that needs a second
    one (or the LLM) before anything is blocked.  ``paranoia``: the lowest
    ``VALIDATOR_PARANOIA`` at which the signature runs (1 = near-zero false
    positives on real benign text; 2 and 3 trade false positives for
    coverage).  ``scope``: the kinds of location it is matched in.
    ``regex`` is ``None`` for the encoding tricks the normaliser notices.
    """

    name: str
    family: str
    weight: int
    regex: re.Pattern[str] | None
    paranoia: int = 1
    scope: frozenset[str] = ANYWHERE


def sig(name: str, family: str, weight: int, alternatives: str | list[str] | None, *, paranoia: int = 1,
        scope: frozenset[str] = ANYWHERE) -> Signature:
    """A signature from one pattern or a list of alternatives."""
    if alternatives is None:
        return Signature(name, family, weight, None, paranoia, scope)
    pattern = alternatives if isinstance(alternatives, str) else "|".join(f"(?:{a})" for a in alternatives)
    return Signature(name, family, weight, re.compile(pattern, re.MULTILINE), paranoia, scope)


def word(text: str) -> str:
    """``text`` at the start of a word."""
    return r"\b" + re.escape(text)


def words(items: Iterable[str], tail: str = "") -> list[str]:
    """One alternative per word (at a word start), each followed by ``tail``."""
    return [word(w) + tail for w in items]


def one_of(items: Iterable[str]) -> str:
    """A non-capturing group of escaped literals."""
    return "(?:" + "|".join(re.escape(i) for i in items) + ")"
