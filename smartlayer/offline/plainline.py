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
        rest = f' "{parts[7]}"'
    elif n == 7:   # ... "referer" "agent"
        if parts[6] and not parts[6].isspace():
            return None
        rest = ""
    else:
        return None
    if parts[4] != " ":
        return None
    head = parts[0]
    # "ip ident user [time] ": three pieces without whitespace, each followed by one space, then the
    # bracketed time.  A printable text holds no whitespace but the space (not a tab, nor any other
    # of Unicode's): one pass that replaces a second split on whitespace and a comparison of the two
    words = head.split(" ", 3)
    if len(words) != 4 or not (words[0] and words[1] and words[2] and head.isprintable()):
        return None
    stamp = words[3]
    if not stamp.endswith("] ") or stamp[0] != "[":
        return None
    when = stamp[1:-2]
    if not when or "]" in when:
        return None
    numbers = parts[2].split(" ")   # " status size "
    if len(numbers) != 4 or numbers[0] or numbers[3]:
        return None
    status = numbers[1]
    size = numbers[2]
    if status not in _STATUS or not (size == "-" or (size.isascii() and size.isdigit())):
        return None
    return words[0], words[2], when, parts[1], status, size, parts[3], parts[5], rest


#: The three ASCII digits a status may be (the regex's ``\d{3}``, ASCII only): one lookup checks one
_STATUS = frozenset(f"{code:03d}" for code in range(1000))
