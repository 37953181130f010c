"""Payload detection: does this request carry an attack string?

The pure core of ``AIRequestValidator``.  It turns the parts of a request an
attacker controls (query string, body, selected headers, cookie values) into
normalised text, matches them against a table of weighted signatures and
returns a :class:`ScanResult`.  No cache, no database, no LLM: the middleware
feeds the score to :func:`smartlayer.policy.decisions.combine`, which reads it as
"0 → safe, 1 … below ``VALIDATOR_BLOCK_SCORE`` → borderline (ask the LLM),
at or above it → block".

Why it is built the way it is:

* **Everything is scanned, not only the body.**  The 0.1.0 validator looked at
  the body alone, so ``GET /?q=' OR 1=1--`` went through.
* **Text is normalised before matching.**  Attackers hide payloads behind
  URL-encoding (often twice), HTML entities, fullwidth or zero-width
  characters and ``\\uXXXX`` escapes; the signatures are written once against
  the decoded, lower-cased form.  Decoding more than once is itself evidence
  (``double_encoding``), as are overlong UTF-8 and escapes hiding a
  metacharacter.
* **Signatures need context.**  A lone ``;``, ``--``, ``/*`` or ``union`` is
  ordinary text (``rock & roll; cats``, ``*/*;q=0.8``, ``shop_session``); a
  signature fires on a quote *followed by* ``or 1=1``, a separator *followed
  by* a command, a tag *carrying* an event handler.  Strong evidence weighs 3
  (blocked on its own with the default threshold), weak evidence 1–2 (sent to
  the LLM), and the score counts each signature once per request.
* **The common case is cheap.**  Every benign GET passes through here.  Plain
  ASCII text skips the decoders, and a gate (two trie regexes over literals
  of which every match of every signature contains one) rules most texts out
  before any individual signature runs.
* **Bounded and total.**  At most ``VALIDATOR_MAX_BYTES`` characters of each
  part (the query string, the body, a header, the cookies) are scanned, and
  :data:`REQUEST_BUDGET_PARTS` times that for the whole request.  Every regex
  is linear on the input: bounded gaps, and no loop that can match the same
  text in two ways — :mod:`smartlayer.detectors.payload.regex_safety` audits the built-in
  signatures (in the tests) and ``VALIDATOR_EXTRA_PATTERNS`` (an unsafe one
  is never run; system check E012).  Nothing here raises: a bug is reported
  through :func:`smartlayer.state.failures.report_failure` and the partial result
  returned, so the validator fails open rather than taking the site down.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ...conf import DEFAULTS, derived, sl_settings
from ...profile.shapes import request_params
from .body import BINARY_PREFIXES, BINARY_TYPES, scannable_body
from .extra import _report_unused, compile_extra_patterns, extra_patterns  # noqa: F401 - the module's face for tests
from .normalise import _CLIPPED, _MARKER_NAMES, _as_text, _normalise
from .signatures import _BY_NAME, _GATE_SYMBOLS, _GATE_WORDS, _REGEX_SIGNATURES, SIGNATURES, Signature  # noqa: F401

__all__ = [
    "ScanResult",
    "scan_parts",
    "scan_request",
    "scan_text",
]


@dataclass(slots=True)
class ScanResult:
    """What the scan found; read by the middleware, the log and the LLM prompt.

    A signature found in two parts is listed twice (``x@query``, ``x@cookie``)
    but counted once: ``score`` measures how many kinds of evidence there are,
    not how often an attacker repeated the same string.
    """

    score: int = 0                                      # sum of weights of distinct signatures
    hits: list[str] = field(default_factory=list)       # "name@location", heaviest first
    excerpt: str = ""                                   # normalised text around the first hit
    truncated: bool = False                             # input beyond VALIDATOR_MAX_BYTES left unscanned
    skipped: list[str] = field(default_factory=list)    # "part:reason" for parts not scanned
    params: list[list[str]] | None = field(default=None, compare=False)  # [where, name, shape] (the log's)


@dataclass(frozen=True, slots=True)
class _Config:
    max_bytes: int
    headers: dict[str, str]                 # lower-case header name → location label
    meta_keys: tuple[tuple[str, str], ...]  # (lower-case header name, request.META key)
    scan_cookies: bool
    extra: tuple[Signature, ...]
    #: header name as sent → label ("" = not scanned); saves a lower() per header per request
    header_labels: dict[Any, str] = field(default_factory=dict)

    def label_for(self, name: Any) -> str:
        label = self.headers.get(name.lower().replace("_", "-"), "") if isinstance(name, str) else ""
        if len(self.header_labels) < 512:     # bounded: clients choose header names
            self.header_labels[name] = label
        return label


def _meta_key(header: str) -> str:
    key = header.upper().replace("-", "_")
    return key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key


def _header_names(value: Any) -> list[str]:
    """``VALIDATOR_SCAN_HEADERS`` as lower-case names (a lone string is one name)."""
    if isinstance(value, str):
        value = [value]
    elif not isinstance(value, (list, tuple, set, frozenset)):
        return []
    return list(dict.fromkeys(str(n).strip().lower().replace("_", "-") for n in value))


@derived
def _config() -> _Config:
    """Everything read from the settings, once per settings generation.

    Values of the wrong type fall back to something sensible instead of
    raising on every request; the system checks report them.
    """
    try:
        max_bytes = max(0, int(sl_settings.VALIDATOR_MAX_BYTES))
    except (TypeError, ValueError):
        max_bytes = DEFAULTS["VALIDATOR_MAX_BYTES"]
    lower = _header_names(sl_settings.VALIDATOR_SCAN_HEADERS)
    extra = extra_patterns()
    _report_unused(extra)
    return _Config(
        max_bytes=max_bytes,
        headers={n: f"header:{n}" for n in lower},
        meta_keys=tuple((n, _meta_key(n)) for n in lower),
        scan_cookies=bool(sl_settings.VALIDATOR_SCAN_COOKIES),
        extra=extra.signatures,
    )


# ── the scan ───────────────────────────────────────────────────────────────

_EXCERPT_CHARS = 500
_EXCERPT_BEFORE = 120
#: Texts per part scanned one by one; the rest are joined into one text, so
#: a body of 30 000 one-letter fields costs 251 scans, not 30 000.
_MAX_TEXTS_PER_PART = 250
#: What one request may cost: this many parts' worth of ``VALIDATOR_MAX_BYTES``,
#: all parts together (query, body, headers, cookies).  Each part alone stops
#: at ``VALIDATOR_MAX_BYTES``; without a total, 64 KiB in the query, the body,
#: every scanned header and the cookies made a request cost ten times a part.
REQUEST_BUDGET_PARTS = 2


def _wsgi_text(value: Any) -> str:
    """WSGI and ASGI hand Django the query string as bytes decoded as latin-1."""
    if not isinstance(value, str):
        return _as_text(value)
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:        # already real text (a caller passed str), keep it
        return value


def _parse_content_type(content_type: str) -> tuple[str, str]:
    """(media type, charset) of a Content-Type header, both lower-case."""
    media, _, params = content_type.partition(";")
    charset = ""
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    return media.strip().lower(), charset


def _decode_body(body: bytes, charset: str) -> str:
    if charset and charset not in ("utf-8", "utf8"):
        try:
            return body.decode(charset, errors="replace")
        except (LookupError, ValueError, TypeError):
            pass
    return body.decode("utf-8", errors="replace")


def _json_strings(text: str) -> list[str] | None:
    """Keys and string values of a JSON document, or None if it is not JSON."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return None
    strings: list[str] = []
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            strings.append(item)
        elif isinstance(item, dict):
            for key, value in item.items():
                strings.append(key)
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return strings


