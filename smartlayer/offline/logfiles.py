"""Opening an access log: a path, a file object (text or binary, gzipped or not) or any iterable of lines.

Split from :mod:`.accesslog`, which parses the lines: a ``.gz`` rotated log, a pipe from ``zcat`` and a
list of strings in a test all reach the parser as the same iterable of text lines, and a gzipped
stream is recognised by its first bytes rather than by its name (rotated logs are often renamed).
"""
from __future__ import annotations

import contextlib
import gzip
import io
import os
from collections.abc import Iterable, Iterator
from typing import IO, Union

#: What the readers accept as a log.
LogSource = Union[str, "os.PathLike[str]", IO[str], IO[bytes], Iterable[str]]


def _magic(binary: IO[bytes]) -> bytes:
    """The first two bytes of a stream, without consuming them when possible."""
    peek = getattr(binary, "peek", None)
    if peek is not None:
        return peek(2)[:2]
    if binary.seekable():
        pos = binary.tell()
        head = binary.read(2)
        binary.seek(pos)
        return head
    return b""


@contextlib.contextmanager
def _binary_lines(binary: IO[bytes]) -> Iterator[IO[str]]:
    """Text lines of a binary stream, gunzipped when it starts with the gzip
    magic (whatever the file is called).  The stream itself is left open."""
    stream: IO[bytes] = gzip.GzipFile(fileobj=binary) if _magic(binary) == b"\x1f\x8b" else binary
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace")  # type: ignore[arg-type]
    try:
        yield text
    finally:
        text.detach()
        if stream is not binary:
            stream.close()


@contextlib.contextmanager
def open_lines(source: LogSource) -> Iterator[Iterable[str]]:
    """Lines of a path, a text or binary file object, or any iterable of strings."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as raw, _binary_lines(raw) as text:
            yield text
    elif hasattr(source, "read") and isinstance(source.read(0), bytes):  # type: ignore[union-attr]
        with _binary_lines(source) as text:  # type: ignore[arg-type]
            yield text
    else:
        yield source  # type: ignore[misc]
