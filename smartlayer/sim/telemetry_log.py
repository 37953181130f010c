"""Logs of a site whose pages post telemetry every ~2 s: most lines are beacons.

The ready-made week and attack day (:mod:`.generator`) have a telemetry
reader per 40 people; on a site whose every page reports mouse movement and
queued events, *every* visitor is one, and beacons outnumber pages ten to
one.  Such logs are what made backtesting slow (every beacon is a request the
pipeline replays, in a window crowded with the client's earlier beacons), and
they are where a model without the site profile confuses people with bots.

* :func:`generate_telemetry_week` — benign history of such a site, to learn a
  model and its site profile from;
* :func:`generate_telemetry_day` — a day of it with the hostile scenarios of
  the attack day mixed in, to replay.

Both only compose the existing scenarios (``telemetry``, ``product_order``,
the crawler, the API client and the hostile ones) through :func:`.generate`;
deterministic for a seed, like everything in :mod:`smartlayer.sim`.
"""
from __future__ import annotations

from . import TrafficRecord
from .generator import ATTACK_DAY_HOSTILES, DAY, DEFAULT_START, PROFILE_HOSTILES, WEEK, generate
from .sitemap import SiteMap

#: Telemetry readers per plain visitor (a browser with scripts blocked posts nothing).
READERS_PER_HUMAN = 4
#: A reader's beacon interval in seconds while a page is open (one tab; more tabs post more often).
INTERVAL: tuple[float, float] = (1.5, 2.5)


def _mix(readers: int, *, hostile: bool) -> dict[str, int]:
    mix = {"telemetry": readers, "product_order": max(1, readers // 20),
           "crawler": max(1, readers // 100), "api_client": max(1, readers // 100)}
    if hostile:
        mix.update(ATTACK_DAY_HOSTILES)
        mix.update(PROFILE_HOSTILES)
    return mix


def generate_telemetry_week(seed: int, start: float | None = None, readers: int = 120,
                            sitemap: SiteMap | None = None) -> list[TrafficRecord]:
    """A week of benign traffic on a telemetry site: ``readers`` people posting beacons, a quarter as
    many who post none, product clickers, a crawler and an API client."""
    return generate(start=DEFAULT_START if start is None else start, duration=WEEK, seed=seed,
                    humans=max(1, readers // READERS_PER_HUMAN), scenarios=_mix(readers, hostile=False),
                    sitemap=sitemap, params={"telemetry": {"interval": INTERVAL}})


def generate_telemetry_day(seed: int, start: float | None = None, readers: int = 120,
                           sitemap: SiteMap | None = None, hostile: bool = True) -> list[TrafficRecord]:
    """A day of the same site with every hostile scenario of the attack day (and the profile's
    tampering and path probing) mixed in; ``hostile=False`` for a benign day."""
    return generate(start=DEFAULT_START if start is None else start, duration=DAY, seed=seed,
                    humans=max(1, readers // READERS_PER_HUMAN), scenarios=_mix(readers, hostile=hostile),
                    sitemap=sitemap, params={"telemetry": {"interval": INTERVAL}})
