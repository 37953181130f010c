"""Simulated actors: what benign and hostile clients of a shop actually do.

Each scenario is a generator function ``scenario(rng, actor, **params)``
yielding the :class:`~smartlayer.sim.TrafficRecord` s of one actor in
non-decreasing ``ts`` order, from ``actor.start`` on.  Benign scenarios run
until they are stopped (the driver in :mod:`~smartlayer.sim.generator`
stops at ``actor.end``); hostile ones have a natural length and place
themselves inside the window with :meth:`Actor.pick_start`.  All randomness
comes from the ``rng`` passed in, so an actor is a pure function of its seed.

Realism over separability: no single field gives an attacker away.
Scrapers and credential stuffers mostly send browser user agents, the
benign API client sends ``python-requests``, crawlers scan many distinct
paths, staff users visit ``/admin/``, humans hit stale links (404) and type
apostrophes into forms.  The label is the only ground truth.
"""
from __future__ import annotations

from ...labels import BENIGN_LABELS
from .automation import advanced_bot, moderate_bot
from .common import BROWSER_UAS, PAYLOADS, PROBE_PATHS, Actor, Scenario, activity
from .hostile import burst, credential_stuffing, distributed, enumeration, scraper, slow_drip, vuln_scanner
from .humans import human
from .machines import api_client, crawler, customer
from .office import office
from .profiled import path_probing, product_order, tampering, telemetry

#: Every scenario by label.  ``generate(scenarios={label: count})`` uses these.
SCENARIOS: dict[str, Scenario] = {
    "human": human,
    "api_client": api_client,
    "crawler": crawler,
    "customer": customer,
    "office": office,
    "scraper": scraper,
    "burst": burst,
    "credential_stuffing": credential_stuffing,
    "enumeration": enumeration,
    "vuln_scanner": vuln_scanner,
    "slow_drip": slow_drip,
    "distributed": distributed,
    "telemetry": telemetry,
    "product_order": product_order,
    "tampering": tampering,
    "path_probing": path_probing,
    "moderate_bot": moderate_bot,
    "advanced_bot": advanced_bot,
}
#: Labels of traffic a site does not want.
HOSTILE_LABELS = frozenset(SCENARIOS) - BENIGN_LABELS

__all__ = ["BROWSER_UAS", "HOSTILE_LABELS", "PAYLOADS", "PROBE_PATHS", "SCENARIOS", "Actor", "activity"]
