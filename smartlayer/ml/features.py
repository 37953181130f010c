"""The model's features: one fixed, named vector per request, online and offline.

:func:`extract` is the **one** function that turns a client's window
(:class:`~smartlayer.state.windows.window.Snapshot`, the current request included) into the
vector the model scores.  The middleware calls it on the request path for
the requests :func:`scored` selects; training calls it through
:func:`smartlayer.ml.training.frames.frame_to_vectors`, which replays historical rows through the very same
:class:`~smartlayer.state.windows.window.ClientWindow` in the very same order the middleware
uses (arrival → features → outcome), with the same flag bits (:func:`site_flags`).
Online and offline vectors are therefore identical by construction, not by two
implementations kept in step.

Feature set ``fs3`` (:data:`FEATURE_NAMES`; the names say what, the comments
below say why).  "Window" means the arrivals/outcomes the snapshot holds
(``WINDOW_SECONDS`` and ``WINDOW_MAX_EVENTS`` bound it).

Why fs2: on real sessions of people and browser-automation bots, ``fs1``
could not tell a page view from an asset, an API call or a beacon, so a
site's telemetry rate decided who looked odd; what did separate bots from
people was **page-view pacing** (a task list opens a page every 2–6 s, a
reader stays seconds to minutes, irregularly), whether a page's assets were
fetched, and whether the client followed the site's links.  So fs2 counts the
site profile's request classes apart (the arrival's flag bits, set by
:func:`site_flags`), and describes the page views: their pacing, their
assets, their referers, how broad and how deep the navigation went.  Nothing
encodes the absolute date, the time of day or per-path byte counts: those
describe the site's week, not the client.  Without a site profile there are no
class bits: every GET is a page view and nobody is "navigated".

Why fs3: fs2 described those tells as shares and means, and an isolation tree picks one feature
of ~40 at a node: a task list that was odd in three features scored barely above the fast, odd,
benign readers (product clickers) odd in eight.  fs3 adds each tell as a **count that grows with
the evidence**, whose upper tail isolates fast: page views opened within :data:`HURRIED_GAP` of
the previous one without a referer or after a page whose files were never fetched, pairs of even
gaps between page views (a fixed wait plus jitter), page views that sent no beacon; and the
sequential-id run leaves out the ids reached through the site's own links at a page's pace (the
rule's :func:`~smartlayer.request.facts.probing_run`: "next product" is reading, not enumeration).

Scaling, decided by measurement (``training/experiments.py``): **counts stay
raw**, durations are ``log1p``-compressed.  An isolation tree splits a node
at a threshold drawn uniformly between the node's min and max, so a stretched
upper tail gets many splits and its members are isolated fast — and the
heavy upper tail of request counts is exactly where scrapers and floods
live.  Durations (response time, gaps, dwell, session) are ratios that
matter (2 s vs 20 s), so they keep the log.

The request path budget is a few tens of microseconds, so the code is written
for CPython speed: one ``zip(*arrivals)`` transpose, bisection for the time
spans, one ``Counter`` over the few distinct flag values, the classes as a
string (one character per arrival, C-level ``map``/``join``/``count``) whose
translations to bytes of 0/1 are the masks of page views and own requests
(``itertools.compress`` takes them as they are; ``bytes.rfind`` finds the last
pause of a session), and ``math.dist`` for the squared gaps — no per-element
Python frames, no sort where a count will do, and no pandas/NumPy on this path
(their per-call overhead is larger than the whole computation for 200 events).
Which requests are scored at all is :mod:`.selection`'s (re-exported here).
"""
from __future__ import annotations

import math
import operator
from bisect import bisect_left, bisect_right
from collections import _count_elements  # Counter's own C counting loop, without its Python __init__
from itertools import compress, islice, repeat

