"""``manage.py smartlayer_bans list | lift CLIENT | lift --all | add CLIENT``.

The way back in for an operator who (or whose office) got banned, and a way
to ban by hand without the admin.  It goes through :func:`smartlayer.state.bans.ban`
and :func:`smartlayer.state.bans.lift` — the database row and the shared cache, and
on Redis an announcement every worker applies — so it works while the site
runs.  ``handle()`` only dispatches; each verb is a plain function that
returns the lines to print, so tests call it without a terminal.
"""
from __future__ import annotations

import getpass
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from smartlayer.conf import sl_settings
from smartlayer.http.responses import iso_utc
from smartlayer.state import bans

KEY_HELP = ("client key: ip:<address>, ip:<IPv6 prefix>/<length> (IPv6 clients are grouped by "
            "IPV6_PREFIX_LENGTH, /64 by default) or u:<user pk> — as the admin's request log shows them. "
            "A bare IP address is turned into its key (smartlayer.request.client.ip_key).")


def client_key(text: str) -> str:
    """``text`` as a client key, or a CommandError that says what one looks like."""
    try:
        return bans.client_key_from(text)
    except ValueError as exc:
        raise CommandError(str(exc)) from None


def operator() -> str:
    """Who lifted: recorded in the ban's ``lifted_by``, as the admin records the user."""
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        user = "?"
    return f"smartlayer_bans ({user})"


def _clean(text: str, limit: int = 60) -> str:
    """One table cell: no line breaks or control characters from a stored reason."""
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def list_bans() -> list[str]:
    """The active bans, newest first: client, source, reason, since, until."""
    from smartlayer.models import Ban

    rows = [(b.client_key, b.source, _clean(b.reason), iso_utc(b.created_at),
             iso_utc(b.expires_at) if b.expires_at else "permanent")
            for b in Ban.objects.active().order_by("-created_at")]
    if not rows:
        return ["No active bans."]
    header = ("client", "source", "reason", "since", "until")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in [header, *rows]]
    return [*lines, f"{len(rows)} active ban(s)."]


def lift_one(key: str, by: str) -> list[str]:
    """Lift every active ban of ``key`` (and its cache entry, even without a row)."""
    lifted = bans.lift(key, by=by)
    if lifted:
        return [f"Lifted {lifted} ban(s) of {key}."]
    return [f"No active ban of {key} in the database; its cache entry, if any, was removed."]


def lift_all(by: str) -> list[str]:
    """Lift every active ban."""
    from smartlayer.models import Ban

    keys = sorted(set(Ban.objects.active().values_list("client_key", flat=True)))
    lifted = sum(bans.lift(key, by=by) for key in keys)
    return [f"Lifted {lifted} ban(s) of {len(keys)} client(s)."]


def add(key: str, *, ttl: int, reason: str) -> list[str]:
    """Ban ``key`` for ``ttl`` seconds (0: permanent).  A longer ban already
    in force stays, with its own reason (as :func:`smartlayer.state.bans.ban` does)."""
    from django.utils import timezone

    if ttl < 0:
        raise CommandError("--ttl must be 0 (permanent) or a number of seconds")
    ip = key[3:] if key.startswith("ip:") and "/" not in key and key != "ip:unknown" else None
    user_id = key[2:] if key.startswith("u:") else None
    started = timezone.now()
    obj = bans.ban(key, reason=reason, source="admin", ttl=ttl, ip=ip, user_id=user_id)
    until = f"until {iso_utc(obj.expires_at)}" if obj.expires_at else "permanently"
    if obj.pk is None:
        return [f"Banned {key} {until} in the cache only: the database did not take the row (see the "
                "smartlayer log), so the ban is lost with the cache entry."]
    if obj.created_at < started:
        return [f"{key} is already banned {until} ({obj.source}: {_clean(obj.reason)}); that ban stays."]
    return [f"Banned {key} {until}."]


def per_process_cache_note() -> list[str]:
    """A warning when the command cannot reach the running server's cache."""
    from django.conf import settings

    backend = settings.CACHES.get(sl_settings.CACHE_ALIAS, {}).get("BACKEND", "")
    if backend.endswith("LocMemCache"):
        return ["Note: the cache is LocMemCache, which lives inside each process, so this command reached the "
                "database only. A running server copies bans from the database every BAN_SYNC_INTERVAL seconds; "
                "restart it if the change must take effect now."]
    return []


class Command(BaseCommand):
    help = ("List, lift or add smartlayer bans — also while the site runs. "
            "list: the active bans (client, source, reason, since, until; UTC). "
            "lift CLIENT / lift --all: lift the bans of one client, or of all. "
            "add CLIENT [--ttl SECONDS] [--reason TEXT]: ban a client by hand. " + KEY_HELP)

    def add_arguments(self, parser: CommandParser) -> None:
        # one flat parser rather than argparse sub-commands, so Django's own
        # options (--settings, -v) work after the verb as well
        parser.add_argument("verb", choices=["list", "lift", "add"])
        parser.add_argument("client", nargs="?", help=KEY_HELP)
        parser.add_argument("--all", action="store_true", help="lift: every active ban")
        parser.add_argument("--ttl", type=int, default=None, metavar="SECONDS",
                            help="add: seconds the ban lasts; 0 = permanent (default: BAN_TTL)")
        parser.add_argument("--reason", default=None, metavar="TEXT",
                            help="add: why (kept with the ban, never shown to the client)")

    def handle(self, *args: Any, **options: Any) -> None:
        verb, key = options["verb"], options.get("client")
        misplaced = [flag for flag, used, verbs in (("--all", options.get("all"), ("lift",)),
                                                    ("--ttl", options.get("ttl") is not None, ("add",)),
                                                    ("--reason", options.get("reason") is not None, ("add",)))
                     if used and verb not in verbs]
        if misplaced:
            raise CommandError(f"{', '.join(misplaced)} does not apply to {verb}")
        if verb == "list":
            if key:
                raise CommandError("list takes no client key")
            lines = list_bans()
        elif verb == "lift":
            if bool(options.get("all")) == bool(key):
                raise CommandError("lift needs exactly one of: a client key, or --all")
            by = operator()
            lines = lift_all(by) if options["all"] else lift_one(client_key(key), by)
            lines += per_process_cache_note()
        else:
            if key is None:
                raise CommandError("add needs a client key")
            ttl = options.get("ttl")
            lines = add(client_key(key), ttl=int(sl_settings.BAN_TTL or 0) if ttl is None else ttl,
                        reason=options.get("reason") or "added with manage.py smartlayer_bans")
            lines += per_process_cache_note()
        for line in lines:
            self.stdout.write(line)
