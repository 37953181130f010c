"""The request classes as characters: what the feature extractor reads a client's window as.

:func:`site_flags` sets the flag bits only the site profile can tell (the endpoint's class, where
the client came from); :data:`kind_of` / :data:`read_kind_of` turn an arrival's method and flags
into one character, so the extractor counts classes, page views and their sequences with C-level
string operations instead of a Python loop per arrival.  Memoised: a client has few distinct flag
values, a site a few dozen.
"""
from __future__ import annotations

from typing import Any

from ..request.facts import (
    FLAG_API,
    FLAG_ASSET,
    FLAG_FOREIGN_REFERER,
    FLAG_NAVIGATED,
    FLAG_OWN_ASSETS,
    FLAG_PROFILED,
    FLAG_SHARED_ASSET,
    FLAG_TELEMETRY,
    FLAG_UNKNOWN_PATH,
)

#: Flags that make a request something other than a page view.
_NOT_PAGE = FLAG_ASSET | FLAG_TELEMETRY | FLAG_API | FLAG_UNKNOWN_PATH
_PAGE_METHODS = frozenset({"GET", "HEAD"})


def site_flags(profile: Any, path: str, referer_host: str, host: str = "") -> int:
    """The flag bits only the site profile can tell (none without one): the class of the endpoint
    asked for and where the client came from.  The detector and the training frames both call this."""
    if profile is None:
        return 0
    flags = FLAG_PROFILED
    if referer_host:
        flags |= FLAG_NAVIGATED if profile.same_site(referer_host, host) else FLAG_FOREIGN_REFERER
    e = profile.endpoint(path)
    if e is None:
        return flags | FLAG_UNKNOWN_PATH
    cls = e.cls
    if cls == "telemetry":
        flags |= FLAG_TELEMETRY
    elif cls == "asset":
        flags |= FLAG_ASSET | FLAG_SHARED_ASSET if e.shared else FLAG_ASSET
    elif cls == "api":
        flags |= FLAG_API
    elif e.own_assets:
        flags |= FLAG_OWN_ASSETS
    return flags


class _Memo(dict):
    """A bounded memo of a pure function of a small key: flag values repeat (a client has a few, a
    site a few dozen), so the extractor's per-arrival lookup is a C-level ``dict`` hit; an unseen
    key is worked out by the function and kept while the memo holds fewer than 4,096."""

    __slots__ = ("_work",)

    def __init__(self, work: Any) -> None:
        super().__init__()
        self._work = work

    def __missing__(self, key: Any) -> str:
        value = self._work(key)
        if len(self) < 4096:
            self[key] = value
        return value


def _kind(key: tuple[str, int]) -> str:
    """What a ``(method, flags)`` pair is: one character of the class string.

    Page views: ``N`` reached from the site, ``R`` from another site, ``P`` without a referer;
    ``A`` an asset, ``T`` a beacon (the page's resources); ``C`` any other request of the client's
    own (an API call, a form post, an unknown path).
    """
    method, f = key
    if method in _PAGE_METHODS and not f & _NOT_PAGE:
        return "N" if f & FLAG_NAVIGATED else ("R" if f & FLAG_FOREIGN_REFERER else "P")
    if f & FLAG_ASSET:
        return "A"
    if f & FLAG_TELEMETRY:
        return "T"
    return "C"


kind_of = _Memo(_kind).__getitem__


#: The class character of a GET or HEAD by its flags (see :func:`_kind`).
read_kind_of = _Memo(lambda f: kind_of(("GET", f))).__getitem__


def _method_char(method: str) -> str:
    """A request method as one character: ``G`` GET, ``H`` HEAD, ``P`` POST, ``O`` any other.  A
    window with other methods than GET is read as one string of these (one lookup per arrival), whose
    C-level counts and translations replace a pass of string comparisons per method counted."""
    return {"GET": "G", "HEAD": "H", "POST": "P"}.get(method, "O")


method_char_of = _Memo(_method_char).__getitem__


# ── reading the class string with C-level operations ───────────────────────
# A translation of the (ASCII-encoded) string to bytes of 0/1 is a mask that itertools.compress
# takes as it is; a translation that deletes classes leaves the page views and what followed them.
OWN_MASK = bytes.maketrans(b"NRPCAT", b"\1\1\1\1\0\0")
PAGE_MASK = bytes.maketrans(b"NRPCAT", b"\1\1\1\0\0\0")
DIRECT_MASK = bytes.maketrans(b"NRP", b"\0\0\1")
ONLY_PAGES = str.maketrans("", "", "ATC")
NO_TELEMETRY = str.maketrans("", "", "TC")
NO_ASSETS = str.maketrans("", "", "AC")
PAGE_MARK = str.maketrans("NRP", "|||")
# bytes of 0xFF/0 to combine with integer bitwise operations (int.from_bytes): the page views of a
# class string, and the method characters that do not read (a POST, a PUT: never a page view)
PAGE_FF = bytes.maketrans(b"NRPCAT", b"\xff\xff\xff\0\0\0")
NOT_READ_FF = bytes.maketrans(b"GHPO", b"\0\0\xff\xff")


def _own_mark(key: tuple[str, int]) -> str:
    """What a ``(method, flags)`` pair adds to the page views' *own files* string, read by a
    version that counts a page view bare only when it fetched none of its own files (``own_assets``):
    ``|`` starts a page view whose endpoint normally fetches files of its own, ``|o`` one whose
    endpoint does not (nothing to miss), ``o`` a file of the page's own; shared files (the site's CSS,
    scripts, fonts: cached after the first page), beacons and other requests add nothing."""
    kind = kind_of(key)
    f = key[1]
    if kind in "NRP":
        return "|" if f & FLAG_OWN_ASSETS else "|o"
    if kind == "A":
        return "" if f & FLAG_SHARED_ASSET else "o"
    return ""


own_mark_of = _Memo(_own_mark).__getitem__
#: The own-files mark of a GET or HEAD by its flags (see :func:`_own_mark`).
read_own_mark_of = _Memo(lambda f: own_mark_of(("GET", f))).__getitem__
