"""Access logs in, access logs out: combined log format and JSON lines.

The replay command, the demo and the model trainer all read web-server
logs, which in the wild are never as clean as the format says: other time
zones, ``-`` placeholders, escaped quotes, request lines without a protocol,
scanners' garbage, custom trailing fields.  :func:`parse_line` takes what
it can and returns ``None`` for the rest; :func:`iter_log` counts both.

Format (nginx ``combined`` / Apache ``%h %l %u %t "%r" %>s %b "%{Referer}i"
"%{User-agent}i"``)::

    203.0.113.7 - 42 [01/Jan/2024:12:00:00 +0000] "GET /p?q=1 HTTP/1.1" 200 512 "-" "curl/8.5.0"

optionally followed by a request time in seconds (``0.042``, ``rt=0.042``,
nginx's ``$request_time``) and/or a quoted label (``"scraper"``): the custom
``log_format`` a labelled dataset uses.  Trailing fields that are neither
(such as nginx's ``"$http_x_forwarded_for"``) are ignored.  An integer
trailing field is ignored too: it may be Apache's microseconds or seconds.

Speed matters (a replay must do well over 20k lines/s end to end): one
precompiled regex per line, timestamps parsed once per distinct second
string and cached, unescaping only when a backslash is present.
"""
from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import IO, TYPE_CHECKING

from .clftime import (  # noqa: F401  (the two private parsers re-exported: tests compare them here)
    _parse_cache,
    _parse_clf_time_fast,
    _parse_clf_time_uncached,
    format_clf_time,
    parse_clf_time,
    parse_clf_time_missed,
)
from .logfiles import LogSource, open_lines
from .plainline import plain_fields as _plain_fields

if TYPE_CHECKING:
    from ..sim import TrafficRecord

# "unrolled loop" form of a quoted string with backslash escapes: far faster
# in Python's engine than an alternation tried at every character
_QUOTED_BODY = r'[^"\\]*(?:\\.[^"\\]*)*'
_QUOTED = '"(' + _QUOTED_BODY + ')"'
# ip, ident (ignored), user, [time], "request", status, bytes, then optional
# "referer" "user-agent" (absent in the common log format), then extras.
_LINE = re.compile(
    r"(\S+) \S+ (\S+) \[([^\]]+)\] " + _QUOTED + r" (\d{3}) (\d+|-)"
    r"(?: " + _QUOTED + r"(?: " + _QUOTED + r")?)?"
    r'((?:[ \t]+(?:"' + _QUOTED_BODY + r'"|[^\s"]+))*)\s*$'
)
_EXTRA = re.compile(_QUOTED + r'|(\S+)')
_LABEL = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_UNESCAPE = re.compile(r"((?:\\x[0-9A-Fa-f]{2})+)|\\(.)")
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f\x7f]')

MAX_FIRST_ERRORS = 10


@dataclass(slots=True)
class ParsedLine:
    """What one log line tells about a request.

    The fields are those of :class:`~smartlayer.sim.TrafficRecord` a log
    can know; ``label``, ``response_ms`` and ``client_id`` are ``None`` when
    the line does not carry them.  ``body`` and ``content_type`` are only
    ever filled from JSON lines.
    """

    ts: float
    ip: str
    method: str
    path: str
    query: str
    status: int
    bytes_sent: int = 0
    referer: str = ""
    user_agent: str = ""
    user_id: str | None = None
    label: str | None = None
    response_ms: float | None = None
    body: str = ""
    content_type: str = ""
    client_id: str | None = None


@dataclass(slots=True)
class LogStats:
    """Counts of one read: ``lines == parsed + malformed + blank``."""

    lines: int = 0
    parsed: int = 0
    malformed: int = 0
    blank: int = 0
    first_errors: list[str] = field(default_factory=list)


# ── fields ────────────────────────────────────────────────────────────────
def _escape_char(m: re.Match[str]) -> str:
    c = m.group()
    return "\\" + c if c in '"\\' else f"\\x{ord(c):02x}"


def _escape(value: str) -> str:
    """Quote-safe text for a quoted log field (Apache style ``\\"``, ``\\\\``, ``\\xHH``)."""
    return _NEEDS_ESCAPE.sub(_escape_char, value) if _NEEDS_ESCAPE.search(value) else value


def _unescape_match(m: re.Match[str]) -> str:
    hex_run = m.group(1)
    if hex_run is None:
        return m.group(2)
    # nginx escapes every byte of a non-ASCII character: decode the run as UTF-8
    return bytes.fromhex(hex_run.replace("\\x", "")).decode("utf-8", "replace")