from ..conf import sl_settings
from ..request.facts import (
    FLAG_API,
    FLAG_ASSET,
    FLAG_AUTHENTICATED,
    FLAG_EMPTY_UA,
    FLAG_PROFILED,
    FLAG_SENSITIVE,
    FLAG_SUSPICIOUS_UA,
    FLAG_UNKNOWN_PATH,
    longest_sequential_run,
    probing_run,
)
from ..state.windows.snapshot import Snapshot
from .features_counts import gap_mean_cv, outcome_counts
from .featureset import (  # noqa: F401 - imported from here since before the split
    FEATURE_NAMES,
    FEATURE_SET_VERSION,
    FRAME_COLUMNS,
    N_FEATURES,
    OPTIONAL_COLUMNS,
)
from .kinds import (  # noqa: F401 - site_flags: the detector and the frames import it from here
    DIRECT_MASK,
    NO_ASSETS,
    NO_TELEMETRY,
    NOT_READ_FF,
    ONLY_PAGES,
    OWN_MASK,
    PAGE_FF,
    PAGE_MARK,
    PAGE_MASK,
    kind_of,
    method_char_of,
    own_mark_of,
    read_kind_of,
    read_own_mark_of,
    site_flags,
)
from .selection import past_grace, scored  # noqa: F401 - imported from here by the detector and the frames

#: A pause between page views this long (seconds) starts a new session.
SESSION_GAP = 300.0

#: A page view this soon (seconds) after the previous one was not read: a person skims now and then,
#: a task list does it page after page.
HURRIED_GAP = 10.0
#: Two consecutive gaps between page views within this ratio of each other are "even".  People's
#: reading times spread over an order of magnitude (about one pair in eight is this close); a
#: script's fixed wait plus jitter makes most pairs so.
EVEN_RATIO = 1.15

_hurried = HURRIED_GAP.__gt__
_long_pause = SESSION_GAP.__lt__
_EVEN_LOW = 1.0 / EVEN_RATIO

_log2 = math.log2


class _XLog2X(dict):
    """Memo of ``c * log2(c)`` for path counts: entropy without a log per path."""

    def __missing__(self, c: int) -> float:
        value = c * _log2(c) if c > 0 else 0.0
        if c < 1 << 16:
            self[c] = value
        return value


_xlog2x_get = _XLog2X().__getitem__
_log1p = math.log1p
_not = operator.not_
_sub = operator.sub
_truediv = operator.truediv
_DAY = 86400.0
#: The flag bits the class counts read: a flag value without any of them is not counted.
_COUNTED = FLAG_SENSITIVE | FLAG_UNKNOWN_PATH | FLAG_ASSET | FLAG_API