class _Scan:
    """Collects the evidence of one request, part by part."""

    __slots__ = ("cfg", "budget", "score", "seen", "labels", "hits", "excerpt", "truncated", "skipped")

    def __init__(self, cfg: _Config) -> None:
        self.cfg = cfg
        self.budget = cfg.max_bytes * REQUEST_BUDGET_PARTS   # characters left to scan in this request
        self.score = 0
        self.seen: set[str] = set()          # signature names: each counts once per request
        self.labels: set[str] = set()        # "name@location" already listed
        self.hits: list[tuple[int, str]] = []
        self.excerpt = ""
        self.truncated = False
        self.skipped: list[str] = []

    # evidence
    def _hit(self, sig: Signature, location: str, text: str, position: int) -> None:
        label = f"{sig.name}@{location}"
        if label in self.labels:
            return
        self.labels.add(label)
        self.hits.append((sig.weight, label))
        if sig.name not in self.seen:
            self.seen.add(sig.name)
            self.score += sig.weight
        if not self.excerpt:
            start = max(0, position - _EXCERPT_BEFORE)
            self.excerpt = text[start:start + _EXCERPT_CHARS]

    def text(self, raw: str, location: str, *, form: bool = False, json_text: bool = False) -> None:
        """Normalise one text and match every signature against it, within the request's budget.

        The budget is charged the longer of the raw and the normalised text:
        the first is what normalising costs, the second what matching costs.
        """
        if not raw:
            return
        if len(raw) > self.budget:
            raw = raw[:self.budget]
            self.truncated = True
            if not raw:
                return
        text, markers = _normalise(raw, form=form, json_text=json_text)
        if len(text) > self.budget:
            text = text[:self.budget]
            self.truncated = True
        self.budget -= max(len(raw), len(text))
        if markers:
            if markers & _CLIPPED:
                self.truncated = True
            for bit, name in _MARKER_NAMES:
                if markers & bit:
                    self._hit(_BY_NAME[name], location, text, 0)
        self.match(text, location)

    def match(self, text: str, location: str) -> None:
        """Match every signature against one normalised text."""
        if _GATE_SYMBOLS.search(text) is not None or _GATE_WORDS.search(text) is not None:
            for sig in _REGEX_SIGNATURES:
                match = sig.regex.search(text)  # type: ignore[union-attr]
                if match is not None:
                    self._hit(sig, location, text, match.start())
        for sig in self.cfg.extra:
            match = sig.regex.search(text)  # type: ignore[union-attr]
            if match is not None:
                self._hit(sig, location, text, match.start())

    def many(self, texts: Iterable[str], location: str, *, form: bool = False) -> None:
        """Scan texts one by one, ``VALIDATOR_MAX_BYTES`` characters in all."""
        budget = self.cfg.max_bytes
        rest: list[str] = []
        for index, raw in enumerate(texts):
            if len(raw) > budget:
                raw = raw[:budget]
                self.truncated = True
                if not raw:
                    break
            budget -= len(raw)
            if index < _MAX_TEXTS_PER_PART:
                self.text(raw, location, form=form)
            else:
                rest.append(raw)
        if rest:
            self.text(" ".join(rest), location, form=form)

    def clip(self, value: str | bytes) -> Any:
        if len(value) > self.cfg.max_bytes:
            self.truncated = True
            return value[:self.cfg.max_bytes]
        return value

    def skip(self, reason: str) -> None:
        if reason not in self.skipped:
            self.skipped.append(reason)

    # parts
    def query(self, query_string: str | bytes) -> None:
        text = _wsgi_text(self.clip(query_string))
        self.many((pair for pair in text.split("&") if pair), "query", form=True)

    def body(self, body: bytes, content_type: str) -> None:
        media, charset = _parse_content_type(content_type)
        if media.startswith("multipart/"):
            self.skip("multipart:body")     # raw multipart is not parsed here: pass form_fields
            return
        if media in BINARY_TYPES or media.startswith(BINARY_PREFIXES):
            self.skip("body:binary")
            return
        text = _decode_body(bytes(self.clip(body)), charset)
        if media == "application/x-www-form-urlencoded":
            self.many((pair for pair in text.split("&") if pair), "body", form=True)
            return
        is_json = media.endswith(("/json", "+json"))
        if is_json or text.lstrip()[:1] in ("{", "["):
            strings = _json_strings(text)
            if strings is not None:
                self.many(strings, "body")
                return
        self.text(text, "body", json_text=is_json)

    def form_fields(self, fields: Mapping[str, Any]) -> None:
        pairs = (
            f"{name}={_as_text(value)}"
            for name, values in fields.items()
            for value in (values if isinstance(values, (list, tuple)) else [values])
        )
        self.many(pairs, "body")

    def headers(self, headers: Mapping[str, Any]) -> None:
        labels = self.cfg.header_labels
        for name, value in headers.items():
            label = labels.get(name)
            if label is None:
                label = self.cfg.label_for(name)
            if label and value:
                self.text(self.clip(_as_text(value)), label)

    def cookies(self, cookies: Mapping[str, Any]) -> None:
        self.many((_as_text(v) for v in cookies.values() if v), "cookie")

    def run(self, *, query_string: Any, body: Any, content_type: Any, headers: Any, cookies: Any,
            form_fields: Any) -> None:
        if query_string:
            self.query(query_string)
        if body:
            raw = body if isinstance(body, bytes) else _as_text(body).encode("utf-8", "surrogatepass")
            self.body(raw, _as_text(content_type))
        if form_fields:
            self.form_fields(form_fields)
        if headers and self.cfg.headers:
            self.headers(headers)
        if cookies and self.cfg.scan_cookies:
            self.cookies(cookies)

    def fail(self, exc: BaseException) -> None:
        """A bug, not an attack: count and log it, keep what was found."""
        from ...state.failures import report_failure

        self.skip("error:internal")
        report_failure("payload_scan", f"{type(exc).__name__}: {exc}")

    def result(self) -> ScanResult:
        if not self.hits:
            return ScanResult(0, [], "", self.truncated, self.skipped)
        ordered = sorted(range(len(self.hits)), key=lambda i: -self.hits[i][0])
        return ScanResult(
            score=self.score,
            hits=[self.hits[i][1] for i in ordered],
            # lone surrogates (from JSON "\\ud800") would break a log write or an LLM call
            excerpt=self.excerpt.encode("utf-8", "replace").decode("utf-8"),
            truncated=self.truncated,
            skipped=self.skipped,
        )


