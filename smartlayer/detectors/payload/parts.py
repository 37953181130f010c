"""Reading the parts of a request as text: the query string as WSGI hands it, body charsets, JSON strings.

:class:`PartReader` is the half of a scan (:class:`.scan._Scan`) that turns
each part of a request — path, query string, body, form fields, headers,
cookies — into the texts it normalises and queues; the other half (in
:mod:`.scan`) normalises, matches and keeps the evidence.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from . import held as _held
from .body import SNIFF_BYTES, UNDECLARED, decode_body, left_as_binary
from .normalise import _as_text, _unquote, has_hex_prefix, needs_work
from .sigbase import BODY, HEADER, PATH, QUERY


def wsgi_text(value: Any) -> str:
    """WSGI and ASGI hand Django the query string as bytes decoded as latin-1."""
    if not isinstance(value, str):
        return _as_text(value)
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:        # already real text (a caller passed str), keep it
        return value


def parse_content_type(content_type: str) -> tuple[str, str]:
    """(media type, charset) of a Content-Type header, both lower-case."""
    media, _, params = content_type.partition(";")
    charset = ""
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    return media.strip().lower(), charset


#: The JSON spelling of the scalars Python spells otherwise (a number reads the same either way).
_JSON_WORDS = {None: "null", True: "true", False: "false"}


def json_strings(text: str) -> list[str] | None:
    """The texts of a JSON document, one a line, or None if it is not JSON.

    A member whose value is a string, a number, true, false or null is read as a form's field is,
    ``name=value``: a name is no value, and read alone a key such as ``id`` or ``pwd`` was a command
    a probe sends (every API body with an ``id`` scored as a probe).  A member holding an object or
    an array gives its name alone, then what it holds; strings in an array are read alone.
    """
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
                if isinstance(value, str):
                    strings.append(f"{key}={value}")
                elif isinstance(value, (dict, list)):
                    strings.append(key)
                    stack.append(value)
                else:               # a number, or true, false, null as JSON spells them
                    strings.append(f"{key}={_JSON_WORDS[value] if value is None or value.__class__ is bool else value}")
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return strings


def kind_of(location: str) -> str:
    """The kind of location a label names, for the signatures' scopes (remembered in :data:`LOCATION_KINDS`)."""
    found = LOCATION_KINDS.get(location)
    if found is not None:
        return found
    if location.startswith("header:"):
        found = HEADER
    elif location in (PATH, BODY):
        found = location
    else:
        found = QUERY       # query, cookie, and text handed to scan_text
    if len(LOCATION_KINDS) < 512:    # header labels as configured, and what callers of scan_text name
        LOCATION_KINDS[location] = found
    return found


KINDS = {PATH: PATH, QUERY: QUERY, BODY: BODY, "cookie": QUERY, "text": QUERY}
#: The kinds of the locations met so far: one lookup per text on the request path (a header label
#: went through :func:`kind_of` every time, a call and a ``startswith``).
LOCATION_KINDS: dict[str, str] = dict(KINDS)

#: Headers whose value starts with the origin of the page the browser was on.
_PAGE_URL_HEADERS = frozenset(("header:referer", "header:origin"))
#: ``scheme://host[:port]`` with a plain host (no user part, nothing a host cannot hold).
_ORIGIN = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,15}://[A-Za-z0-9.\-]{1,253}(?::[0-9]{1,5})?(?=/|$)")


def _without_origin(text: str) -> str:
    """A Referer or Origin without its origin: the server never fetches the page a visitor
    came from, so ``http://localhost:8000/`` (every developer's site) or an intranet host
    there is no SSRF; what follows the origin is scanned as before."""
    m = _ORIGIN.match(text)
    return text[m.end():] if m else text

def collapsed(pair: str) -> str:
    """``" ".join(pair.split())`` of ASCII text whose only whitespace is the space (:func:`.normalise.needs_work`
    false): a comment ending in a space was split into its words and joined again, for one space less."""
    if "  " in pair:
        return " ".join(pair.split())
    return pair.strip(" ") if pair[:1] == " " or pair[-1:] == " " else pair


