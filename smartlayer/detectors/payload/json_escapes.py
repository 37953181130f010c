"""A JSON text's thousands of ``\\uXXXX`` escapes decoded by the ``json`` module's C string scanner.

Why: a JSON body of random characters, or of any non-Latin text, as ``json.dumps`` writes it is a
``\\uXXXX`` escape a character (and a surrogate pair for each emoji).  When the body is cut at
``VALIDATOR_MAX_BYTES`` it no longer parses, and its raw text goes through the normaliser, whose escape
decoder (:func:`.decoders._decode_escapes`) splits the text at every escape, sorts and joins thousands of
distinct tokens: ~5 ms of a 64 KiB body.  The same decoding is one call to the C scanner once the text
is rewritten into a JSON string that means the same thing:

* every backslash that does not start an escape the decoder knows (``\\u`` and four hex digits,
  ``\\x`` and two, either case) is doubled, so it stays a backslash;
* ``\\xXX`` becomes ``\\u00XX`` and ``\\UXXXX`` becomes ``\\uXXXX``, which JSON spells that way;
* a quote becomes ``\\"``;
* what the scanner leaves of a lone surrogate (a character the decoder makes U+FFFD) is then replaced.

Only for ASCII text (a JSON encoder's default output) with at least :data:`MANY_ESCAPES` ``\\u``; the
output is the decoder's own (``tests/test_payload_json_escapes.py`` compares them on generated texts),
and a JSON text's escapes set no marker (:func:`.decoders._decode_once`), so nothing else is needed.
"""
from __future__ import annotations

import re
from json.decoder import scanstring

#: Fewer ``\\u`` than this and the decoder's own path is as cheap (few tokens to split at).
MANY_ESCAPES = 64
#: A backslash that starts no escape the decoder knows: kept as a backslash (doubled for the scanner).
_STRAY = re.compile(r"\\(?![uU][0-9a-fA-F]{4}|[xX][0-9a-fA-F]{2})")
_UPPER_U = re.compile(r"\\U(?=[0-9a-fA-F]{4})")
_HEX_BYTE = re.compile(r"\\[xX](?=[0-9a-fA-F]{2})")
_SURROGATE = re.compile("[\ud800-\udfff]")


def json_unescaped(text: str) -> str | None:
    """``text`` with its ``\\uXXXX``/``\\xXX`` escapes decoded as the normaliser's escape decoder decodes
    them, or None when this path does not apply (not ASCII, or fewer than :data:`MANY_ESCAPES` escapes)."""
    if text.count("\\u") < MANY_ESCAPES or not text.isascii():
        return None
    if "\\U" in text:
        text = _UPPER_U.sub(r"\\u", text)
    if "\\x" in text or "\\X" in text:
        text = _HEX_BYTE.sub(r"\\u00", text)
    text = _STRAY.sub(r"\\\\", text)
    if '"' in text:
        text = text.replace('"', '\\"')
    try:
        chars = scanstring(text + '"', 0, False)[0]
    except ValueError:              # not expected of the text as rewritten; the decoder's own path then
        return None
    if not chars.isascii() and _SURROGATE.search(chars):
        chars = _SURROGATE.sub("\ufffd", chars)
    return chars
