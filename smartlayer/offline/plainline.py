"""The plain combined-log line, taken apart by its quotes instead of the log format's regex.

Why a module of its own: :mod:`.accesslog` keeps the regex (the definition of
what a line may be) and everything else about reading and writing logs; this
is one shortcut for the common case, checked against that regex in
``tests/test_accesslog_plain.py``.
"""
from __future__ import annotations


def plain_fields(line: str) -> tuple | None:
    """The groups :data:`~.accesslog._LINE` gives a plain combined line, found by splitting it on its
    quotes; else None.

    Most lines of a log are plain: no backslash, referer and user agent quoted, at most one quoted
    field after them.  For those the quotes alone delimit every field, and splitting costs a
    third of the regex.  Anything else (an escape, the common format, a trailing request time,
    a tab, a field out of place) gets None and goes to the regex, which stays the definition:
    where both accept a line they give the same groups (``tests/test_accesslog_plain.py``)."""
    if "\\" in line:
        return None
    parts = line.split('"')
    n = len(parts)
    if n == 9:   # ... "referer" "agent" "label"
        if parts[6] != " " or (parts[8] and not parts[8].isspace()):
            return None
        rest = ' "' + parts[7] + '"'
    elif n == 7:   # ... "referer" "agent"
        if parts[6] and not parts[6].isspace():
            return None
        rest = ""
    else:
        return None
    if parts[4] != " ":
        return None
    head = parts[0]
    words = head.split(" ")
    # "ip ident user [day:time offset] ": six pieces, the last empty, and no other whitespace
    if len(words) != 6 or words[5]:
        return None
    del words[5]
    if head.split() != words:   # a piece empty, or holding a tab or another space of Unicode's
        return None
    ip, ident, user, day, offset = words
    if day[:1] != "[" or offset[-1:] != "]":
        return None
    when = day[1:] + " " + offset[:-1]
    if "]" in when:
        return None
    numbers = parts[2].split(" ")   # " status size "
    if len(numbers) != 4 or numbers[0] or numbers[3]:
        return None
    status, size = numbers[1], numbers[2]
    if len(status) != 3 or not (status.isascii() and status.isdigit()) \
            or not (size == "-" or (size.isascii() and size.isdigit())):
        return None
    return ip, user, when, parts[1], status, size, parts[3], parts[5], rest
