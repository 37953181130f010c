"""Where the enforcement step keeps bans and the counters that lead to them.

:class:`CacheBans` is the live site's: bans in Django's cache (and the
database, through :mod:`.bans`), counters with ``add`` + ``incr``.
:class:`MemoryBans` keeps the same things in dicts on the caller's clock, for
the replay command and backtests.  Both implement
:class:`smartlayer.policy.enforce.BanBackend`, and count the same way, so a
backtest means something.
"""
from __future__ import annotations

from typing import Any

from ..conf import sl_settings
from ..request.context import RequestContext
from ..request.decision import Decision
from . import bans as ban_service
from .ban_mirror import ban_mirror
from .cache import get_cache, incr, incr_and_read, make_key
from .windows import get_window_store


def _flag_buckets(now: float, window: float) -> tuple[int, int, float]:
    """Sliding-window approximation shared by both backends (so a replay
    counts exactly as the live site): two fixed buckets of half the window."""
    half = max(1.0, float(window) / 2)
    bucket = int(now // half)
    return bucket, bucket - 1, half


def _flag_window(kind: str) -> float:
    if kind == "grey":
        return float(sl_settings.GREY_SUSTAINED_WINDOW)
    if kind == "profile":
        return float(sl_settings.PROFILE_SUSTAINED_WINDOW)
    return float(sl_settings.MODEL_SUSTAINED_WINDOW)


def ban_source(decision: Decision) -> str:
    """Who made an automatic ban: the model, an LLM verdict, or the rules (``Ban.source``)."""
    if decision.reason.startswith("model:"):
        return "model"
    return "llm" if decision.reason.startswith("llm:") else "rule"


class CacheBans:
    """Bans and block counters in Django's cache (the production backend)."""

    def lookup(self, ctx: RequestContext, now: float) -> dict[str, Any] | None:
        ban_service.maybe_sync()
        return ban_service.lookup(ctx.client, now)

    def lookup_key(self, client_key: str, now: float) -> dict[str, Any] | None:
        """The active ban of one client key (no IP key added)."""
        mirror = ban_mirror()
        key = ban_service.ban_key(client_key)
        if mirror is not None and mirror.ready:
            return mirror.lookup([key], now)
        if not ban_service.may_be_cached([key]):
            return None
        return ban_service.active_entry([get_cache().get(key)], now)

    def ban(self, ctx: RequestContext, decision: Decision, now: float) -> None:
        source = ban_source(decision)
        ban_service.ban(
            ctx.client.key, reason=", ".join(decision.reasons)[:300] or decision.reason, source=source,
            ttl=decision.ban_ttl or 0, ip=ctx.client.ip, user_id=ctx.client.user_id,
            details={"component": decision.component, **decision.details},
            defer=True,  # in force from the cache now; its row written off the request thread
        )

    def note_block(self, ctx: RequestContext, now: float) -> int:
        window = int(sl_settings.BAN_BLOCK_WINDOW)
        return incr(make_key("blocks", ctx.client.key), timeout=window)

    def note_flag(self, ctx: RequestContext, now: float, kind: str = "model") -> int:
        """Count a flagged request of ``kind`` ("model", "corroborated", "grey", "profile");
        returns the count over that kind's window, this request included.

        In the client's window when the process's window store keeps one for it (local and
        replicated windows: a dict update, shared between workers by the replication, so a
        flag another worker counted is seen within its lag); otherwise — windows in Redis,
        or no window for this key — in a cache counter, one round trip.
        """
        bucket, previous, half = _flag_buckets(now, _flag_window(kind))
        mark = getattr(get_window_store(), "mark", None)
        if mark is not None:
            n = mark(ctx.client.key, kind, bucket)
            if n is not None:
                return n
        n, before = incr_and_read(make_key("flag", kind, ctx.client.key, bucket), 3 * half,
                                  make_key("flag", kind, ctx.client.key, previous))
        return n + before


class MemoryBans:
    """Bans kept in a dict, on the caller's clock (replay, backtests)."""

    def __init__(self) -> None:
        self.bans: dict[str, dict[str, Any]] = {}
        self.blocks: dict[str, list[float]] = {}
        self.flags: dict[tuple[str, str, int], int] = {}

    def lookup(self, ctx: RequestContext, now: float) -> dict[str, Any] | None:
        # like bans.lookup: a signed-in user is also refused when its IP is banned
        keys = [ctx.client.key]
        if ctx.client.authenticated and ctx.client.ip:
            keys.append(ctx.client.ip_key)
        for key in keys:
            entry = self.bans.get(key)
            if entry and (entry["expires"] is None or entry["expires"] > now):
                return entry
        return None

    def lookup_key(self, client_key: str, now: float) -> dict[str, Any] | None:
        entry = self.bans.get(client_key)
        return entry if entry and (entry["expires"] is None or entry["expires"] > now) else None

    def ban(self, ctx: RequestContext, decision: Decision, now: float) -> None:
        ttl = decision.ban_ttl
        self.bans[ctx.client.key] = {
            "reason": decision.reason, "source": ban_source(decision),
            "expires": now + ttl if ttl else None,
        }

    def note_block(self, ctx: RequestContext, now: float) -> int:
        window = float(sl_settings.BAN_BLOCK_WINDOW)
        recent = [t for t in self.blocks.get(ctx.client.key, []) if t > now - window]
        recent.append(now)
        self.blocks[ctx.client.key] = recent
        return len(recent)

    def note_flag(self, ctx: RequestContext, now: float, kind: str = "model") -> int:
        bucket, previous, _ = _flag_buckets(now, _flag_window(kind))
        key = (kind, ctx.client.key, bucket)
        self.flags[key] = self.flags.get(key, 0) + 1
        self.flags.pop((kind, ctx.client.key, previous - 1), None)  # keep the dict bounded
        return self.flags[key] + self.flags.get((kind, ctx.client.key, previous), 0)
