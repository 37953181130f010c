"""Every setting of smartlayer with its default, and why it has that value.

The one table :mod:`smartlayer.conf` merges the ``SMART_MIDDLEWARE`` dict
over; kept apart from the merging machinery because it is what an operator
reads and what most changes touch.  Nothing here reads Django's settings:
values are plain data, read at call time through ``conf.sl_settings``.
"""
from __future__ import annotations

from typing import Any

DEFAULT_SENSITIVE_PATHS = [
    "/admin", "/.env", "/.git", "/config", "/phpmyadmin", "/wp-admin",
    "/wp-login.php", "/api/token", "/api/login", "/server-status",
]

DEFAULT_SUSPICIOUS_USER_AGENTS = [
    "curl", "wget", "python-requests", "python-urllib", "go-http-client",
    "java/", "okhttp", "libwww", "httpx", "aiohttp", "scrapy", "headlesschrome",
    "phantomjs", "sqlmap", "nikto", "nmap", "masscan", "zgrab", "nuclei",
    "dirbuster", "gobuster", "wpscan",
]

DEFAULT_LOGIN_PATHS = [
    "/login", "/accounts/login", "/account/login", "/auth/login", "/user/login", "/users/sign_in",
    "/signin", "/sign-in", "/api/login", "/api/auth/login", "/api/v1/auth/login", "/admin/login",
    "/wp-login.php",
]

DEFAULT_GREY_WEIGHTS = {
    "suspicious_user_agent": 2,
    "elevated_rate": 3,
    "moderate_error_rate": 2,
    "sensitive_path": 4,
    "endpoint_scanning": 2,
    "sequential_id_probing": 5,
    "burst_after_idle": 2,
    "unauthenticated": 1,
}

