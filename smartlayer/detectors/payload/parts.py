"""Reading the parts of a request as text: the query string as WSGI hands it, body charsets, JSON strings."""
from __future__ import annotations

import json
from typing import Any

from .normalise import _as_text


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


def decode_body(body: bytes, charset: str) -> str:
    if charset and charset not in ("utf-8", "utf8"):
        try:
            return body.decode(charset, errors="replace")
        except (LookupError, ValueError, TypeError):
            pass
    return body.decode("utf-8", errors="replace")


def json_strings(text: str) -> list[str] | None:
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