def extract(snap: Snapshot, own_assets: bool = False) -> list[float]:
    """The feature vector of the request that produced ``snap`` (see :data:`FEATURE_NAMES`).

    Pure: reads only the snapshot (and ``WINDOW_SECONDS`` for a window too
    short to have a gap).  Never raises on an empty window; always returns
    :data:`N_FEATURES` finite floats.

    ``own_assets`` (a version's manifest says it, training and serving alike): a page view is
    bare (``bare_pages``, ``hurried_bare_pages``) only when its endpoint normally fetches files of
    its own and it fetched none of them — the site's shared files do not count, a warm cache hides
    them (:mod:`smartlayer.profile.furnish`).  Off: any file counts, as the versions before it.
    """
    arr = snap.arrivals
    n = len(arr)
    if not n:
        return [0.0] * N_FEATURES
    now = snap.now
    window = float(sl_settings.WINDOW_SECONDS)
    # one C-level transpose instead of a Python loop per feature
    ts, methods, paths_all, flags_all = zip(*arr, strict=False)
    # the class string: one character per arrival (C-level map and join), see kinds.py; when every
    # request is a GET or HEAD (the common window) the class depends on the flags alone
    gets = methods.count("GET")
    heads = methods.count("HEAD") if gets != n else 0
    reads_only = gets + heads == n
    distinct_flags = set(flags_all)   # a client has few distinct flag values (often one)
    kinds = (read_kind_of(flags_all[0]) * n if len(distinct_flags) == 1
             else "".join(map(read_kind_of, flags_all)))
    codes = kinds.encode("ascii")
    if not reads_only:
        # what a request that does not read (a POST, a PUT) is: its class as a GET unless that is a
        # page view, then C (see kinds._kind).  The methods as one character each, and the page
        # views that did not read turned into C at once, with bitwise operations on the bytes as
        # integers: no Python step and no (method, flags) tuple per arrival
        mchars = "".join(map(method_char_of, methods))
        turn = (int.from_bytes(codes.translate(PAGE_FF), "big")
                & int.from_bytes(mchars.encode("ascii").translate(NOT_READ_FF), "big"))
        if turn:
            codes = ((int.from_bytes(codes, "big") & ~turn) | (turn & int.from_bytes(b"C" * n, "big"))
                     ).to_bytes(n, "big")
            kinds = codes.decode("ascii")
    own_mask = codes.translate(OWN_MASK) if "A" in kinds or "T" in kinds else None
    own_ts = list(compress(ts, own_mask)) if own_mask else ts
    n_own = len(own_ts)

    # ── rates of its own requests ──────────────────────────────────────────
    # arrivals are time-ordered: bisect instead of walking back
    i10 = bisect_left(own_ts, now - 10.0)
    i60 = bisect_left(own_ts, now - 60.0, 0, i10)
    n60 = n_own - i60
    own_paths = list(compress(paths_all, own_mask)) if own_mask else paths_all
    recent: dict[str, int] = {}
    _count_elements(recent, own_paths[i60:])
    distinct = len(recent)
    if distinct > 1:
        entropy = _log2(n60) - sum(map(_xlog2x_get, recent.values())) / n60
        if entropy < 0.0:  # rounding below zero for near-uniform tiny counts
            entropy = 0.0
    else:
        entropy = 0.0
    run = longest_sequential_run(recent)
    if run > 1 and "N" in kinds:
        # ids reached by following the site's own links ("next product") are reading, not enumeration:
        # the rule's definition (probing_run), so the model and the rule count the same run
        own_arr = list(compress(arr, own_mask)) if own_mask else list(arr)   # a replay snapshot is a view (a deque)
        run = probing_run(own_arr[i60:], float(sl_settings.PROFILE_PAGE_PACE))

    # ── classes: one count per distinct flag value (a client has few) ───────
    sensitive = unknown = assets = api = 0
    count = flags_all.count
    for f in distinct_flags:   # one C-level count each, of the values that set a counted bit
        if not f & _COUNTED:
            continue
        k = count(f)
        if f & FLAG_SENSITIVE:
            sensitive += k
        if f & FLAG_UNKNOWN_PATH:
            unknown += k
        elif f & FLAG_ASSET:
            assets += k
        elif f & FLAG_API:
            api += k
    profiled = flags_all[-1] & FLAG_PROFILED
    pages_only = kinds.translate(ONLY_PAGES)
    pages = len(pages_only)
    if pages == n:   # nothing but page views (every GET of a window without a site profile)
        pts = ts
        furnished = told = 0
        no_tele = kinds
        breadth = len(set(paths_all)) / pages
    elif pages:
        mask = codes.translate(PAGE_MASK)
        pts = list(compress(ts, mask))
        no_tele = kinds.translate(NO_TELEMETRY)
        furnished = no_tele.count("PA") + no_tele.count("NA") + no_tele.count("RA")
        no_assets = kinds.translate(NO_ASSETS)
        told = no_assets.count("PT") + no_assets.count("NT") + no_assets.count("RT")
        breadth = len(set(compress(paths_all, mask))) / pages
    if pages:
        with_assets = furnished / pages
        bare = pages - furnished
        with_tele = told / pages
        silent = pages - told if profiled else 0
        navigated = pages_only.count("N")
        direct = pages_only.count("P")
        # the longest run of page views each reached from the site: runs of N between P and R
        depth = max(map(len, pages_only.replace("R", "P").split("P"))) if navigated else 0
        per_page = assets / pages
        nav_share = navigated / pages
    else:
        pts = ()
        with_assets = with_tele = nav_share = breadth = per_page = -1.0
        depth = direct = bare = silent = 0
    own_after = None
    if own_assets and pages and profiled:
        # what followed each page view of its own files ('' = bare: it had files of its own to fetch)
        marks = ("".join(map(read_own_mark_of, flags_all)) if reads_only
                 else "".join(map(own_mark_of, zip(methods, flags_all, strict=False))))
        own_after = marks.split("|")[1:]
        bare = own_after.count("")

    # ── page-view pacing and the session ────────────────────────────────────
    np_ = len(pts)
    session_start = ts[0]
    if np_ >= 2:
        gaps = list(map(_sub, islice(pts, 1, None), pts))   # map stops at the shorter: no copies
        pg_mean, pg_cv = gap_mean_cv(pts, gaps)
        pg_min = max(0.0, min(gaps))
        # the session began after the last pause of SESSION_GAP between page views (looked for
        # only when there is one: max() is a fraction of a per-gap call)
        if max(gaps) > SESSION_GAP:
            session_start = pts[bytes(map(_long_pause, gaps)).rfind(1) + 1]
    else:
        pg_mean = pg_min = window
        pg_cv = 0.0
    # fs3's tells need the profile's classes: without them every GET is a "direct, bare" page view
    if np_ >= 2 and profiled:
        # what each page view was followed by: the assets before the next page view ('' = bare)
        hurried = bytes(map(_hurried, gaps))
        hurried_direct = sum(compress(pages_only[1:].encode("ascii").translate(DIRECT_MASK), hurried))
        after = own_after if own_after is not None else no_tele.translate(PAGE_MARK).split("|")[1:]
        hurried_bare = sum(compress(map(_not, after), hurried))
        if np_ >= 3:
            try:
                ratios = list(map(_truediv, gaps[1:], gaps[:-1]))
            except ZeroDivisionError:   # two page views in the same instant (a replayed log's ties)
                ratios = list(map(_truediv, gaps[1:], map(max, gaps[:-1], repeat(1e-3))))
            # pairs within EVEN_RATIO either way: 1 / EVEN_RATIO <= ratio <= EVEN_RATIO
            # counted in the sorted ratios by two bisections: a C-level sort of a few tens of floats
            # costs less than two method calls per ratio
            ratios.sort()
            even = max(0, bisect_right(ratios, EVEN_RATIO) - bisect_left(ratios, _EVEN_LOW))
        else:
            even = 0
    else:
        hurried_direct = hurried_bare = even = 0
    # the time on the page the client is on: before the current request's own page view, if it is one
    if kinds[-1] in "NRP":
        dwell = now - pts[-2] if np_ >= 2 else window
    else:
        dwell = now - pts[-1] if np_ else window

    # ── methods of its own requests ─────────────────────────────────────────
    if reads_only:
        posts = others = 0
    elif own_mask:
        own_methods = "".join(compress(mchars, own_mask))
        posts = own_methods.count("P")
        others = own_methods.count("O")
    else:
        posts = mchars.count("P")
        others = mchars.count("O")

    # ── rhythm of its own requests ──────────────────────────────────────────
    if n_own >= 2:
        if pts is own_ts:   # every own request a page view (a window without a site profile): the same gaps
            gap_mean, gap_cv = pg_mean, pg_cv
        else:
            gap_mean, gap_cv = gap_mean_cv(own_ts)
    else:
        # one request in the window: the previous one is at least a window ago
        gap_mean = window
        gap_cv = 0.0

    # ── outcomes (finished requests; the current one is not finished yet) ──
    outs = snap.outcomes
    no = len(outs)
    finished, blocked, c4xx, c404, c5xx = outcome_counts(outs) if no else (0, 0, 0, 0, 0)
    inv = 1.0 / finished if finished else 0.0
    inv_own = 1.0 / n_own if n_own else 0.0

    flags = flags_all[-1]
    robots = snap.robots_at
    return [
        float(n_own - i10),
        float(n60),
        float(n_own),
        float(snap.count_last_day()),
        float(distinct),
        entropy,
        float(run),
        float(sensitive),
        float(unknown),
        float(pages),
        float(assets),
        float(api),
        per_page,
        with_assets,
        float(bare),
        with_tele,
        float(silent),
        _log1p(pg_mean),
        pg_cv,
        _log1p(pg_min),
        _log1p(max(0.0, dwell)),
        float(hurried_direct),
        float(hurried_bare),
        float(even),
        float(direct),
        nav_share,
        float(depth),
        breadth,
        heads / n,
        1.0 if robots and now - robots < _DAY else 0.0,
        _log1p(max(0.0, now - session_start)),
        c4xx * inv,
        c404 * inv,
        c5xx * inv,
        blocked / no if no else 0.0,
        _log1p(gap_mean),
        gap_cv,
        posts * inv_own,
        others * inv_own,
        1.0 if flags & (FLAG_SUSPICIOUS_UA | FLAG_EMPTY_UA) else 0.0,
        1.0 if flags & FLAG_AUTHENTICATED else 0.0,
    ]
