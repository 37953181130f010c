"""Declared crawlers: who says it is one, whether it keeps to robots.txt, what CRAWLER_POLICY allows.

A search engine's crawler visits many distinct pages, often ids in order —
what ``endpoint_scanning`` and ``sequential_id_probing`` look for — and a
polite one was banned for it.  ``CRAWLER_POLICY``:

* ``"polite"`` (default): a client that *declares* a crawler user agent
  (``CRAWLER_USER_AGENTS`` tokens), fetched ``/robots.txt`` and keeps to its
  ``Disallow`` lines and ``Crawl-delay`` is not refused for crawling (those
  two rules do not fire for it); every other rule still applies, and a
  crawler that is not polite is judged like anyone;
* ``"block"``: every declared crawler is refused (``black:crawler_not_allowed``);
* a list of user-agent tokens: declared crawlers carrying one of them are
  treated as under ``"polite"``, every other declared crawler is refused.

What robots.txt says is learned from the site's own answer to a crawler's
``GET /robots.txt`` as it passes through the middleware — no request of our
own, no file read.  A worker that has not seen it yet cannot check
``Disallow`` and does not hold it against the crawler.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from ...conf import derived, sl_settings
from ...request.facts import is_declared_crawler

if TYPE_CHECKING:
    import urllib.robotparser

ROBOTS_PATH = "/robots.txt"
#: Bytes of a robots.txt read at most (a site's real one is a few KiB).
MAX_ROBOTS_BYTES = 64 * 1024


class _Robots:
    """The site's robots.txt as last answered, parsed once; ``allowed`` memoised per (agent, path)."""

    def __init__(self) -> None:
        self.parser: urllib.robotparser.RobotFileParser | None = None
        self._memo: dict[tuple[str, str], bool] = {}
        self._lock = threading.Lock()

    def learn(self, body: bytes) -> None:
        # imported here: urllib.request with it, 7.6 M instructions of every start-up (callgrind), for a
        # parser only a site's robots.txt answer needs (a replay never has one)
        import urllib.robotparser

        parser = urllib.robotparser.RobotFileParser()
        parser.parse(body[:MAX_ROBOTS_BYTES].decode("utf-8", "replace").splitlines())
        with self._lock:
            self.parser, self._memo = parser, {}

    def allowed(self, agent: str, path: str) -> bool:
        parser = self.parser
        if parser is None:
            return True
        key = (agent, path)
        hit = self._memo.get(key)
        if hit is None:
            hit = parser.can_fetch(agent, path)
            if len(self._memo) < 50_000:
                self._memo[key] = hit
        return hit

    def delay(self, agent: str) -> float:
        parser = self.parser
        value = parser.crawl_delay(agent) if parser is not None else None
        return float(value or 0.0)


robots = _Robots()


def learn_robots(path: str, status: int, response: Any) -> None:
    """The site answered ``/robots.txt``: remember what it says (memory only, no I/O)."""
    if path != ROBOTS_PATH or status != 200 or getattr(response, "streaming", False):
        return
    content = getattr(response, "content", b"")
    if isinstance(content, bytes) and content:
        robots.learn(content)


@derived
def _allowed_tokens() -> tuple[str, ...] | None:
    policy = sl_settings.CRAWLER_POLICY
    if isinstance(policy, (list, tuple)):
        return tuple(str(t).lower() for t in policy)
    return None


def declared(user_agent: str) -> bool:
    return is_declared_crawler(user_agent)


def judge(user_agent: str, snap: Any) -> str | None:
    """``"polite"``, ``"refused"`` or None (not a declared crawler, or one judged like anyone)."""
    if not user_agent or not declared(user_agent):
        return None
    policy = sl_settings.CRAWLER_POLICY
    if policy == "block":
        return "refused"
    allowed = _allowed_tokens()
    ua = user_agent.lower()
    if allowed is not None and not any(t in ua for t in allowed):
        return "refused"
    return "polite" if _keeps_to_robots(user_agent, snap) else None


def _keeps_to_robots(user_agent: str, snap: Any) -> bool:
    """Fetched robots.txt (at any time its window remembers), kept off its Disallow lines
    in the last minute, and no faster than its Crawl-delay (at least half a second)."""
    if not getattr(snap, "robots_at", 0.0):
        return False
    recent = snap.arrivals_since(60)
    floor = 0.5
    if robots.parser is not None:   # else every path is allowed and no delay asked (a replay: no bodies)
        agent = user_agent.split("/", 1)[0].split(";")[-1].strip() or "*"
        if not all(robots.allowed(agent, a[2]) for a in recent):
            return False
        floor = max(floor, 0.8 * robots.delay(agent))
    if len(recent) >= 3:
        gaps = sorted(b[0] - a[0] for a, b in zip(recent, recent[1:], strict=False))
        median = gaps[len(gaps) // 2]
        if median < floor:
            return False
    return True
