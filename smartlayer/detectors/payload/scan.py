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
  ASCII text skips the decoders, and all of a request's texts of one kind of
  location (path, query and cookies, body, headers) are matched in one RE2
  pass (:mod:`.engine`), a text a line; only when that pass finds something
  is each text matched again on its own, to name where the hit is.
* **Long requests cost what their size allows, whatever their content.**
  The whole-table set builds a DFA state per new byte context: 64 KiB of
  diverse text (different attacks, or prose and code, a snippet a line) cost
  it 50-80 ms.  Past :data:`.engine.SET_CHARS` characters a request goes
  through RE2's prefilter (the same answer), fields matched again are
  searched only for what their pass found, and a request is matched as it
  is read, 8 KiB at a time (the first 4 KiB), and not read further once it
  blocks (``skipped``: ``scan:stopped_at_block``); a long text body is first
  normalised on its first KiB alone (:mod:`.early`).
* **Bounded and total.**  At most ``VALIDATOR_MAX_BYTES`` characters of each
  part (the query string, the body, a header, the cookies) are scanned, and
  :data:`REQUEST_BUDGET_PARTS` times that for the whole request.  RE2 is an
  automaton: matching is linear in the text whatever the pattern; the stdlib
  fallback runs only patterns the static audit
  (:mod:`smartlayer.detectors.payload.regex_safety`) shows linear, built-in
  and ``VALIDATOR_EXTRA_PATTERNS`` alike (E012; E030 for syntax RE2 refuses).
  Nothing here raises: a bug is reported through
  :func:`smartlayer.state.failures.report_failure` and the partial result
  returned, so the validator fails open rather than taking the site down.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...conf import DEFAULTS
from ...profile.pending import pending_params
from .anomalies import request_anomalies
from .body import scannable_body
from .config import _Config, _config, paranoia_level  # noqa: F401 - the module's face for tests
from .early import prefix_blocks
from .evidence import Evidence
from .extra import compile_extra_patterns, extra_patterns  # noqa: F401 - the module's face for tests
from .joined import JoinedFields
from .matching import Matcher, _has_comment
from .normalise import _MAX_FOLD_GROWTH, _as_text, _is_plain, _normalise
from .parts import CLEAN_TEXT_CHARS as _CLEAN_TEXT_CHARS
from .parts import LOCATION_KINDS as _KINDS
from .parts import PartReader
from .parts import kind_of as _kind
from .result import Hit, ScanResult
from .sigbase import BODY
from .signatures import _BY_NAME, _REGEX_SIGNATURES, SIGNATURES, Signature, engine_for  # noqa: F401

__all__ = [
    "Hit",
    "ScanResult",
    "scan_parts",
    "scan_request",
    "scan_text",
]


# ── the scan ───────────────────────────────────────────────────────────────

#: What one request may cost: this many parts' worth of ``VALIDATOR_MAX_BYTES``,
#: all parts together (query, body, headers, cookies).  Each part alone stops
#: at ``VALIDATOR_MAX_BYTES``; without a total, 64 KiB in the query, the body,
#: every scanned header and the cookies made a request cost ten times a part.
REQUEST_BUDGET_PARTS = 2


#: Normalised texts an engine found nothing in, keyed by (engine, text): a User-Agent, an Accept
#: header, ``page=2`` come back on request after request, and a pass of the engine costs more (its
#: tables are cold between requests) than the lookup.  Only a clean verdict is kept, and only the
#: engine's own: a text none of its signatures matches, on one line of a pass that matched nothing
#: or matched again alone after a pass that found something (the other fields of an attacking
#: request).  Raw texts and whole form parts are kept too, a form part with its decoded pairs, and a
#: request's cookie values together (:meth:`.parts.PartReader.cookies`).
#: Keyed by the engine object (not its id), so new settings (new engines) start afresh;
#: bounded, and cleared when full, so a client sending ever new texts costs what it did without it.
_CLEAN: dict[tuple, Any] = {}
_CLEAN_MAX = 8192
#: Of which form parts longer than :data:`.parts.CLEAN_TEXT_CHARS` (up to :data:`.parts.FORM_MEMORY_CHARS`,
#: kept with their decoded pairs): at most this many (a few MiB), listed in :data:`_CLEAN_LONG` so that
#: past them those alone are forgotten: a client posting ever new forms does not empty the memory of
#: headers and short values every few hundred requests.
_CLEAN_LONG_MAX = 256
_CLEAN_LONG: list[tuple] = []
#: The engines :data:`_CLEAN` holds verdicts of (its keys keep them alive): past a few (settings
#: reloaded with new extra patterns or levels), the memory is cleared so old engines can go.
_CLEAN_ENGINES: set[Any] = set()
_CLEAN_MAX_ENGINES = 8


