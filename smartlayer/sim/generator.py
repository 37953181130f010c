"""Drive the scenarios: a deterministic, labelled traffic log for a time window.

Determinism is per actor: actor ``i`` of scenario ``label`` draws from its
own ``random.Random(f"{seed}:{label}:{i}")`` (string seeds are hashed with
SHA-512, so this is stable across processes and Python's hash seed).  Only
the shared resources — addresses and account IDs, which must be unique
across actors — come from run-wide streams, handed out in a fixed order.
Asking for more humans therefore keeps the first ones as they were.

Addresses come from ranges reserved for documentation and benchmarking
(198.18.0.0/15, 2001:db8::/32), shared by benign and hostile actors alike so
the address never gives the label away.
"""
from __future__ import annotations

import ipaddress
import random
from collections.abc import Mapping
from operator import attrgetter
from typing import Any

from . import TrafficRecord
from .scenarios import SCENARIOS, Actor
from .sitemap import SiteMap

#: Start of the window when none is given: Monday 2024-01-01 00:00 UTC.  A
#: fixed default keeps the output a pure function of the seed; pass
#: ``start=time.time() - duration`` for recent-looking data.
DEFAULT_START = 1704067200.0
DAY = 86400.0
WEEK = 7 * DAY

#: Benign actors per human in the ready-made mixes.
HUMANS_PER_API_CLIENT = 100
#: One office (10–25 colleagues behind one address) per this many independent visitors.
HUMANS_PER_OFFICE = 150
#: Scenarios generated only when asked for by name: what is fair for them
#: depends on the site's configuration (a ``customer`` is within its rights
#: only where ``RATE_LIMIT_PLANS`` sells it a quota), so the ready-made week
#: and attack day, replayed with default settings, leave them out.
#: The browser-automation bots are opt-in too: the ready-made attack day keeps the attacks the
#: rules are measured on; :func:`generate_automation_day` is the learned model's day.
OPT_IN_SCENARIOS = frozenset({"customer", "moderate_bot", "advanced_bot"})
HUMANS_PER_CRAWLER = 100
#: Hostile actors of :func:`generate_attack_day`: every hostile scenario, at least once.
ATTACK_DAY_HOSTILES: dict[str, int] = {
    "scraper": 2, "burst": 2, "credential_stuffing": 2, "enumeration": 2,
    "vuln_scanner": 3, "slow_drip": 1, "distributed": 1,
}

_IPV6_SHARE = 0.06
_NAT_SHARE = 0.03  # humans behind the same NAT as an earlier human


class _AddressBook:
    """Addresses and account IDs unique across all actors of one run."""

    def __init__(self, seed: int, site: SiteMap) -> None:
        self._rng = random.Random(f"{seed}:addresses")
        self._used: set[str] = set()
        self._human_ips: list[str] = []
        ids = list(range(1, site.n_users + 1))
        random.Random(f"{seed}:accounts").shuffle(ids)
        self._free_ids = ids
        self._next_extra_id = site.n_users + 1

    def ip(self) -> str:
        rng = self._rng
        while True:
            if rng.random() < _IPV6_SHARE:
                groups = (rng.getrandbits(16), rng.getrandbits(16), rng.getrandbits(16))
                ip = str(ipaddress.IPv6Address("2001:db8:{:x}:{:x}::{:x}".format(*groups)))
            else:
                n = rng.getrandbits(17)
                if n & 255 in (0, 255):
                    continue
                ip = f"198.{18 + (n >> 16)}.{(n >> 8) & 255}.{n & 255}"
            if ip not in self._used:
                self._used.add(ip)
                return ip

    def human_ip(self) -> str:
        """A fresh address, or now and then one an earlier human already uses (NAT)."""
        if self._human_ips and self._rng.random() < _NAT_SHARE:
            return self._rng.choice(self._human_ips)
        ip = self.ip()
        self._human_ips.append(ip)
        return ip

    def many(self, n: int) -> list[str]:
        return [self.ip() for _ in range(max(0, n))]

    def account(self) -> str:
        """A user ID of the site; beyond ``n_users`` the site simply grew."""
        if self._free_ids:
            return str(self._free_ids.pop())
        self._next_extra_id += 1
        return str(self._next_extra_id - 1)