def _unescape(value: str) -> str:
    """Undo :func:`_escape`, and nginx's ``\\x22`` / ``\\xE2\\x98\\x83`` style as well."""
    return _UNESCAPE.sub(_unescape_match, value) if "\\" in value else value


def format_combined(rec: TrafficRecord, *, with_label: bool = False, with_request_time: bool = False) -> str:
    """One combined-log line for ``rec``, without a newline.

    ``user_id`` goes in the remote-user field; an empty referer or user agent
    is written ``-``.  ``with_request_time`` appends the response time in
    seconds (nginx ``$request_time``), ``with_label`` appends the label as a
    final quoted field — both read back by :func:`parse_line`.
    """
    target = f"{rec.path}?{rec.query}" if rec.query else rec.path
    line = (f'{rec.ip} - {rec.user_id or "-"} [{format_clf_time(rec.ts)}] '
            f'"{_escape(rec.method)} {_escape(target)} HTTP/1.1" {rec.status} {rec.bytes_sent} '
            f'"{_escape(rec.referer) or "-"}" "{_escape(rec.user_agent) or "-"}"')
    if with_request_time:
        line += f" {rec.response_ms / 1000.0:.3f}"
    if with_label:
        line += f' "{_escape(rec.label)}"'
    return line


def _split_target(target: str) -> tuple[str, str]:
    """``(path, query)`` of a request target, absolute URLs included."""
    if target[:1] != "/":
        scheme_end = target.find("://")
        if scheme_end != -1:  # proxy-style "GET http://host/x HTTP/1.1"
            slash = target.find("/", scheme_end + 3)
            target = target[slash:] if slash != -1 else "/"
    path, _, query = target.partition("?")
    return path, query


def _extras(rest: str) -> tuple[str | None, float | None]:
    """``(label, response_ms)`` from the fields after the user agent."""
    label = None
    response_ms = None
    for quoted, bare in _EXTRA.findall(rest):
        if bare:
            value = bare.split("=", 1)[1] if "=" in bare else bare
            if "." in value:
                with contextlib.suppress(ValueError):
                    response_ms = float(value) * 1000.0
        elif _LABEL.fullmatch(quoted):
            label = quoted
    return label, response_ms


def _trailing(rest: str) -> tuple[str | None, float | None]:
    """``(label, response_ms)`` of the fields after the user agent; a lone label is remembered."""
    quoted = rest.lstrip()
    # the labelled logs' one trailing '"label"': no regex scan of the extras
    if quoted[:1] == '"' and quoted[-1:] == '"' and quoted.count('"') == 2 and " " not in quoted \
            and _LABEL.fullmatch(quoted, 1, len(quoted) - 1):
        label = quoted[1:-1]
        if len(_labels) < _LABELS_MAX:   # a labelled log has a few dozen labels
            _labels[rest] = label
        return label, None
    return _extras(rest)


#: The trailing text of a line that is a lone label → that label (:func:`_trailing`).
_labels: dict[str, str] = {}
_LABELS_MAX = 1024


def _request_parts(request: str) -> tuple[str, str, str] | tuple[()]:
    """``(method, path, query)`` of a request line as the log quotes it; ``()`` when it is not one."""
    if "\\" in request:
        request = _unescape(request)
    parts = request.split(" ")
    if len(parts) == 3 or len(parts) == 2:
        method = parts[0]
        target = parts[1]
    else:  # nginx's "-" for an empty request, or binary garbage
        return ()
    if not (method.isalpha() and method.isupper()) or not target:
        return ()
    if target[0] == "/":  # the common origin-form target: no URL to take apart
        path, _, query = target.partition("?")
    else:
        path, query = _split_target(target)
    return method, path, query


#: The quoted request line → its (method, path, query), :func:`_request_parts`: a log repeats its
#: requests (a page's files and beacons, every visitor's home page), so each is taken apart once.
#: Bounded: emptied when full, and a request line longer than ``_REQUEST_KEPT`` is not kept.
_requests: dict[str, tuple[str, str, str] | tuple[()]] = {}
_REQUESTS_MAX = 50_000
_REQUEST_KEPT = 1024


