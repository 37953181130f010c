"""Protocol anomalies of the request itself: its method, and a body that does not match its declared type.

None of these is an attack string, so none is a regex over a part: they are
facts of the request line and headers, read once per request by
:func:`smartlayer.detectors.payload.scan.scan_request` and recorded as hits of
the ``protocol`` family like any signature (the table in
:mod:`.families.protocol` holds their names, weights and levels).

Judgement, weight by weight:

* **TRACE, TRACK, DEBUG, CONNECT** (``method_probe``, 2): no browser and no
  Django view uses them; scanners send them to look for cross-site tracing,
  IIS debugging or an open proxy.  Harmless on their own to a Django site
  (it answers 405), so borderline: evidence that adds to anything else.
* **a method no one registered** (``method_unknown``, 1): ``FOO``, ``get``,
  a verb with punctuation — fuzzers do this; so do a few odd API clients.
* **a body on GET or HEAD** (``body_on_bodiless_method``, 1): the validator
  never reads it (:mod:`.body`), a cache or a front server may treat it as the
  next request; some search APIs do send it, hence 1.
* **a body that is not what its type says** (``content_type_mismatch``, 1):
  JSON declared and no JSON value starts the body, a form declared and a JSON
  document or XML sent (the content-type confusion that slips past a filter
  that reads by type), XML declared and no markup.  Clients get this wrong
  now and then, hence 1.
* **a file part named as a server-side script** (``script_upload``, 3): ``shell.php``, ``x.phtml``,
  ``cmd.jsp``, ``a.aspx`` — also with the tricks that make a server read it so (``shell.php.``, ``x.asp;.jpg``,
  ``shell.php%00.jpg``).  What a web-shell upload sends; a Django site runs none of them, but a front server
  serving the upload folder may, and no person attaches a PHP page to a Django form.  The name as the
  client sent it (``image.php.jpg`` is an image to every server).

Cost: a set lookup and a look at the first non-blank byte of a body the scan
has already read, and one bounded search of each file part's name (the last 300 characters)
when there are file parts; nothing is parsed here.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["request_anomalies"]

#: Methods a web application may serve: HTTP's, PATCH, and WebDAV's.
KNOWN_METHODS = frozenset((
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS",
    "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "REPORT", "SEARCH", "MKCALENDAR", "QUERY",
))
#: Methods only a probe sends to an application.
PROBE_METHODS = frozenset(("TRACE", "TRACK", "DEBUG", "CONNECT"))
_BODILESS = frozenset(("GET", "HEAD"))
_JSON_STARTS = frozenset(b'{["-0123456789tfn')
_BLANK = b" \t\r\n\xef\xbb\xbf"          # whitespace and a UTF-8 byte-order mark
#: A server-side script's extension ending a file name, or before what a server cuts off (``;``, a NUL).
#: Bounded and anchored at the end (a name is at most a few hundred characters): no backtracking to speak of.
_SCRIPT_NAME = re.compile(r"\.(?:php\d?|phtml|phar|pht|phps|jspx?|aspx?|ashx|asmx)(?:[.\s]{0,8}$|;|\x00|%00)",
                          re.IGNORECASE)


def _first_byte(body: bytes | None) -> int | None:
    if not body:
        return None
    head = body[:64].lstrip(_BLANK)
    return head[0] if head else None


def _media(content_type: str) -> str:
    return content_type.partition(";")[0].strip().lower()


def request_anomalies(method: Any, content_type: str, meta: Mapping[str, Any],
                      body: bytes | None, filenames: Mapping[str, list[str]] | None = None) -> list[tuple[str, str, str]]:
    """The anomalies of one request, as ``(signature, location, excerpt)``; ``[]`` for nearly every request.

    ``body`` is the part of the body the scan read (``None`` when it read
    none); ``meta`` the WSGI environ (``CONTENT_LENGTH``, ``HTTP_TRANSFER_ENCODING``);
    ``filenames`` a multipart body's file parts' names, field → names, as sent.
    """
    found: list[tuple[str, str, str]] = []
    if filenames:
        for names in filenames.values():
            script = next((name for name in names if _SCRIPT_NAME.search(name[-300:])), None)
            if script is not None:
                found.append(("script_upload", "body", script[-120:]))
                break
    verb = method if isinstance(method, str) else ""
    if verb in PROBE_METHODS:
        found.append(("method_probe", "method", verb))
    elif verb and verb not in KNOWN_METHODS:
        found.append(("method_unknown", "method", verb[:40]))
    if verb in _BODILESS:
        length = str(meta.get("CONTENT_LENGTH") or "").strip()
        chunked = "chunked" in str(meta.get("HTTP_TRANSFER_ENCODING") or "").lower()
        if chunked or (length not in ("", "0") and length.isdigit() and int(length) > 0):
            found.append(("body_on_bodiless_method", "method", f"{verb} with a body"))
        return found
    first = _first_byte(body)
    if first is None:
        return found
    media = _media(content_type)
    if media == "application/json" or media.endswith("+json"):
        mismatch = first not in _JSON_STARTS or (
            first in b"tfn" and not body.lstrip(_BLANK).startswith((b"true", b"false", b"null")))
    elif media == "application/x-www-form-urlencoded":
        mismatch = first in b"{[<"
    elif media in ("application/xml", "text/xml") or media.endswith("+xml"):
        mismatch = first != ord("<")
    else:
        mismatch = False
    if mismatch:
        found.append(("content_type_mismatch", "body", f"{media}: {body[:60]!r}"))
    return found
