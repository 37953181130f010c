"""A long body that blocks on its first lines: normalised no further than them.

Why: a 64 KiB text body of attack strings was normalised whole (3-4 ms of
decoders and NFKC) before its first match, though its first KiB already
blocks the request; matching stopped early (:func:`first_block`),
normalising did not.  Here the body's first :data:`PREFIX_CHARS` (1 KiB) characters,
cut just after a line break, are normalised and matched alone first; when
what they hold blocks the request, the rest is neither normalised nor matched
(said in ``skipped``: ``scan:stopped_at_block``).  When they do not block,
nothing of this is kept and the body is normalised and matched whole, as
before: a clean body is scanned in full, at the cost of its prefix twice.

Why the verdict cannot change: the decoders work within a line (no escape
spans a raw line break) and collapsing whitespace reads the break as a space,
so the normalised prefix is the start of the normalised body.  A pattern
match ending before the prefix's end is then a match of the body too, and the
prefix's markers are the body's.  NFKC cut short in the prefix (``_CLIPPED``)
would make the readings differ: the prefix is not used then.  One case is
left, on purpose: a body whose rest grows under NFKC by more than the
request's allowance (:data:`.normalise._MAX_FOLD_GROWTH`, 4 KiB: only crafted
text does) used it up before a later decoding round folded what its prefix
decodes to, and the whole reading left that unfolded (and said ``truncated``);
the prefix alone reads it folded, so it may block where the whole reading did
not — never the reverse.
The hits listed are those of the prefix — enough to reach the threshold; hits
further in the body are not listed.

A long form field (a comment box) is one value with no raw line break: its
own are written ``%0A``.  It is cut just after one of those, within its first
:data:`FORM_PREFIX_CHARS` characters (about two to one once decoded): the
first round decodes it to a line break, which no later decoding reads across,
and no escape or overlong sequence goes on past it (``%0A`` is the last byte
of any it ends), so the same holds.
"""
from __future__ import annotations

from typing import Any

from .engine import SET_CHARS as _SET_CHARS
from .normalise import _CLIPPED, _MARKER_NAMES, _normalise
from .parts import LOCATION_KINDS as _KINDS
from .parts import kind_of as _kind
from .signatures import _BY_NAME

#: Characters of a body's start normalised alone first (cut after its last line break before this): what
#: :func:`first_block` matches first of a long text, so that a body blocking there costs
#: no more matching than it did, and one that does not costs a sixty-fourth of a 64 KiB body more.
PREFIX_CHARS = 1024
#: Bodies at least this long are tried so (a typical body is normalised once, whole).
FROM_CHARS = 8 * PREFIX_CHARS
#: The same for a form field's value, still percent-encoded (see the module docstring).
FORM_PREFIX_CHARS = 2 * PREFIX_CHARS


def line_cut(raw: str, form: bool) -> int:
    """Where the prefix of ``raw`` ends: just after its last line break within the prefix's size (for a
    form field, one written ``%0A`` too); 0 when it has none there."""
    if not form:
        return raw.rfind("\n", 0, PREFIX_CHARS) + 1
    end = FORM_PREFIX_CHARS
    cut = raw.rfind("\n", 0, end) + 1
    for escape in ("%0a", "%0A"):
        at = raw.rfind(escape, 0, end)
        if at >= 0 and at + 3 > cut:
            cut = at + 3
    return cut


def prefix_blocks(scan: Any, raw: str, location: str, json_text: bool, form: bool = False) -> bool:
    """Whether ``raw`` (a body's one long text, or a form field's value) blocks the request on its first
    lines alone; if so its hits there are credited to ``scan`` and the request is not read further (True)."""
    block = scan.cfg.block_score
    if not block or len(raw) < FROM_CHARS:
        return False
    cut = line_cut(raw, form)         # just after a line break: the prefix holds one
    if cut <= 0:
        return False
    prefix = raw[:cut]
    text, markers = _normalise(prefix, form=form, json_text=json_text, growth=scan.growth)
    if markers & _CLIPPED or not text:
        return False
    kind = _KINDS.get(location) or _kind(location)
    engine, signatures = scan.engine_signatures(kind)
    starts: dict[int, int] = {}
    for index in engine.matches(text, filtered=True):
        span = engine.span(index, text)
        if span is not None and span[1] < len(text):   # ends before the cut: a match of the whole body too
            starts[index] = span[0]
    seen = scan.seen
    added = {name: _BY_NAME[name].weight for bit, name in _MARKER_NAMES if markers & bit and name not in seen}
    added.update((signatures[i].name, signatures[i].weight) for i in starts if signatures[i].name not in seen)
    if scan.score + sum(added.values()) < block:
        return False
    scan.prefixed += 1
    text = scan.account(prefix, text, markers, location)
    scan.located_chars += len(text)
    for index, start in starts.items():
        scan._hit(signatures[index], location, text, start)
    scan.skip("scan:stopped_at_block")
    scan.stopped = True
    return True


def first_block(scan: Any, engine: Any, signatures: Any, text: str) -> dict[int, int] | None:
    """Where the patterns found in the first :data:`PREFIX_CHARS` characters of a long ``text`` first
    match all of it, when those hits block the request; None (match it all) when they do not.

    64 KiB of diverse attacks cost the prefilter's passes 6-10 ms; their
    first lines block the request, and matching the rest changes nothing
    but the list of hits (said in ``skipped``: ``scan:stopped_at_block``,
    as when a long request stops being read).  A pattern found in the
    prefix is kept only if it matches the whole text: a match ending before the
    cut does (it reads the same characters and neighbours there), one
    reaching the cut is searched for in the whole text (a ``$`` or ``\\b``
    can match at the cut and not in the text).  Its excerpt is taken
    where it first matches the prefix (a full reading could start
    earlier only with a match running past the cut).  A text whose prefix
    does not block is matched in full, as before: the prefix is then a
    sixty-fourth of a 64 KiB text's matching spent for nothing, paid once
    per request (for its first long text, what a request that blocks
    early starts with).
    """
    block = scan.cfg.block_score
    if not block or scan.located_chars < _SET_CHARS:     # as blocked(): a short request is matched in full
        return None
    if scan.located_chars - len(text) >= _SET_CHARS:     # a long text after others that did not block
        return None
    starts: dict[int, int] = {}
    prefix = text[:PREFIX_CHARS]
    for index in engine.matches(prefix, filtered=True):
        span = engine.span(index, prefix)
        if span is not None and span[1] < len(prefix):   # ends before the cut: a match of the text too
            starts[index] = span[0]
        elif (start := engine.find(index, text)) is not None:
            starts[index] = start
    seen = scan.seen
    added = {signatures[i].name: signatures[i].weight for i in starts if signatures[i].name not in seen}
    if scan.score + sum(added.values()) < block:
        return None
    scan.skip("scan:stopped_at_block")
    return starts