def _new_scan() -> _Scan:
    try:
        return _Scan(_config())
    except Exception as exc:  # the contract: never raises (settings unreadable)
        scan = _Scan(_Config(DEFAULTS["VALIDATOR_MAX_BYTES"], {}, (), True, ()))
        scan.fail(exc)
        return scan


def scan_text(text: str, location: str = "text") -> ScanResult:
    """Scan one piece of text (a log line, a field the caller extracted)."""
    scan = _new_scan()
    try:
        scan.text(scan.clip(_as_text(text)), location)
    except Exception as exc:  # the contract: never raises
        scan.fail(exc)
    return scan.result()


def scan_parts(*, query_string: str | bytes = "", body: bytes | None = None, content_type: str = "",
               headers: Mapping[str, str] | None = None, cookies: Mapping[str, str] | None = None,
               form_fields: Mapping[str, list[str]] | None = None) -> ScanResult:
    """Scan the attacker-controlled parts of a request.

    ``query_string`` is the raw (still percent-encoded) query string;
    ``body`` the raw body, read as urlencoded pairs, JSON strings or text
    according to ``content_type`` (binary media types are skipped, raw
    multipart is not parsed: pass its text fields as ``form_fields``);
    ``headers`` any mapping, of which only ``VALIDATOR_SCAN_HEADERS`` are read
    (names compared case-insensitively); ``cookies`` name → value, values
    scanned when ``VALIDATOR_SCAN_COOKIES``.
    """
    scan = _new_scan()
    try:
        scan.run(query_string=query_string, body=body, content_type=content_type, headers=headers,
                 cookies=cookies, form_fields=form_fields)
    except Exception as exc:  # the contract: never raises
        scan.fail(exc)
    return scan.result()


