"""Facts about one request that the rules, the window and the model's features all read.

The flag bits stored with every arrival in a client's window (signed in, a
tool's user agent, an empty one, a sensitive path), whether a request is a
login attempt, and the longest run of consecutive numeric ids in a list of
paths.  One definition each, below every reader: the detector's rules, the
model's features on the request path and the training frames offline.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from ..conf import derived, sl_settings

# flags of an arrival
FLAG_AUTHENTICATED = 1
FLAG_SUSPICIOUS_UA = 2
FLAG_EMPTY_UA = 4
FLAG_SENSITIVE = 8
FLAG_NAVIGATED = 16      # came from a page of the site itself (same-site referer)
FLAG_TELEMETRY = 32      # sent to an endpoint the site profile knows as telemetry (a page's beacons)
FLAG_ASSET = 64          # sent to an endpoint the site profile knows as an asset (a page's files and images)
#: A signed-in customer's request on a route its plan has a quota for: the plan
#: counts it, the rate rules do not (a burst within the plan is no flood on the
#: customer's next page).
FLAG_PLAN_GOVERNED = 128
FLAG_API = 256           # sent to an endpoint the site profile knows as an API or XHR call (not a page view)
FLAG_UNKNOWN_PATH = 512  # a path the site profile never saw served (no endpoint template matches)
FLAG_FOREIGN_REFERER = 1024  # came with a referer from another site (a search engine, a link elsewhere)
FLAG_DECLARED_CRAWLER = 2048  # the user agent declares a crawler (CRAWLER_USER_AGENTS)
FLAG_PROFILED = 4096     # judged with a site profile: the class and referer bits above mean something
#: Two facts of the site profile about a page's files (:mod:`smartlayer.profile.furnish`): a page whose views
#: normally fetch files of their own (a product's images), and a file fetched after pages all over the site
#: (the site's CSS, scripts, fonts: cached after the first page, so a returning browser fetches none).
FLAG_OWN_ASSETS = 8192   # a page view of an endpoint whose views normally fetch their own files
FLAG_SHARED_ASSET = 16384  # an asset the whole site's pages share

_ID_AT_END = re.compile(r"^(.*?)(\d{1,12})/?$")


@derived
def sensitive_prefixes() -> tuple[str, ...]:
    return tuple(str(p).lower() for p in sl_settings.grey_sensitive_paths or ())


@derived
def suspicious_agents() -> tuple[str, ...]:
    return tuple(str(a).lower() for a in sl_settings.grey_suspicious_user_agents or ())


@derived
def crawler_tokens() -> tuple[str, ...]:
    return tuple(str(t).lower() for t in sl_settings.CRAWLER_USER_AGENTS or ())


@derived
def login_prefixes() -> tuple[str, ...]:
    paths = [str(p).lower() for p in sl_settings.LOGIN_PATHS or ()]
    from django.conf import settings as django_settings

    login_url = getattr(django_settings, "LOGIN_URL", None)
    if isinstance(login_url, str) and login_url.startswith("/"):
        paths.append(login_url.lower())
    return tuple(paths)


def is_login_attempt(method: str, path: str) -> bool:
    return method == "POST" and path.lower().startswith(login_prefixes())


def is_sensitive_path(path: str) -> bool:
    return path.lower().startswith(sensitive_prefixes())


class _AgentAnswers:
    """Whether a user agent contains one of a settings-given list of tokens, remembered per agent.

    A site sees few distinct agents and each answer costs a scan for every token, so answers are
    kept — bounded in entries and in agent length (attacker-chosen agents only empty the memo) —
    and forgotten whenever the token tuple changes (the settings were reloaded).
    """

    MAX = 4096
    LENGTH = 512

    def __init__(self, tokens: Callable[[], tuple[str, ...]]) -> None:
        self._tokens = tokens            # the settings-cached tuple factory
        self._of: tuple[str, ...] | None = None
        self._memo: dict[str, bool] = {}

    def __call__(self, user_agent: str) -> bool:
        tokens = self._tokens()
        memo = self._memo
        if tokens is not self._of:
            memo.clear()
            self._of = tokens
        found = memo.get(user_agent)
        if found is None:
            ua = user_agent.lower()
            found = any(t in ua for t in tokens)
            if len(user_agent) <= self.LENGTH:
                if len(memo) >= self.MAX:
                    memo.clear()
                memo[user_agent] = found
        return found


#: ``SUSPICIOUS_USER_AGENTS`` in the agent (a tool, a scanner).
is_suspicious_agent = _AgentAnswers(suspicious_agents)
#: The agent declares a crawler (a ``CRAWLER_USER_AGENTS`` token).
is_declared_crawler = _AgentAnswers(crawler_tokens)


def arrival_flags(*, authenticated: bool, user_agent: str, path: str, plan_governed: bool = False) -> int:
    """The flag bits stored with an arrival (see :mod:`smartlayer.state.windows.window`)."""
    flags = FLAG_PLAN_GOVERNED if plan_governed else 0
    if authenticated:
        flags |= FLAG_AUTHENTICATED
    if not user_agent.strip():
        flags |= FLAG_EMPTY_UA
    else:
        if is_suspicious_agent(user_agent):
            flags |= FLAG_SUSPICIOUS_UA
        if is_declared_crawler(user_agent):
            flags |= FLAG_DECLARED_CRAWLER
    if is_sensitive_path(path):
        flags |= FLAG_SENSITIVE
    return flags


_id_memo: dict[str, tuple[str, int] | None] = {}
_UNSEEN = object()
_ID_MEMO_MAX = 50_000


def _template_id(path: str) -> tuple[str, int] | None:
    """``/users/17`` → ``("/users/", 17)``; memoised, because a client's recent
    paths come back in many consecutive windows (bounded: emptied when full)."""
    try:
        return _id_memo[path]
    except KeyError:
        pass
    m = _ID_AT_END.match(path)
    value = (m.group(1), int(m.group(2))) if m else None
    if len(_id_memo) >= _ID_MEMO_MAX:
        _id_memo.clear()
    _id_memo[path] = value
    return value


def longest_sequential_run(paths: Iterable[str]) -> int:
    """Longest run of consecutive numeric IDs on one path template.

    ``/users/1 /users/2 /users/3`` → 3.  ``/products/4 /products/89`` → 1.
    IDs on different templates (``/users/1``, ``/orders/2``) do not chain.
    Used by the rule and by the model's features alike.
    """
    by_template: dict[str, set[int]] = {}
    memo = _id_memo
    # each distinct path once: a window repeats its paths (a page's beacons, a poller), and a
    # repeated id adds nothing to a set of ids; the memo read inline (a call per path is most of the cost)
    for p in set(paths):
        t = memo.get(p, _UNSEEN)
        if t is _UNSEEN:
            t = _template_id(p)
        if t is not None:
            ids = by_template.get(t[0])
            if ids is None:
                by_template[t[0]] = {t[1]}
            else:
                ids.add(t[1])
    best = 0
    for ids in by_template.values():
        if len(ids) <= best:
            continue
        for i in ids:
            if i - 1 not in ids:  # start of a run
                n = 1
                while i + n in ids:
                    n += 1
                if n > best:
                    best = n
    return best


def probing_run(arrivals: Iterable[tuple], page_pace: float) -> int:
    """Longest run of consecutive ids on one template, leaving out the ids a person browsed to.

    An id was *browsed to* when the request came from a page of the site
    (:data:`FLAG_NAVIGATED`) at least ``page_pace`` seconds after the previous
    id of that template: "next product" clicked by a reader.  What is left —
    ids fetched fast, or without the site's own navigation — is what
    enumeration looks like.  ``arrivals``: ``(ts, method, path, flags)``.
    """
    return _id_run(arrivals, page_pace, browsed=False)


def browsed_run(arrivals: Iterable[tuple], page_pace: float) -> int:
    """Longest run of consecutive ids on one template that a person browsed to: the other side of
    :func:`probing_run` (the same test of *browsed to*).  ``/products/76/``, ``/products/77/``, …
    each from the one before: "next product" clicked through a listing.
    ``arrivals``: ``(ts, method, path, flags)``."""
    return _id_run(arrivals, page_pace, browsed=True)


def _id_run(arrivals: Iterable[tuple], page_pace: float, browsed: bool) -> int:
    """Longest run of consecutive ids on one template among the ids browsed to (``browsed``) or
    the others: one test of *browsed to* for both sides."""
    last: dict[str, float] = {}
    paths: list[str] = []
    for a in arrivals:
        t = _template_id(a[2])
        if t is None:
            continue
        before = last.get(t[0])
        last[t[0]] = a[0]
        if bool(a[3] & FLAG_NAVIGATED and (before is None or a[0] - before >= page_pace)) is browsed:
            paths.append(a[2])
    return longest_sequential_run(paths) if len(paths) > 1 else len(paths)