DEFAULTS: dict[str, Any] = {
    # ── master switches ────────────────────────────────────────────────────
    # False turns every smartlayer middleware into a pass-through (incidents,
    # a project's own test suite).  Nothing is decided, counted or logged.
    "ENABLED": True,
    # True: every component decides and records but never blocks.  A list of
    # component names ("anomaly", "validator", "ratelimit", "ban") puts only
    # those in monitor mode.
    "MONITOR_MODE": False,
    # Django cache alias holding counters, windows and bans.
    "CACHE_ALIAS": "default",
    # Prefix of every cache key smartlayer writes.
    "CACHE_PREFIX": "sl",
    # What to do when the cache is unreachable: True serves the request
    # (logged once per interval and counted), False answers 503.
    "CACHE_FAIL_OPEN": True,
    # Seconds between two log lines about the same recurring failure.
    "FAILURE_LOG_INTERVAL": 60,
    # Where per-client windows live.  "auto": "replicated" on Django's
    # RedisCache, else "local".  "replicated": in each worker's memory, shared
    # between workers over Redis pub/sub every REPLICATION_INTERVAL (no Redis
    # round trip per request; bans are mirrored the same way).  "redis": in
    # Redis, exact at every instant, one round trip per request.  "local":
    # this process only (single-process servers, the demo).
    "WINDOW_BACKEND": "auto",
    # Seconds between two batches of window events sent to the other workers.
    "REPLICATION_INTERVAL": 0.02,
    # Workers replicate windows only with workers of the same group ("" = all
    # workers sharing the cache).  For large fleets that route each client to
    # one host: the host's name.  Bans, quotas and the model stay cluster-wide.
    "REPLICATION_GROUP": "",

    # ── who is the client ──────────────────────────────────────────────────
    # X-Forwarded-For is ignored unless one of these is set: a count of
    # proxies in front of Django, or the networks (CIDR) of trusted proxies.
    "TRUSTED_PROXY_COUNT": 0,
    "TRUSTED_PROXIES": [],
    "IPV6_PREFIX_LENGTH": 64,
    # Several people behind one address (an office NAT): an anonymous client
    # that presents the site's own session or CSRF cookie on a second request
    # is scored as a client of its own within the address, and the address's
    # flood limit grows with the number of such clients — up to this many.  A
    # cookie seen for the first time (made up, or just issued) is scored with
    # the address, so dropping or inventing cookies never helps.
    "SHARED_ADDRESS_COOKIES": True,
    "SHARED_ADDRESS_MAX_CLIENTS": 32,

    # ── exemptions ─────────────────────────────────────────────────────────
    # Path prefixes never inspected, limited or scored (still logged).
    "EXEMPT_PATHS": ["/static/", "/media/", "/favicon.ico", "/health"],
    # Client networks (CIDR) never blocked.
    "ALLOW_IPS": [],
    # Client networks (CIDR) that may read the Prometheus endpoint
    # (smartlayer.metrics.urls) without signing in as staff.
    "METRICS_ALLOW_IPS": ["127.0.0.0/8", "::1/128"],

    # ── bans ───────────────────────────────────────────────────────────────
    "BAN_TTL": 3600,                 # seconds; 0 or None bans permanently
    "BAN_AFTER_BLOCKS": 5,           # blocks within BAN_BLOCK_WINDOW → ban
    "BAN_BLOCK_WINDOW": 600,
    "BAN_SYNC_INTERVAL": 60,         # seconds between reloads of DB bans into the cache
    # Signed-in staff users are never banned and never refused by the
    # behaviour rules or the model (payload blocks still apply to them, but
    # never escalate to a ban), so operators cannot lock themselves out.
    # Automatic bans never target loopback addresses either way.
    "STAFF_EXEMPT": True,

    # ── responses ──────────────────────────────────────────────────────────
    "BLOCK_STATUS": 403,

    # ── AIAnomalyDetector (seed README keys, lower case) ───────────────────
    "grey_suspicion_threshold": 4,
    "grey_hard_block_score": 8,
    "grey_sensitive_paths": DEFAULT_SENSITIVE_PATHS,
    "grey_grace_requests": 20,
    "grey_suspicious_user_agents": DEFAULT_SUSPICIOUS_USER_AGENTS,
    "grey_weights": DEFAULT_GREY_WEIGHTS,
    "grey_elevated_rate_10s": 20,
    "grey_error_rate_percent": 40,
    "grey_scan_distinct_paths": 15,
    "grey_sequential_ids": 5,
    "grey_burst_requests_10s": 15,
    "grey_burst_max_paths": 2,
    "grey_idle_window": [1800, 2400],  # seconds ago: no request in [30 min, 40 min)
    "black_block_empty_user_agent": True,
    "black_requests_10s": 50,
    "black_error_rate_percent": 75,
    "black_error_min_requests": 10,
    # smartlayer addition — login flood (credential stuffing): this many POSTs
    # to LOGIN_PATHS within LOGIN_FLOOD_WINDOW seconds from one client bans
    # it, from the first request (no grace period).  0 turns the rule off.
    # A form login that fails answers 200, so the access log alone cannot tell
    # a failure from a success: attempts are counted, whatever the answer.
    "LOGIN_FLOOD_ATTEMPTS": 10,
    "LOGIN_FLOOD_WINDOW": 600,
    # Path prefixes of login endpoints (case-insensitive); Django's LOGIN_URL
    # is added when it is a path.
    "LOGIN_PATHS": DEFAULT_LOGIN_PATHS,
    # Declared crawlers (see smartlayer.detectors.behaviour.crawlers): "polite"
    # — one that fetched robots.txt and keeps to it is not refused for
    # crawling; "block" — every declared crawler is refused; or a list of
    # user-agent tokens allowed (as polite), every other declared crawler refused.
    "CRAWLER_POLICY": "polite",
    # What declares a crawler in a user agent (case-insensitive substrings).
    "CRAWLER_USER_AGENTS": ["bot/", "bot;", "crawler", "spider", "slurp", "bingpreview", "facebookexternalhit",
                            "duckduckbot", "yandex", "baiduspider"],
    # Cap on per-client events kept for the windows (memory bound per client).
    "WINDOW_MAX_EVENTS": 200,
    # Seconds of per-client events kept (the longest window a rule or feature reads).
    "WINDOW_SECONDS": 600,
    # Max clients tracked by the in-process window store (LRU beyond that).
    "WINDOW_MAX_CLIENTS": 50000,

    # ── AIRequestValidator ─────────────────────────────────────────────────
    "VALIDATOR_MAX_BYTES": 64 * 1024,
    "VALIDATOR_BLOCK_SCORE": 3,
    # Content-Type: the OGNL in Struts's parser (``%{(#_='multipart/form-data')…``), still sprayed by scanners;
    # X-Forwarded-For / X-Real-IP: the address an application may write to its own SQL log as sent.
    "VALIDATOR_SCAN_HEADERS": [
        "User-Agent", "Referer", "X-Forwarded-Host", "X-Original-URL",
        "X-Rewrite-URL", "X-Api-Version", "X-Requested-With",
        "Content-Type", "X-Forwarded-For", "X-Real-IP",
    ],
    "VALIDATOR_SCAN_COOKIES": True,
    # Extra signatures: list of {"name", "pattern", "weight", "family"}.
    "VALIDATOR_EXTRA_PATTERNS": [],
    # Payload signatures run: 1 = near-zero false positives on real benign text; 2 and 3 add
    # signatures that also fire on some technical prose (SQL tutorials, shell snippets).
    "VALIDATOR_PARANOIA": 1,

    # ── RateLimiter (seed README keys) ─────────────────────────────────────
    "PLAN_FIELD": "plan",
    "RATE_LIMIT_PLANS": {},
    # Plan order, lowest first; default: the order of RATE_LIMIT_PLANS.
    "PLAN_ORDER": None,
    # Name of a plan in RATE_LIMIT_PLANS applied to anonymous clients by IP.
    "ANONYMOUS_PLAN": None,
    # Send the IETF draft RateLimit-Policy / RateLimit fields.
    "RATELIMIT_HEADERS": False,

    # ── WatchLog ───────────────────────────────────────────────────────────
    "LOG_QUEUE_SIZE": 10000,
    "LOG_BATCH_SIZE": 500,
    "LOG_FLUSH_INTERVAL": 1.0,
    # "thread": one background writer; "manual": rows are written only by
    # flush() (tests, replay).
    "LOG_WRITER": "thread",
    "LOG_USER_AGENT_MAX": 256,

    # ── analyse_logs (seed README keys) ────────────────────────────────────
    "LOG_RETENTION_DAYS": 30,
    "ANALYSE_LOGS_AT": None,

    # ── AI / LLM (seed README keys) ────────────────────────────────────────
    "AI_API_KEY": None,
    "AI_BASE_URL": None,
    "AI_MODEL": None,
    "AI_CONNECT_TIMEOUT": 2.0,
    "AI_READ_TIMEOUT": 10.0,
    "AI_PAYLOAD_TIMEOUT": 2.0,       # budget of a synchronous borderline-payload call
    "AI_PAYLOAD_BLOCK_CONFIDENCE": 85,
    "AI_MAX_WORKERS": 2,
    "AI_QUEUE_SIZE": 100,
    "AI_RETRIES": 2,
    "AI_BACKOFF_BASE": 0.5,          # seconds before the first retry; doubles per retry (with jitter)
    "AI_RETRY_MAX_DELAY": 10.0,      # cap on one wait between retries, Retry-After included
    "AI_BREAKER_FAILURES": 5,
    "AI_BREAKER_COOLDOWN": 60,
    "AI_VERDICT_CACHE_TTL": 3600,
    "AI_DAILY_BUDGET": None,
    "AI_GREY_RECHECK_INTERVAL": 300,  # seconds before the same client is asked about again

    # ── learned model ──────────────────────────────────────────────────────
    "MODEL_ENABLED": True,
    "MODEL_STORE": None,             # default: <BASE_DIR>/models_store
    "MODEL_RELOAD_INTERVAL": 5.0,    # seconds between checks of the active pointer
    "MODEL_LOOKBACK_DAYS": 7,
    "MODEL_MIN_SAMPLES": 500,
    "MODEL_MAX_SAMPLES": 200000,
    # max_samples 4096, not scikit-learn's 256: rare-but-normal clusters of the training week (fast
    # readers clicking "next product") are seen often enough per tree to stop looking isolated, while
    # what the week never had (a task-list bot) isolates as fast as before (training/README.md)
    "MODEL_PARAMS": {
        "n_estimators": 100,
        "max_samples": 4096,
        "contamination": 0.01,
        "random_state": 42,
    },
    # Decision policy of the combiner (see smartlayer.policy.decisions).
    "MODEL_BLOCK_SCORE": None,       # None → the version's own threshold
    "MODEL_BAN_SCORE": 0.75,         # model alone may ban only above this
    "MODEL_RULE_ASSIST": 2,          # model above threshold adds this to the rule score
    # Sustained anomaly: requests of one client above the model's threshold,
    # counted over MODEL_SUSTAINED_WINDOW seconds.  COUNT of them together with
    # a rule score of at least RULE_SCORE blocks; ALONE of them block without rules.  Stricter
    # ALONE (20-30) or COUNT (8-10) spared product clickers but never the telemetry site's people and
    # cost advanced bots every time; RULE_SCORE 3 or a window of 300-400 s spared one person at most
    # (generated traffic, training/README.md).
    "MODEL_SUSTAINED_WINDOW": 600,
    "MODEL_SUSTAINED_COUNT": 5,
    "MODEL_SUSTAINED_RULE_SCORE": 2,
    "MODEL_SUSTAINED_ALONE": 15,
    # Corroborated: a flagged request whose vector shows a tell of automation beyond what the site's
    # training week showed (the MODEL_TELL_QUANTILE quantile of its vectors, per tell; 1.0: the
    # maximum — 0.999 refused an office colleague and more fast readers on generated traffic:
    # training/README.md).  CORROBORATED_COUNT of them within MODEL_SUSTAINED_WINDOW block, the
    # grace period included, guard green (0: never).
    "MODEL_CORROBORATED_COUNT": 3,
    # Sustained tells: requests whose vector shows a tell beyond the site's ceiling, above the model's
    # threshold or not; TELL_COUNT of them within MODEL_SUSTAINED_WINDOW block, grace period included,
    # guard green (0: never).  The ceiling is the most the whole training week showed (with the
    # floors of smartlayer.ml.tells): a visit past it page after page is automation, however common
    # each of its page views looks on its own (training/README.md).  5: a tell reads from the 8th page
    # view, so a session of 12 page views with a fixed wait shows it on at most 5 (6 let them go, 8
    # the sessions of up to 14 page views).
    "MODEL_TELL_COUNT": 5,
    "MODEL_TELL_QUANTILE": 1.0,
    # Score early, decide later: the model scores a client from its n-th request in 24 h,
    # inside the grace period too (evidence accumulates from the start; grace still protects).
    "MODEL_SCORE_FROM": 2,
    # Guards around the model (see smartlayer.ml.guard and ml/training/shadow.py).
    # The bound: a candidate may refuse (shadow scoring) at most this multiple
    # of its contamination share of recent requests.
    "MODEL_BOUND_FACTOR": 3.0,
    "MODEL_SHADOW_DAYS": 1,          # candidates are scored on the most recent day(s) of traffic
    "MODEL_SHADOW_MAX_ROWS": 300000,  # beyond that, a fixed share of clients is replayed
    "MODEL_GUARD_FACTOR": 25.0,      # the live guard's bound on the flagged share, × contamination ...
    "MODEL_GUARD_CLIENT_SHARE": 0.3,  # ... when this share of the clients is flagged too (not a few bots)
    "MODEL_GUARD_MEDIAN_QUANTILE": 0.9,  # bound on the median score: this quantile of training's (0: off)
    "MODEL_GUARD_MINUTES": 3,        # minutes the guard must see the model off to demote it
    "MODEL_GUARD_MIN_SCORED": 30,    # fewer scored requests in those minutes are not judged
    # Training under an active model leaves out the clients mostly above its
    # threshold, and this share of the most anomalous vectors (0: none; 0.02
    # cost people and sensitivity on generated traffic: training/README.md).
    "MODEL_TRIM_SHARE": 0.0,
    # smartlayer addition — a *sustained elevated rate*: this many grey-zone
    # requests with the elevated-rate rule on at most grey_burst_max_paths
    # distinct paths (in those 10 s), within GREY_SUSTAINED_WINDOW seconds,
    # block — LLM or not.  One fast moment is a person opening tabs, and a page
    # fanning out to many endpoints is an app; a rate that goes on against
    # one endpoint is a script hammering it.  0 turns it off.
    "GREY_SUSTAINED_COUNT": 5,
    "GREY_SUSTAINED_WINDOW": 60,

    # ── site profile (smartlayer.profile): learned with the model, activated with it ──
    "PROFILE_ENABLED": True,
    # weight of each reason code in the validator's score (VALIDATOR_BLOCK_SCORE blocks)
    "PROFILE_WEIGHTS": {"param:unknown_name": 2, "param:shape": 2, "path:unknown": 1, "path:restricted_ext": 3},
    # parameters never counted as unknown or misshapen; a trailing * matches a prefix
    "PROFILE_EXEMPT_PARAMS": ["utm_*", "fbclid", "gclid", "msclkid", "_ga", "ref", "_"],
    # extensions a probe asks for; one the site never served is path:restricted_ext
    "PROFILE_RESTRICTED_EXTENSIONS": [".bak", ".old", ".orig", ".save", ".swp", ".tmp", ".sql", ".env", ".git",
                                      ".svn", ".inc", ".config", ".ini", ".log", ".php", ".asp", ".aspx", ".jsp",
                                      ".cgi", ".pl", ".pwd", ".htaccess", ".htpasswd", ".dist", ".zip", ".tar",
                                      ".gz", ".7z", ".rar", ".dump", ".db", ".sqlite", ".yml", ".yaml", ".conf"],
    # requests with a profile anomaly of one client within the window that block (0: never)
    "PROFILE_SUSTAINED_COUNT": 3,
    "PROFILE_SUSTAINED_WINDOW": 600,
    # learning: an endpoint, a parameter name, a value class needs this much support
    "PROFILE_MIN_CLIENTS": 3,
    "PROFILE_MIN_SUPPORT": 30,
    # sequential ids reached by following the site's links at least this many seconds apart are browsing
    "PROFILE_PAGE_PACE": 1.0,
}
