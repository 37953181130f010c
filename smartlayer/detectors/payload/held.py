"""What short attacking texts hold, remembered: a probe sent again is neither matched nor located again.

Split from :mod:`.matching`, which matches a scan's texts: this is the memory
it reads first for a short text (:data:`.parts.CLEAN_TEXT_CHARS`) — the
patterns the engine's set finds in it, where each first matches (filled as
hits are located) and the hits made of them (:meth:`.scan._Scan._hit`).  The
scan's own memory (:data:`.scan._CLEAN`) keeps clean texts; this one keeps
texts that hold something, which the clean memory never does.
"""
from __future__ import annotations

from typing import Any, NamedTuple

#: What short texts hold, by (engine, text): the patterns the engine's set finds in the text, where each
#: first matches once a hit is located there, and the hits made of them (:meth:`.scan._Scan._hit`).  A
#: scanner sends the same probe to parameter after parameter and request after request; found in a pass,
#: then located, it cost a set pass twice, a search per hit (six for a typical sqlmap probe) and a frozen
#: dataclass built per hit.  Kept: texts up to :data:`.parts.CLEAN_TEXT_CHARS` long that hold something
#: (the scan remembers clean ones) and were met before (:data:`_MET`: an attack sending ever new strings
#: fills no memory, and keeps no objects for the cyclic collector to walk).  Keyed by the engine object,
#: so new settings start afresh; bounded, cleared when full (and when it holds many engines).
#: Fourth, by location, those hits laid out as :meth:`.evidence.Evidence.credit` credits them once each is made
#: and located (:func:`.evidence.laid_out`): a probe met again costs one loop, not a call per hit.  Fifth, by
#: location, for a text of several lines (a form part's pairs, a line each), what a scan's flush of it alone
#: came to (:class:`Plan`).
_HELD: dict[tuple[Any, str], tuple[list[int], dict[int, int], dict[tuple[str, int | None], Any], dict[str, Any],
                                   dict[str, Plan]]] = {}
_HELD_MAX = 1024
_HELD_ENGINES: set[Any] = set()
#: Hashes of the (engine, text) keys of texts found holding something once, not yet kept in :data:`_HELD`.
_MET: set[int] = set()
_MET_MAX = 4096


def held(engine: Any, text: str, keep: bool = False) -> list[int]:
    """``engine.matches(text)`` through the set, for a short text: its patterns from :data:`_HELD` when kept.

    ``keep``: what the set finds is kept as :func:`hold` keeps it (a text met twice that holds something).
    A flush's joined pass over a form part's pairs (``q=<probe>\npage=2…``) is such a text: read only here,
    never matched again whole, it was never kept, and a probe sent again cost a set pass each time."""
    found = _HELD.get((engine, text))
    if found is not None:
        return found[0]
    hits = engine.matches(text)
    if keep and hits:
        hold(engine, text, hits)
    return hits


def met_before(seen: set[int], met: int) -> bool:
    """Whether the text hashed ``met`` was met before; if not, note it in ``seen`` (bounded by
    :data:`_MET_MAX`, cleared when full) and say no.  What keeps a memory for texts met twice: a client
    sending ever new values only fills (and empties) a set of hashes."""
    if met in seen:
        return True
    if len(seen) >= _MET_MAX:
        seen.clear()
    seen.add(met)
    return False


def hold(engine: Any, text: str, hits: list[int]) -> tuple[list[int], dict[int, int], dict[tuple[str, int | None], Any],
                                                          dict[str, Any]] | None:
    """Keep what a short ``text`` holds (``hits``, found through the set) if it was met before (see
    :data:`_HELD`): the entry, or None when the text is only noted in :data:`_MET`."""
    key = (engine, text)
    if not met_before(_MET, hash(key)):
        return None
    if engine not in _HELD_ENGINES:
        if len(_HELD_ENGINES) >= 8:
            _HELD.clear()
            _HELD_ENGINES.clear()
        _HELD_ENGINES.add(engine)
    if len(_HELD) >= _HELD_MAX:
        _HELD.clear()
    found = _HELD[key] = (hits, {}, {}, {}, {})
    return found


class Plan(NamedTuple):
    """What a scan's flush of one text of several lines (a form part's pairs) came to, the scan having found
    nothing before it (:meth:`.matching.Matcher.flush`): a pure function of the engine, the text and its location.

    The pass over the lines found something (the text is held), so each line was matched again alone to name
    where: a dozen lines of Python per line, the hits credited, the labels ordered.  The same probe in the same
    query (a scanner's request sent again) comes to the same hits, which a scan that found nothing before can
    credit at once.  Its counters are those of the flush that made the plan (which lines it found known clean
    decided how many characters it matched again, as on any request).
    """

    laid: Any            # the hits, as :func:`.evidence.gathered` lays them out; None: the lines alone held none
    passes: int          # engine passes it counted
    set_chars: int       # characters through the engines' sets
    located_chars: int   # characters matched again to name where


#: Form parts (a query string, an urlencoded body) up to :data:`.parts.FORM_MEMORY_CHARS` long decoded in one
#: call (:meth:`.parts.PartReader.escaped_form`) and met before, by text: the pairs split from the decoding
#: (read by the parameter shapes), the same pairs lowered and collapsed, and those not empty joined, a line each,
#: and counted (what the scan queues: :meth:`.matching.Matcher.queue_pairs`, without its join).  A part
#: found clean is remembered as such by the scan (:data:`.scan._CLEAN`) and not decoded again; one that is
#: not — a scanner's probe in ``q``, request after request — was unquoted, checked, split, lowered and
#: collapsed again each time.  What is kept is a pure function of the text (no setting enters the decoding),
#: hence keyed on the text alone.  Kept only for a part met twice (:data:`_FORMS_MET`: a client sending ever
#: new values fills no memory); bounded (256 parts of at most 2 KiB, four copies each), cleared when full.
_FORMS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str, int]] = {}
_FORMS_MAX = 256
#: Hashes of the form parts decoded once, not yet kept in :data:`_FORMS`.
_FORMS_MET: set[int] = set()


def keep_form(text: str, split: list[str], pairs: list[str]) -> bool:
    """Keep what decoding ``text`` whole gave (see :data:`_FORMS`) if it was met before (True); else note its
    hash (False)."""
    if not met_before(_FORMS_MET, hash(text)):
        return False
    if len(_FORMS) >= _FORMS_MAX:
        _FORMS.clear()
    lines = [pair for pair in pairs if pair]
    _FORMS[text] = (tuple(split), tuple(pairs), "\n".join(lines), len(lines))
    return True


#: Hashes of the cookie values of requests found clean once (:meth:`.parts.PartReader.cookies`), not yet
#: remembered: only values sent twice are (a client with a new session in every request fills no memory).
_COOKIES_MET: set[int] = set()
