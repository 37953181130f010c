"""System checks: bad settings and risky deployments get a clear message at start-up, not a 500 later.

Every id means exactly one problem — users silence checks by id
(``SILENCED_SYSTEM_CHECKS``), so an id that covered two problems would
silence both.  :data:`CATALOGUE` is the list; the README's checks table is
generated from the same wording and a test keeps the two, and the ids the
code can emit, in step.

* :mod:`.settings` — the ``SMART_MIDDLEWARE`` dict itself;
* :mod:`.deploy` — middleware order, cache, proxies, client addresses;
* :mod:`.patterns` — ``VALIDATOR_EXTRA_PATTERNS``.

May import: conf, models, and (lazily) the modules whose settings it checks.
"""
from __future__ import annotations

#: id → the one problem it reports.
CATALOGUE: dict[str, str] = {
    "E001": "SMART_MIDDLEWARE is not a dict",
    "E002": "a numeric setting is negative, zero where it must not be, or not a number",
    "E003": "ANALYSE_LOGS_AT is not \"HH:MM\"",
    "E004": "a RATE_LIMIT_PLANS route names an unknown limit type (the closest known one is suggested)",
    "E005": "TRUSTED_PROXIES, ALLOW_IPS or METRICS_ALLOW_IPS holds something that is not an IP network",
    "E006": "PLAN_ORDER or ANONYMOUS_PLAN names a plan that is not in RATE_LIMIT_PLANS",
    "E007": "a VALIDATOR_EXTRA_PATTERNS entry is not a valid signature (bad regex, missing or bad keys)",
    "E008": "MONITOR_MODE names an unknown component",
    "E009": "the cache is Django's DummyCache: nothing can be counted",
    "E010": "grey_suspicion_threshold is not below grey_hard_block_score",
    "E011": "WINDOW_BACKEND is not one of auto, local, replicated, redis",
    "E012": "a VALIDATOR_EXTRA_PATTERNS entry can backtrack super-linearly (it is not used)",
    "E013": "RATE_LIMIT_PLANS, or one plan in it, is not a dict",
    "E014": "a RATE_LIMIT_PLANS route is not a path starting with '/'",
    "E015": "a RATE_LIMIT_PLANS route's limits are not a non-empty dict",
    "E016": "a RATE_LIMIT_PLANS limit is not a whole number ≥ 0",
    "E017": "WINDOW_BACKEND 'replicated' or 'redis' without Django's RedisCache",
    "E018": "REPLICATION_GROUP is not a string",
    "E019": "CACHE_ALIAS names no entry of settings.CACHES",
    "E020": "CRAWLER_POLICY is not 'polite', 'block' or a list of user-agent tokens",
    "E021": "PROFILE_WEIGHTS is not a dict of the profile's reason codes to whole numbers ≥ 0",
    "E030": "a VALIDATOR_EXTRA_PATTERNS entry uses syntax the RE2 matching engine does not support (it is not used)",
    "E031": "VALIDATOR_PARANOIA is not 1, 2 or 3",
    "E032": "MODEL_BOUND_FACTOR or MODEL_GUARD_FACTOR is not a number above 1",
    "E033": "MODEL_TRIM_SHARE is not a share in [0, 0.5)",
    "E034": "MODEL_GUARD_CLIENT_SHARE or MODEL_GUARD_MEDIAN_QUANTILE is not a share in [0, 1)",
    "E035": "MODEL_TELL_QUANTILE is not a quantile in [0.9, 1]",
    "W001": "unknown key in SMART_MIDDLEWARE (the closest known key is suggested)",
    "W002": "smartlayer is installed but none of its middlewares is in MIDDLEWARE",
    "W003": "a smartlayer middleware comes before AuthenticationMiddleware",
    "W004": "WatchLog is not installed: nothing is logged, nothing to train on",
    "W005": "blocking with a cache that each process keeps for itself",
    "W006": "AI_API_KEY is set but AI_BASE_URL or AI_MODEL is missing",
    "W007": "the login-flood rule looks further back than the windows keep",
    "W008": "TRUSTED_PROXY_COUNT without TRUSTED_PROXIES: a client reaching the app server directly chooses "
            "its own address",
    "W009": "most recent requests come from one private or loopback address: a proxy smartlayer was not "
            "told about",
}

from . import deploy, patterns, settings  # noqa: E402,F401 - each module registers its checks