# ── Django requests ────────────────────────────────────────────────────────

def scan_request(request: Any) -> ScanResult:
    """Scan a Django ``HttpRequest``: query string, body, headers, cookies.

    The body is read only when there is one worth scanning, at most
    ``VALIDATOR_MAX_BYTES`` of it, and left for the view to read in full
    (:mod:`smartlayer.detectors.payload.body`).
    """
    scan = _new_scan()
    try:
        meta = request.META
        content_type = _as_text(meta.get("CONTENT_TYPE", ""))
        headers = {name: meta[key] for name, key in scan.cfg.meta_keys if key in meta}
        cookies = request.COOKIES if scan.cfg.scan_cookies else None
        try:
            body = scannable_body(request, scan.cfg.max_bytes)
        except OSError:                                # the client went away mid-body
            scan.skip("body:unreadable")
            body = None
        if body is not None:
            for reason in body.skipped:
                scan.skip(reason)
            scan.truncated |= body.truncated
        query = meta.get("QUERY_STRING", "")
        scan.run(query_string=query, body=body and body.raw, content_type=content_type,
                 headers=headers, cookies=cookies, form_fields=body and body.fields)
        params = request_params(query, body and body.raw, content_type, body and body.fields)
    except Exception as exc:  # the contract: never raises
        scan.fail(exc)
        params = None
    result = scan.result()
    result.params = params
    return result
