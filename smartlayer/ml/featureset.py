"""The feature set's vocabulary: its version, the names of the vector's entries and the columns training reads.

Split from :mod:`.features`, which computes the vector: what the entries are
(and why each is there) is read by the store, the registry, the admin, the
notebooks and the tells, none of which need the extractor.  Adding, removing
or reordering a name is a new feature set (bump :data:`FEATURE_SET_VERSION`).
"""
from __future__ import annotations

#: Bump whenever a feature's definition, order or scaling changes: the store
#: refuses to load a model trained on another feature set.
FEATURE_SET_VERSION = "fs3"

FEATURE_NAMES: tuple[str, ...] = (
    # how fast — the client's own requests (page views, calls, forms; not its pages' assets and
    # beacons, whose pace is the site's script's), over 10 s, 60 s and the window; all of them in 24 h
    "count_10s",                # own requests in the last 10 s (the current one included)
    "count_60s",                # ... 60 s
    "count_window",             # ... in the window
    "count_24h",                # every arrival in 24 h (hour buckets; the grace count)
    # what — breadth of the own requests of the last 60 s, and what the site does not have
    "distinct_paths_60s",
    "path_entropy_60s",         # Shannon entropy (bits) of their path distribution
    "sequential_run_60s",       # longest run of consecutive numeric IDs not reached by the site's links
    "sensitive_hits",           # window arrivals on grey_sensitive_paths
    "unknown_paths",            # window arrivals on paths the site profile never saw served
    # the site's request classes, counted apart over the window
    "page_views",               # GET/HEAD of a page (not an asset, a beacon, an API call or an unknown path)
    "assets",                   # the pages' files and images
    "api_calls",                # API / XHR endpoints
    "assets_per_page",          # (-1: no page view to have them)
    "pages_with_assets",        # share of page views followed by an asset before the next page (-1: none)
    "bare_pages",               # page views followed by no asset before the next page (a count: its tail isolates)
    "pages_with_telemetry",     # share of page views followed by a beacon before the next page (-1: none)
    "silent_pages",             # page views followed by no beacon (a count; on a site whose pages send
    #                             none it is every page, learned as normal there)
    # page-view pacing: how people read (seconds to minutes, irregular) vs a task list (seconds, even)
    "log_page_gap_mean_s",
    "page_gap_cv",              # std / mean of the gaps between page views
    "log_page_gap_min_s",
    "log_dwell_s",              # time on the page before the current request
    # the tells of a script working down a list, as counts that grow with the evidence (an isolation
    # tree isolates a count's upper tail fast; a share of two page views says little)
    "hurried_direct_pages",     # page views without a referer, opened < HURRIED_GAP s after the previous one
    "hurried_bare_pages",       # page views left for the next < HURRIED_GAP s later, without fetching an asset
    "even_page_gaps",           # consecutive page gaps within EVEN_RATIO of each other (a fixed wait ± jitter)
    # navigation: followed the site's links (same-site referer) or typed/jumped to each URL
    "direct_pages",             # page views without any referer: typed, bookmarked, or opened by a script
    "navigated_share",          # page views with a referer of this site (-1: no page view)
    "chain_depth",              # longest run of consecutive page views each reached from the site
    "page_breadth",             # distinct pages / page views (-1: no page view)
    "share_head",
    "robots_txt",               # fetched /robots.txt in the last day
    "log_session_s",            # since the session began (the last pause of SESSION_GAP between page views)
    # how it went — finished requests in the window (blocked ones left out)
    "share_4xx",
    "share_404",
    "share_5xx",
    "share_blocked",            # outcomes smartlayer itself refused
    # rhythm — gaps between the client's own consecutive requests in the window
    "log_gap_mean_s",
    "gap_cv",                   # std / mean: ~0 for a metronome script, ~1 for people
    # how — method mix of its own requests, and who the client says it is
    "share_post",
    "share_other_methods",      # neither GET, HEAD nor POST (PUT, DELETE, OPTIONS, ...)
    "suspicious_ua",            # current user agent is empty or a known tool
    "authenticated",
)
N_FEATURES = len(FEATURE_NAMES)

#: Columns :func:`frame_to_vectors` needs (RequestLog-like, ``ts`` in unix seconds).
#: ``referer_host`` is optional: without it no request counts as navigated.
FRAME_COLUMNS: tuple[str, ...] = (
    "ts", "client_key", "method", "path", "status_code", "response_time_ms",
    "user_agent", "authenticated", "was_blocked",
)

#: Optional columns: the referer's host (what the request log keeps of the referer).
OPTIONAL_COLUMNS: tuple[str, ...] = ("referer_host",)