def generate(*, start: float, duration: float, seed: int, humans: int,
             scenarios: Mapping[str, int] | None = None, sitemap: SiteMap | None = None,
             diurnal: bool = True, params: Mapping[str, Mapping[str, Any]] | None = None) -> list[TrafficRecord]:
    """Simulate ``humans`` browsing people plus ``scenarios`` (label → number
    of actors) against ``sitemap`` during ``[start, start + duration)``.

    ``params`` passes keyword arguments to a scenario (``{"scraper":
    {"requests": 100}}``).  ``diurnal=False`` spreads human sessions evenly
    over the day.  Returns every record, sorted by ``ts``; ties keep actor
    order, so the list is identical for identical arguments.
    """
    if duration <= 0:
        raise ValueError("duration must be positive")
    counts = dict(scenarios or {})
    if "human" in counts:
        raise ValueError("give the number of humans as humans=, not in scenarios")
    counts["human"] = humans
    unknown = sorted(set(counts) - set(SCENARIOS))
    if unknown:
        raise ValueError(f"unknown scenario(s) {unknown}; known: {sorted(SCENARIOS)}")
    site = sitemap or SiteMap()
    book = _AddressBook(seed, site)
    end = start + duration
    records: list[TrafficRecord] = []
    append = records.append
    for label, scenario in SCENARIOS.items():  # fixed order: independent of the mapping's
        kwargs = dict((params or {}).get(label, {}))
        for i in range(counts.get(label, 0)):
            actor = Actor(
                label=label, client_id=f"{label}-{i:04d}",
                ip=book.human_ip() if label == "human" else book.ip(),
                start=start, end=end, site=site, diurnal=diurnal,
                new_account=book.account, more_ips=book.many,
            )
            for rec in scenario(random.Random(f"{seed}:{label}:{i}"), actor, **kwargs):
                if rec.ts >= end:
                    break
                append(rec)
    records.sort(key=attrgetter("ts"))
    return records


def _benign_mix(humans: int, crawlers: int | None = None) -> dict[str, int]:
    return {
        "api_client": max(1, humans // HUMANS_PER_API_CLIENT),
        "crawler": crawlers if crawlers is not None else max(1, humans // HUMANS_PER_CRAWLER),
        "office": max(1, humans // HUMANS_PER_OFFICE),
    }


#: The site-profile patterns (:mod:`~smartlayer.sim.scenarios.profiled`), per this many humans.
HUMANS_PER_TELEMETRY_READER = 40
HUMANS_PER_PRODUCT_CLICKER = 50
#: Hostile actors of the attack day when the profile scenarios are asked for.
PROFILE_HOSTILES: dict[str, int] = {"tampering": 8, "path_probing": 8}


def _profile_mix(humans: int) -> dict[str, int]:
    return {"telemetry": max(1, humans // HUMANS_PER_TELEMETRY_READER),
            "product_order": max(1, humans // HUMANS_PER_PRODUCT_CLICKER)}


def generate_normal_week(seed: int, start: float | None = None, humans: int = 300,
                         sitemap: SiteMap | None = None, profiled: bool = False) -> list[TrafficRecord]:
    """A week of benign traffic only (humans, API clients, crawlers) with a
    diurnal rhythm: the kind of history a model is trained on.  ``profiled``
    adds the telemetry readers and product clickers the site profile is for."""
    mix = _benign_mix(humans)
    if profiled:
        mix.update(_profile_mix(humans))
    return generate(start=DEFAULT_START if start is None else start, duration=WEEK, seed=seed,
                    humans=humans, scenarios=mix, sitemap=sitemap)


def generate_attack_day(seed: int, start: float | None = None, humans: int = 150,
                        sitemap: SiteMap | None = None, profiled: bool = False) -> list[TrafficRecord]:
    """A day of benign background with every hostile scenario at least once
    (:data:`ATTACK_DAY_HOSTILES`): the kind of day a detector is scored on.
    ``profiled`` adds telemetry readers, product clickers, parameter
    tampering and path probing (:data:`PROFILE_HOSTILES`)."""
    mix = _benign_mix(humans, crawlers=2)
    mix.update(ATTACK_DAY_HOSTILES)
    if profiled:
        mix.update(_profile_mix(humans))
        mix.update(PROFILE_HOSTILES)
    return generate(start=DEFAULT_START if start is None else start, duration=DAY, seed=seed,
                    humans=humans, scenarios=mix, sitemap=sitemap)


#: Browser-automation bots of :func:`generate_automation_day` (the shares of the labelled real
#: sessions the model's targets come from: 50 moderate, 30 advanced).
AUTOMATION_BOTS: dict[str, int] = {"moderate_bot": 50, "advanced_bot": 30}


def with_telemetry(site: SiteMap | None = None, interval: float = 2.0) -> SiteMap:
    """The site with telemetry on every page: a beacon every ``interval`` seconds or so while a person reads."""
    import dataclasses

    return dataclasses.replace(site or SiteMap(), telemetry_interval=interval)


def drifted(site: SiteMap, endpoint: str = "/t/vitals/") -> SiteMap:
    """The same site after a release: a new telemetry endpoint, and the pages' telemetry rate doubled."""
    import dataclasses

    interval = site.telemetry_interval or 2.0
    return dataclasses.replace(site, beacons=(*site.beacons, endpoint), telemetry_interval=interval / 2)


def generate_automation_day(seed: int, start: float | None = None, humans: int = 300,
                            sitemap: SiteMap | None = None, bots: Mapping[str, int] | None = None) -> list[TrafficRecord]:
    """A day of the site's people (with an office, the benign machines, telemetry readers and
    product clickers) and browser-automation bots (:data:`AUTOMATION_BOTS`): the day the learned
    model is measured on (``training/targets.py``)."""
    mix = _benign_mix(humans, crawlers=2)
    mix.update(_profile_mix(humans))
    mix.update(AUTOMATION_BOTS if bots is None else bots)
    return generate(start=DEFAULT_START + WEEK if start is None else start, duration=DAY, seed=seed,
                    humans=humans, scenarios=mix, sitemap=sitemap)
