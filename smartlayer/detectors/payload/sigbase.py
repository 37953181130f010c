"""What a signature is, and the helpers the family tables are written with.

Signatures are written against *normalised* text (see :mod:`.normalise`):
lower case, entities and percent-escapes decoded, whitespace collapsed to
single spaces.  They are matched all at once by :mod:`.engine` (RE2), so a
pattern may use neither look-around nor back-reference; every one is also
audited for backtracking in the tests (:mod:`.regex_safety`), so that the
stdlib fallback stays linear too.
"""
from __future__ import annotations

import base64
import functools
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
    ``source`` is the pattern (a string, or already compiled), ``None`` for
    the encoding tricks the normaliser notices.  ``apart``: on a long text,
    kept out of the small sets the other patterns are matched in, in one of
    the marked ones only (:class:`.engine.Engine`): for a pattern whose
    automaton's states multiply with theirs.
    """

    name: str
    family: str
    weight: int
    source: re.Pattern[str] | str | None
    paranoia: int = 1
    scope: frozenset[str] = ANYWHERE
    apart: bool = False

    @property
    def pattern(self) -> str | None:
        """The pattern's text: what the engine compiles (RE2 reads the text, not a stdlib compilation)."""
        source = self.source
        return source if source is None or isinstance(source, str) else source.pattern

    @property
    def regex(self) -> re.Pattern[str] | None:
        """The stdlib compilation (multi-line), made on first use.

        Only the engine's fallback (no RE2 on the platform) and the audits
        need it: compiling the whole table with ``re`` at import cost most of
        the import's time in every process that starts, a replay's included.
        """
        source = self.source
        return _compiled(source) if isinstance(source, str) else source


@functools.lru_cache(maxsize=1024)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.MULTILINE)


def sig(name: str, family: str, weight: int, alternatives: str | list[str] | None, *, paranoia: int = 1,
        scope: frozenset[str] = ANYWHERE, apart: bool = False) -> Signature:
    """A signature from one pattern or a list of alternatives."""
    if alternatives is None:
        return Signature(name, family, weight, None, paranoia, scope)
    pattern = alternatives if isinstance(alternatives, str) else "|".join(f"(?:{a})" for a in alternatives)
    return Signature(name, family, weight, pattern, paranoia, scope, apart)


def word(text: str) -> str:
    """``text`` at the start of a word."""
    return r"\b" + re.escape(text)


def words(items: Iterable[str], tail: str = "") -> list[str]:
    """One alternative per word (at a word start), each followed by ``tail``."""
    return [word(w) + tail for w in items]


def one_of(items: Iterable[str]) -> str:
    """A non-capturing group of escaped literals."""
    return "(?:" + "|".join(re.escape(i) for i in items) + ")"


def base64_opening(data: bytes, *, urlsafe: bool = False) -> str:
    """The base64 characters that ``data`` alone decides when it opens an encoded stream, lower-cased as the scan
    reads text (a header's or a file's fixed first bytes, whatever follows them)."""
    encoded = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(data).decode()
    return encoded[:len(data) * 8 // 6].lower()
