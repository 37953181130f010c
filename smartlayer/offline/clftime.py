"""Common Log Format timestamps: one formatter, one parser, both fast on a log's repetition.

Why a module of its own: every line of an access log carries one, a replay
reads tens of thousands of lines a second, and the tricks that make that
cheap (a per-second formatting memo, a per-string cache, day starts parsed
once and the time of day added as integers) are independent of how the rest
of a line is parsed — :mod:`.accesslog` uses them for both directions.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NUMBER = {name: i for i, name in enumerate(_MONTHS, 1)}


# ── timestamps: one formatter, one parser ─────────────────────────────────
_format_cache: tuple[int, str] = (-1, "")


def format_clf_time(ts: float) -> str:
    """``ts`` (unix seconds) as ``dd/Mon/yyyy:HH:MM:SS +0000``, to the second."""
    global _format_cache
    second = int(ts // 1)
    cached = _format_cache
    if cached[0] == second:
        return cached[1]
    t = time.gmtime(second)
    text = (f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year:04d}:"
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000")
    _format_cache = (second, text)
    return text


_parse_cache: dict[str, float] = {}


def parse_clf_time(text: str) -> float | None:
    """``dd/Mon/yyyy:HH:MM:SS[.fff] ±hhmm`` → unix seconds (UTC), else None.

    Any offset is converted to UTC (``+02:00`` and a missing offset, read as
    UTC, are tolerated).  Results are cached per string: a log has about one
    distinct timestamp per second of traffic, so almost every call is a
    dictionary hit and the slow path runs rarely.
    """
    ts = _parse_cache.get(text)
    return ts if ts is not None else parse_clf_time_missed(text)


def parse_clf_time_missed(text: str) -> float | None:
    """:func:`parse_clf_time` for a string its cache has just been asked for in vain (the log
    reader asks the cache itself: one dictionary lookup per line, not two)."""
    ts = _parse_clf_time_fast(text)
    if ts is None:
        ts = _parse_clf_time_uncached(text)
        if ts is None:
            return None
    if len(_parse_cache) >= 100_000:
        _parse_cache.clear()
    _parse_cache[text] = ts
    return ts


# the start of each (day, offset) seen: a log of N days has N of them
_day_cache: dict[tuple[str, str], float] = {}
# the start of each (minute, offset) seen: "dd/Mon/yyyy:HH:MM" + " ±hhmm" → unix seconds
_minute_cache: dict[str, float] = {}
#: "00" … "59" → the second: one lookup checks and reads a timestamp's seconds
_SECONDS = {f"{s:02d}": s for s in range(60)}


def _parse_clf_time_fast(text: str) -> float | None:
    """The common form ``dd/Mon/yyyy:HH:MM:SS ±hhmm`` by arithmetic from its minute's start, else None.

    A log has one distinct timestamp per second of traffic, so the string
    cache above misses on most seconds; building a ``datetime`` for each miss
    was a tenth of a replay.  The day and offset are parsed once (by the full
    parser, so both agree), each minute once from its day, and a second is
    then one integer added (integral floats: the sums are exact, as before)."""
    sec = _SECONDS.get(text[18:20])
    if sec is None or len(text) != 26 or text[20] != " " or text[17] != ":":
        return None
    key = text[:17] + text[20:]
    base = _minute_cache.get(key)
    if base is None:
        base = _minute_start(text)
        if base is None:
            return None
        if len(_minute_cache) >= 100_000:
            _minute_cache.clear()
        _minute_cache[key] = base
    return base + sec


def _minute_start(text: str) -> float | None:
    """The start of ``text``'s minute (its seconds not read), else None."""
    if text[11] != ":" or text[14] != ":":
        return None
    hh, mm = text[12:14], text[15:17]
    if not (hh.isdecimal() and mm.isdecimal()):
        return None
    h, m = int(hh), int(mm)
    if h > 23 or m > 59:
        return None
    key = (text[:11], text[21:])
    base = _day_cache.get(key)
    if base is None:
        base = _parse_clf_time_uncached(f"{text[:11]}:00:00:00 {text[21:]}")
        if base is None:
            return None
        if len(_day_cache) >= 10_000:
            _day_cache.clear()
        _day_cache[key] = base
    return base + (h * 3600 + m * 60)


def _parse_clf_time_uncached(text: str) -> float | None:
    if len(text) < 20 or text[2] != "/" or text[6] != "/" or text[11] != ":" or text[14] != ":" \
            or text[17] != ":":
        return None
    month = _MONTH_NUMBER.get(text[3:6])
    if month is None:
        return None
    rest = text[20:]
    fraction = 0.0
    try:
        if rest.startswith("."):
            digits = rest[1:].split(" ", 1)[0]
            fraction = float("0." + digits)
            rest = rest[1 + len(digits):]
        rest = rest.strip().replace(":", "")
        offset = 0
        if rest and rest != "Z":
            if len(rest) != 5 or rest[0] not in "+-":
                return None
            offset = int(rest[1:3]) * 3600 + int(rest[3:5]) * 60
            if rest[0] == "-":
                offset = -offset
        moment = datetime(int(text[7:11]), month, int(text[0:2]), int(text[12:14]), int(text[15:17]),
                          int(text[18:20]), tzinfo=timezone.utc)
    except ValueError:
        return None
    return moment.timestamp() - offset + fraction