def pairs_collapsed(pairs: list[str]) -> list[str]:
    """Each of ``pairs`` (ASCII, their only whitespace the space) lowered and :func:`collapsed`.

    Thousands of pairs (a query string of 7,000 ``&#39; or ``: the ``&`` of an entity is a separator
    there) cost a Python call each, ~2 ms: more than :data:`MAX_RESCANNED` are joined and, when no
    pair holds a run of spaces, the one space a pair may start or end with is dropped by C-level
    passes over the joined text.  A few are done one by one (cheaper than joining them).
    """
    if len(pairs) > MAX_RESCANNED:
        joined = "\n".join(pairs).lower()          # no pair holds a line break (no whitespace but spaces)
        if "  " not in joined:
            return joined.strip(" ").replace(" \n", "\n").replace("\n ", "\n").split("\n")
    return [collapsed(pair.lower()) if " " in pair else pair.lower() for pair in pairs]


#: Texts of one kind matched one by one after a hit; beyond that, once per location (a form of
#: 2,000 fields each carrying an attack would otherwise cost 2,000 passes).
MAX_RESCANNED = 64
#: Texts (raw or normalised) and form parts up to this long are remembered when found clean (scan._CLEAN).
CLEAN_TEXT_CHARS = 256
#: Whole form parts (a query string, an urlencoded body) up to this long are remembered when found clean,
#: with their decoded pairs: a form posted again (a login, a search, a poll's answer) costs a lookup, not
#: its decoding and a pass over its KiB.  Fewer of them are kept (scan._CLEAN_LONG_MAX).
FORM_MEMORY_CHARS = 2048