def parse_line(line: str) -> ParsedLine | None:
    """Parse one combined/common-format or JSON line; ``None`` if it is neither."""
    if line[:1] == "{":
        return _parse_json(line)
    fields = _plain_fields(line)
    if fields is None:
        m = _LINE.match(line)
        if m is None:
            return _parse_json(line) if line.lstrip()[:1] == "{" else None
        fields = m.groups()
    ip, user, when, request, status, size, referer, agent, rest = fields
    ts = _parse_cache.get(when)
    if ts is None:
        ts = parse_clf_time_missed(when)
        if ts is None:
            return None
    taken = _requests.get(request)
    if taken is None:
        taken = _request_parts(request)
        if len(request) <= _REQUEST_KEPT:
            if len(_requests) >= _REQUESTS_MAX:
                _requests.clear()
            _requests[request] = taken
    if not taken:
        return None
    method, path, query = taken
    label = response_ms = None
    if rest:
        label = _labels.get(rest)
        if label is None:
            label, response_ms = _trailing(rest)
    if referer is None or referer == "-":
        referer = ""
    elif "\\" in referer:
        referer = _unescape(referer)
    if agent is None or agent == "-":
        agent = ""
    elif "\\" in agent:
        agent = _unescape(agent)
    return ParsedLine(  # positional, in field order: keywords cost measurable time per line
        ts, ip, method, path, query, int(status),
        0 if size == "-" else int(size),
        referer, agent,
        None if user == "-" else user,
        label, response_ms,
    )


def _parse_json(line: str) -> ParsedLine | None:
    """A JSON object with at least ts, ip, method, path and status.

    ``ts`` may be unix seconds or an ISO 8601 string (naive means UTC); a
    ``path`` with a query string is split when ``query`` is absent.
    """
    try:
        d = json.loads(line)
        if not isinstance(d, dict):
            return None
        ts = d["ts"]
        if isinstance(ts, str):
            moment = datetime.fromisoformat(ts.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
            ts = moment.timestamp()
        path = str(d["path"])
        query = d.get("query")
        if query is None:
            path, query = _split_target(path)
        ms = d.get("response_ms")
        user_id = d.get("user_id")
        client_id = d.get("client_id")
        label = d.get("label")
        return ParsedLine(
            ts=float(ts), ip=str(d["ip"]), method=str(d["method"]), path=path, query=str(query),
            status=int(d["status"]), bytes_sent=int(d.get("bytes_sent") or 0),
            referer=str(d.get("referer") or ""), user_agent=str(d.get("user_agent") or ""),
            user_id=None if user_id is None else str(user_id),
            label=None if label is None else str(label),
            response_ms=None if ms is None else float(ms),
            body=str(d.get("body") or ""), content_type=str(d.get("content_type") or ""),
            client_id=None if client_id in (None, "") else str(client_id),
        )
    except (KeyError, TypeError, ValueError):  # json.JSONDecodeError is a ValueError
        return None


class LogReader:
    """An iterator over the parsed lines of one log, with live counts.

    ``stats`` is updated as lines are read, so it is complete once the
    iterator is exhausted.  Iterating the reader iterates the underlying
    generator directly: no per-line wrapper call.
    """

    __slots__ = ("stats", "_lines")

    def __init__(self, source: LogSource, stats: LogStats | None = None) -> None:
        self.stats = stats if stats is not None else LogStats()
        self._lines = _parse_source(source, self.stats)

    def __iter__(self) -> Iterator[ParsedLine]:
        return self._lines

    def __next__(self) -> ParsedLine:
        return next(self._lines)


def _parse_source(source: LogSource, stats: LogStats) -> Iterator[ParsedLine]:
    errors = stats.first_errors
    with open_lines(source) as lines:
        for line in lines:
            stats.lines += 1
            if not line or line.isspace():
                stats.blank += 1
                continue
            parsed = parse_line(line)
            if parsed is None:
                stats.malformed += 1
                if len(errors) < MAX_FIRST_ERRORS:
                    errors.append(f"line {stats.lines}: {line.rstrip()[:200]}")
            else:
                stats.parsed += 1
                yield parsed


def iter_log(source: LogSource, stats: LogStats | None = None) -> LogReader:
    """Parse a log lazily, combined format and JSON lines mixed, ``.gz`` or not.

    ``source`` is a path, a text or binary file object, or an iterable of
    strings.  The returned reader's ``stats`` (``stats`` if given) counts
    lines as they are read: blank lines are counted and skipped, malformed
    ones counted and the first :data:`MAX_FIRST_ERRORS` kept as
    ``"line N: <text>"`` for a report.
    """
    return LogReader(source, stats)


def read_log(source: LogSource) -> tuple[list[ParsedLine], LogStats]:
    """All parsed lines of ``source`` and the counts of the read."""
    reader = iter_log(source)
    return list(reader), reader.stats


def write_combined(records: Iterable[TrafficRecord], fp: IO[str], *, with_label: bool = False,
                   with_request_time: bool = False) -> int:
    """Write ``records`` as combined-log lines; returns the number written."""
    n = 0
    for rec in records:
        fp.write(format_combined(rec, with_label=with_label, with_request_time=with_request_time))
        fp.write("\n")
        n += 1
    return n