class _Scan(Evidence, Matcher, JoinedFields, PartReader):
    """Collects the evidence of one request, part by part."""

    __slots__ = ("cfg", "budget", "growth", "score", "seen", "labels", "listed", "hits", "excerpt", "truncated", "skipped", "located",
                 "pending", "decoded_forms", "passes", "remembered", "remembered_forms",
                 "engines", "joined_parts", "set_chars", "candidates", "located_chars", "known_parts",
                 "pending_chars", "stopped", "decoded", "narrowed", "raw_only", "prefixed",
                 "whole", "flush_from")

    def __init__(self, cfg: _Config) -> None:
        self.cfg = cfg
        self.budget = cfg.max_bytes * REQUEST_BUDGET_PARTS   # characters left to scan in this request
        self.growth = _MAX_FOLD_GROWTH                      # characters NFKC may still add in this request
        self.score = 0
        self.seen: set[str] = set()          # signature names: each counts once per request
        self.labels: set[str] = set()        # "name@location" already listed
        self.listed: list[str] = []          # the same, in the order of hits
        self.hits: list[Hit] = []
        self.excerpt = ""
        self.truncated = False
        self.skipped: list[str] = []
        self.located = 0
        self.decoded_forms = 0               # form parts decoded in one call (escaped_form): counted for the tests
        self.passes = 0                      # engine passes of flush() (texts already known clean need none)
        self.remembered = 0                  # raw texts and form parts skipped as known clean
        self.remembered_forms = 0            # form parts not found clean, read from their decoding before (.held._FORMS)
        self.joined_parts = 0                # bodies of many fields normalised as one text (joined_fields)
        self.prefixed = 0                    # long bodies that blocked on their first lines alone (.early)
        self.set_chars = 0                   # characters matched through the engines' sets (see matched())
        self.candidates: dict[Any, list[int]] = {}   # engine → the patterns its joined pass found (flush())
        self.narrowed: set[Any] = set()      # engines of candidates whose pass went through the prefilter (match())
        self.raw_only: set[Any] = set()      # engines of candidates from a pass over SQL comments: first readings only
        self.located_chars = 0               # characters matched again to name where hits are (match())
        self.pending_chars = 0               # characters queued since the last flush (queue())
        self.flush_from = 0                  # located_chars when the last flush began (flush_at())
        self.stopped = False                 # blocked already: the texts still to come are not read (queue())
        self.engines: dict[Any, Any] = cfg.engines   # kind → engine, shared by the generation's scans (engine())
        self.pending: list[tuple[str, str, str, Any]] = []   # (kind, location, normalised text, raw key)
        self.decoded: dict[str, tuple[str, list[str]]] = {}   # form parts' decoded pairs (PartReader.form_part)
        self.known_parts: list[str] = []     # locations whose whole form part was remembered, clean or its decoding
        self.whole = None                    # the hits laid out that were the request's first (Evidence.credit)

    # texts (the evidence they make: .evidence)
    def normalised(self, raw: str, location: str, *, form: bool = False, json_text: bool = False) -> str:
        """One text normalised within the request's budget; the encoding tricks it hid become hits.

        The budget is charged the longer of the raw and the normalised text:
        the first is what normalising costs, the second what matching costs.
        """
        if not raw or self.stopped:
            return ""
        if len(raw) > self.budget:
            raw = raw[:self.budget]
            self.truncated = True
            if not raw:
                return ""
        if location == BODY and prefix_blocks(self, raw, location, json_text, form):
            return ""
        text, markers = _normalise(raw, form=form, json_text=json_text, lines=location != BODY, growth=self.growth)
        return self.account(raw, text, markers, location)

    def text(self, raw: str, location: str, *, form: bool = False, json_text: bool = False) -> None:
        """Normalise one text and queue it for matching (see :meth:`flush`).

        A plain text (nothing to decode) the engine of its kind already
        found clean costs a lookup: neither normalised nor queued.
        """
        if self.stopped:
            return
        if raw and len(raw) <= self.budget:
            key = None
            if len(raw) <= _CLEAN_TEXT_CHARS:
                kind = _KINDS.get(location) or _kind(location)
                key = (self.engines.get(kind) or self.engine(kind), raw, form)
                if key in _CLEAN:
                    self.budget -= len(raw)
                    self.remembered += 1
                    return
            if form and "+" in raw and "%" not in raw:           # "q=running+shoes": + is the only escape
                spaced = raw.replace("+", " ")
                if _is_plain(spaced, False) and spaced[-1] != " " and spaced[0] != " ":   # as the decoders leave it
                    self.budget -= len(raw)
                    self.queue(spaced.lower(), location, key)
                    return
            elif _is_plain(raw, form):                           # most headers and cookies
                self.budget -= len(raw)
                self.queue(raw.lower(), location, key)
                return
        text = self.normalised(raw, location, form=form, json_text=json_text)
        if text:
            self.queue(text, location)

    def clean_memory(self) -> dict[tuple, Any]:
        """The memory of texts found clean (:data:`_CLEAN`), read at call time so a test may swap it."""
        return _CLEAN

    def known(self, key: tuple[Any, str, int]) -> bool:
        """Whether a raw text or a form part is remembered as clean."""
        return key in _CLEAN

    def known_pairs(self, key: tuple[Any, str, int]) -> Any:
        """What is remembered of a form part found clean: its decoded pairs (see :meth:`remember`), True
        when they were not kept, None when it is not remembered."""
        return _CLEAN.get(key)

    def remember(self, kind: str, entries: list[tuple[str | None, Any]]) -> None:
        """Remember texts of ``kind`` its engine found nothing in (see :data:`_CLEAN`), and the raw
        texts and form parts they came from (a text None: the key alone, a request's cookie values)."""
        clean = _CLEAN
        engine = self.engine(kind)
        if engine not in _CLEAN_ENGINES:
            if len(_CLEAN_ENGINES) >= _CLEAN_MAX_ENGINES:
                clean.clear()
                _CLEAN_ENGINES.clear()
            _CLEAN_ENGINES.add(engine)
        if len(clean) + 2 * len(entries) > _CLEAN_MAX:
            clean.clear()
            _CLEAN_LONG.clear()
        for text, key in entries:
            if text is not None and len(text) <= _CLEAN_TEXT_CHARS and not _has_comment(text):   # comments: read two ways
                clean[(engine, text)] = True
            if key is not None:
                if (len(key[1]) if key[2] != 3 else sum(map(len, key[1]))) > _CLEAN_TEXT_CHARS:
                    if len(_CLEAN_LONG) >= _CLEAN_LONG_MAX:    # those alone are forgotten, not the short texts
                        for old in _CLEAN_LONG:
                            clean.pop(old, None)
                        _CLEAN_LONG.clear()
                    _CLEAN_LONG.append(key)
                clean[key] = self.decoded_pairs(key)

    def decoded_pairs(self, key: tuple[Any, str, int]) -> Any:
        """The decoded pairs of a form part about to be remembered clean (:attr:`decoded`), as a tuple
        shared by the requests that send the part again (read only); True for any other text."""
        if key[2] == 2:
            for text, pairs in self.decoded.values():
                if text is key[1] or text == key[1]:
                    return tuple(pairs)
        return True



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
        scan.flush()
    except Exception as exc:  # the contract: never raises
        scan.fail(exc)
    return scan.result()