class PartReader:
    """The parts of a request as texts for a scan (mixed into :class:`.scan._Scan`, whose state it uses)."""

    __slots__ = ()
    cfg: Any
    budget: int
    truncated: bool
    decoded_forms: int
    remembered: int
    remembered_forms: int
    decoded: dict[str, tuple[str, list[str]]]
    known_parts: list[str]
    listed: list[str]
    engines: dict[Any, Any]

    def form_part(self, text: str, location: str) -> None:
        """The ``name=value&…`` pairs of a query string or an urlencoded body.

        A part with nothing to decode but ``+`` (most query strings, many
        bodies) is checked once as a whole and its pairs queued with their
        spaces collapsed — what the decoders would return — instead of pair
        by pair through them (thousands of pairs cost ms that way).

        A part decoded whole is kept in :attr:`decoded` (location → (text,
        its decoded ``name=value`` pairs)) when splitting the decoded text at
        ``&`` gives each pair's own decoding (no ``%26``): split once, here,
        and read both by the scan (lowered pair by pair) and by the site
        profile's parameter shapes
        (:func:`smartlayer.profile.params.request_params`), which neither
        decode nor split the part a second time.
        """
        if len(text) <= min(self.cfg.max_bytes, self.budget):
            key = None
            if len(text) <= FORM_MEMORY_CHARS:               # a whole form part seen before, found clean
                key = (self.engine(KINDS[location]), text, 2)
                known = self.known_pairs(key)
                if known is not None:
                    self.budget -= len(text)
                    self.remembered += 1
                    self.known_parts.append(location)
                    if "%" not in text:
                        self.decoded[location] = (text, (text.replace("+", " ") if "+" in text else text).split("&"))
                    elif known is not True:                  # its decoded pairs, kept with it
                        self.decoded[location] = (text, known)
                    return
            if "%" in text:         # needs work (needs_work() would say so): decoded whole if it can be
                if self.escaped_form(text, location, key):
                    return
                spaced = ""
            else:
                spaced = text.replace("+", " ") if "+" in text else text
                split = spaced.split("&")                   # each pair's own decoding: nothing but "+" to decode
                self.decoded[location] = (text, split)
            # as _is_plain, but for entities (a pair never holds a raw "&", so none is decoded in one) and spaces
            if spaced and spaced.isascii() and not needs_work(spaced) and not has_hex_prefix(spaced):
                self.budget -= len(text)
                self.queue_pairs(pairs_collapsed(split), location, key)
                return
        self.many((pair for pair in text.split("&") if pair), location, form=True)

    def escaped_form(self, text: str, location: str, key: tuple[Any, str, int] | None = None) -> bool:
        """A form part whose only encoding is one round of ``%XX`` (and ``+``), decoded in one call.

        A typical form body (``O%27Reilly``, ``a%2Cb``) went pair by pair
        through the decoders, which cost more than the rest of its scan.
        Decoding the whole part at once gives each pair's own decoding when
        no escape stands for the separator (``%26``); the pairs are then
        queued with their spaces collapsed, as :func:`.normalise._normalise`
        returns them, provided the decoded text is what a second round would
        leave alone: ASCII (overlong and invalid UTF-8 decode to U+FFFD),
        no ``%`` (double encoding, ``%u``), no backslash, no control
        character (decoded line breaks), no ``0x`` (every ``&`` left is a separator: no entity
        can start in a pair).  Anything
        else, and an encoded dot (a marker), returns False: the caller then
        takes the pair-by-pair path, which records what it finds.
        """
        kept = _held._FORMS.get(text) if key is not None else None     # decoded so before (not found clean)
        if kept is not None:
            self.budget -= len(text)
            self.decoded_forms += 1
            self.remembered_forms += 1
            self.known_parts.append(location)        # and its shapes are remembered (.params._PARTS)
            split, pairs, lines, count = kept
            self.decoded[location] = (text, split)
            if count > 1 or len(pairs) > MAX_RESCANNED:    # as queue_pairs() queues them (a key: no flush among them)
                self.queue(lines, location, key, len(pairs) <= MAX_RESCANNED)
                return True
        else:
            if "%26" in text:
                return False
            decoded = _unquote(text.replace("+", " ") if "+" in text else text)
            if not decoded.isascii() or needs_work(decoded):
                return False
            if has_hex_prefix(decoded):
                return False
            # an encoded dot decodes to a dot (its other spellings leave "%" or non-ASCII, refused above; so
            # does a slash escaped twice after a climb, "..%252f"): a substring test is cheaper than the
            # marker's pattern.  A browser's "..%2F" is a typed "../", no marker in a form (normalise)
            if "%2e" in text or "%2E" in text:
                return False
            self.budget -= len(text)
            self.decoded_forms += 1
            split = decoded.split("&")                   # no "%26": the decoded text's "&" are the text's own
            self.decoded[location] = (text, split)
            pairs = pairs_collapsed(split)
            if key is not None and _held.keep_form(text, split, pairs):    # met twice (and short enough)
                self.known_parts.append(location)    # its shapes are remembered from now on, as its decoding
        self.queue_pairs(pairs, location, key)
        return True

    def many(self, texts: Iterable[str], location: str, *, form: bool = False) -> None:
        """Scan the texts of one part (fields, pairs, cookies), ``VALIDATOR_MAX_BYTES`` characters in all.

        A body of more than :data:`MAX_RESCANNED` fields (a JSON document,
        a long form) is normalised as one text, a field a line
        (:meth:`.joined.JoinedFields.joined_fields`): 2,000 fields cost 2,000 passes
        through the normaliser otherwise, milliseconds of Python calls.
        """
        budget = self.cfg.max_bytes
        raws = []
        for raw in texts:
            if len(raw) > budget:
                raw = raw[:budget]
                self.truncated = True
                if not raw:
                    break
            budget -= len(raw)
            raws.append(raw)
        if len(raws) > MAX_RESCANNED and location == BODY and self.joined_fields(raws, location, form):
            return
        for raw in raws:
            self.text(raw, location, form=form)

    def joined_fields(self, raws: list[str], location: str, form: bool) -> bool:
        """Normalise many fields as one text (the scan's; see :meth:`.joined.JoinedFields.joined_fields`)."""
        return False

    def clip(self, value: str | bytes) -> Any:
        if len(value) > self.cfg.max_bytes:
            self.truncated = True
            return value[:self.cfg.max_bytes]
        return value

    def path(self, path: str | bytes) -> None:
        """The URL path: traversal, restricted files and anything else a client writes there."""
        self.text(wsgi_text(self.clip(path)), PATH)

    def query(self, query_string: str | bytes) -> None:
        self.form_part(wsgi_text(self.clip(query_string)), "query")

    def body(self, body: bytes, content_type: str) -> None:
        media, charset = parse_content_type(content_type)
        if media.startswith("multipart/"):
            self.skip("multipart:body")     # raw multipart is not parsed here: pass form_fields
            return
        if left_as_binary(media, bytes(body[:SNIFF_BYTES]) if media == UNDECLARED else None):
            self.skip("body:binary")
            return
        text = decode_body(bytes(self.clip(body)), charset)
        if media == "application/x-www-form-urlencoded":
            self.form_part(text, "body")
            return
        is_json = media.endswith(("/json", "+json"))
        if is_json or text.lstrip()[:1] in ("{", "["):
            strings = json_strings(text)
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
        limit = self.cfg.max_bytes
        for name, value in headers.items():
            label = labels.get(name)
            if label is None:
                label = self.cfg.label_for(name)
            if label and value:
                # UTF-8 read as latin-1, as the path and query string; most values are short ASCII, which
                # neither wsgi_text() nor clip() changes (two calls saved per header, on every request)
                text = value if isinstance(value, str) and value.isascii() else wsgi_text(value)
                if label in _PAGE_URL_HEADERS:
                    text = _without_origin(text)
                self.text(text if len(text) <= limit else self.clip(text), label)

    def cookies(self, cookies: Mapping[str, Any]) -> tuple[Any, tuple[Any, ...], int] | None:
        """The cookie values; the key they are remembered by when the request finds them clean (see :meth:`run`).

        A browser sends the same cookies with every request: their values met before, found clean, cost one
        lookup as a whole (a tuple of the values, up to :data:`FORM_MEMORY_CHARS` characters), where a lookup
        per value cost more than their matching had (a call and a key each).
        """
        values = tuple(cookies.values())
        key = None
        if len(values) > 1:
            try:
                size = sum(map(len, values))
                if size <= FORM_MEMORY_CHARS and size <= self.cfg.max_bytes and size <= self.budget:
                    key = (self.engines.get(QUERY) or self.engine(QUERY), values, 3)
                    if self.known(key):
                        self.budget -= size
                        self.remembered += 1
                        return None
            except TypeError:                         # a value with no length or no hash: read as before
                key = None
        # a list, and short ASCII values (most) as they are, as headers() does: a generator's frame and a
        # wsgi_text() call per cookie cost as much as the lookups that find them remembered clean
        self.many([v if isinstance(v, str) and v.isascii() else wsgi_text(v) for v in values if v], "cookie")
        return key

    def run(self, *, query_string: Any, body: Any, content_type: Any, headers: Any, cookies: Any,
            form_fields: Any, path: Any = "") -> None:
        if path and path != "/":
            self.path(path)
        if query_string:
            self.query(query_string)
        if body:
            raw = body if isinstance(body, bytes) else _as_text(body).encode("utf-8", "surrogatepass")
            self.body(raw, _as_text(content_type))
        if form_fields:
            self.form_fields(form_fields)
        if headers and self.cfg.headers:
            self.headers(headers)
        key = self.cookies(cookies) if cookies and self.cfg.scan_cookies else None
        self.flush()
        # every cookie value read and matched, none holding anything: the values are remembered clean together,
        # once sent twice (a new session in every request would only fill the memory and empty it)
        # ("@cookie" in the labels joined: one C call; a label of another location holding it only errs towards
        # not remembering)
        if key is not None and not (self.skipped or self.truncated or self.stopped) and not (
                self.listed and "@cookie" in "\n".join(self.listed)) and _held.met_before(_held._COOKIES_MET, hash(key)):
            self.remember(QUERY, [(None, key)])
