"""A body's many fields normalised together, a field a line, and matched group by group as they are read.

Split from :mod:`.matching` (which decides what is matched when): :class:`JoinedFields` keeps no state
of its own, the scan's slots hold it (mixed into :class:`.scan._Scan`).  A JSON document or a form of more
than :data:`.parts.MAX_RESCANNED` fields went through the normaliser once per field, a dozen Python calls
each; as one text it costs one pass of each decoder.
"""
from __future__ import annotations

from typing import Any

from .normalise import _normalise

#: The first group of a body's many fields normalised together (:meth:`JoinedFields.joined_fields`): past the set's
#: share too (a group just under it would go through the set, dear on diverse text).
_FIRST_JOINED_CHARS = 4096

#: Characters of a body's many fields normalised together (:meth:`JoinedFields.joined_fields`): a flush's worth.
_JOINED_CHARS = 8192


class JoinedFields:
    """:meth:`joined_fields` (see the module docstring), mixed into :class:`.scan._Scan`."""

    __slots__ = ()
    stopped: bool
    budget: int
    normalised: Any
    passes: int
    joined_parts: int
    pending: list[Any]

    def joined_fields(self, raws: list[str], location: str, form: bool) -> bool:
        """Normalise a body's many fields :data:`_JOINED_CHARS` characters at a time, a field a line, each
        group queued as one text; False (one by one) when the request's budget would cut them.

        Equivalent to normalising each (a field's own line break is read as a space, as ``lines`` is
        off for a body): every decoder works within a field, the markers are the union of the fields'.
        A group is one text as :meth:`.matching.Matcher.flush` matches more than :data:`.parts.MAX_RESCANNED` texts of a location
        once anyway; groups, so that a body that blocks early is not read further (64 KiB of JSON strings
        were normalised whole before the first was matched).  A group with a field that decodes to a line
        break of its own (``%0a``, ``&#10;``: the lines would no longer be the fields) has its fields
        normalised one by one, each reading its break as a space, and is matched as one text all the
        same: queued field by field, a JSON list of diverse attacks with one such field was matched 3 KiB
        deep and each field again before it could stop (8-13 ms); as a group it stops on its first KiB.
        """
        if self.stopped:
            return True
        if sum(map(len, raws)) + len(raws) - 1 > self.budget:      # the fields joined, as one text would be
            return False
        start = 0
        while start < len(raws):
            end, size = start, 0
            group_chars = _JOINED_CHARS if self.passes else _FIRST_JOINED_CHARS
            while end < len(raws) and (end == start or size + len(raws[end]) < group_chars):
                size += len(raws[end]) + 1
                end += 1
            if self.stopped:
                return True
            group = raws[start:end]
            start = end
            joined = "\n".join([raw.replace("\n", " ") if "\n" in raw else raw for raw in group])
            text, markers = _normalise(joined, form=form, lines=False, growth=self.growth, keep_lines=True)
            if text.count("\n") != len(group) - 1:
                # a field decodes to a line break of its own, which its reading alone collapses to a space:
                # the fields normalised one by one, then matched together as any group is
                texts = [one for raw in group if (one := self.normalised(raw, location, form=form))]
                if texts:
                    self.matched_now("\n".join(texts), location)
                continue
            self.joined_parts += 1
            text = "\n".join([line for line in self.account(joined, text, markers, location).split("\n") if line])
            if text:                         # matched alone, as one long text is: not again among other texts
                self.matched_now(text, location)
        return True

    def matched_now(self, text: str, location: str) -> None:
        """Queue ``text`` and match it at once, alone; the request stops being read if it then blocks."""
        if self.pending:
            self.flush()
            self.stopped = self.blocked()
        self.queue(text, location)
        if self.pending:
            self.flush()
            self.stopped = self.blocked()