def scan_parts(*, query_string: str | bytes = "", body: bytes | None = None, content_type: str = "",
               headers: Mapping[str, str] | None = None, cookies: Mapping[str, str] | None = None,
               form_fields: Mapping[str, list[str]] | None = None, path: str | bytes = "") -> ScanResult:
    """Scan the attacker-controlled parts of a request.

    ``query_string`` is the raw (still percent-encoded) query string;
    ``body`` the raw body, read as urlencoded pairs, JSON strings or text
    according to ``content_type`` (binary media types are skipped, raw
    multipart is not parsed: pass its text fields as ``form_fields``);
    ``path`` the raw (percent-encoded) URL path;
    ``headers`` any mapping, of which only ``VALIDATOR_SCAN_HEADERS`` are read
    (names compared case-insensitively); ``cookies`` name → value, values
    scanned when ``VALIDATOR_SCAN_COOKIES``.
    """
    scan = _new_scan()
    try:
        scan.run(query_string=query_string, body=body, content_type=content_type, headers=headers,
                 cookies=cookies, form_fields=form_fields, path=path)
    except Exception as exc:  # the contract: never raises
        scan.fail(exc)
    return scan.result()


# ── Django requests ────────────────────────────────────────────────────────

def _raw_path(request: Any) -> str:
    """The path as the client sent it (still percent-encoded), or Django's decoded one."""
    raw = request.META.get("RAW_URI") or request.META.get("REQUEST_URI")
    if isinstance(raw, str) and raw.startswith("/"):
        return raw.partition("?")[0]
    path = getattr(request, "path_info", "") or getattr(request, "path", "")
    return path if isinstance(path, str) else ""


def _with_filenames(body: Any) -> Mapping[str, list[str]] | None:
    """A multipart body's text fields and, scanned as their values, its file parts' names: text the client
    chose (``../../etc/passwd``, ``"><img src=x onerror=…>.jpg``), which a site may store and show."""
    if not body.filenames:
        return body.fields
    merged = {name: list(values) for name, values in (body.fields or {}).items()}
    for name, names in body.filenames.items():
        merged.setdefault(name, []).extend(names)
    return merged


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
        for name, where, excerpt in request_anomalies(request.method, content_type, meta, body and body.raw,
                                                      body and body.filenames):
            scan._hit(_BY_NAME[name], where, excerpt, 0)
        scan.run(query_string=query, body=body and body.raw, content_type=content_type,
                 headers=headers, cookies=cookies, form_fields=body and _with_filenames(body), path=_raw_path(request))
        # worked out when read (the log writer's thread, the profile for an endpoint it knows): PendingParams
        params = pending_params(query, body and body.raw, content_type, body and body.fields,
                                decoded=scan.decoded, known=scan.known_parts)
    except Exception as exc:  # the contract: never raises
        scan.fail(exc)
        params = None
    result = scan.result()
    result.params = params
    return result
