"""Seeded, labelled synthetic traffic for a Django site.

Real attack traffic with ground-truth labels is hard to come by, and the
rules, the learned model, the replay command and the demo all need some.
This package simulates actors against a configurable site map
(:mod:`~smartlayer.sim.sitemap`) and writes down what each one did, the
status the site would have answered and who really sent it (``label``).

* :class:`TrafficRecord` — one request, the shape every producer and
  consumer agrees on; ``label`` is the scenario that produced it.
* :func:`generate` and the ready-made :func:`generate_normal_week` /
  :func:`generate_attack_day` / :func:`generate_automation_day` (people and
  browser-automation bots) — deterministic for a seed; :func:`with_telemetry`
  and :func:`drifted` give the site telemetry on every page, then a release
  that adds a beacon endpoint and doubles the rate.
* :func:`to_jsonl` / :func:`read_jsonl` — the lossless on-disk form.  The
  combined access-log form lives in :mod:`smartlayer.offline.accesslog`.

The record type is defined here rather than in ``generator`` because the
scenarios build records and the generator drives the scenarios: a shared
leaf module is the only way to avoid an import cycle.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import IO

from ..labels import BENIGN_LABELS


@dataclass(slots=True)
class TrafficRecord:
    """One simulated request and the answer the real site would have given.

    ``label`` and ``client_id`` are ground truth (``client_id`` reads
    ``<label>-<n>``): use them to score a detector, never as its input.
    """

    ts: float                  # unix seconds (UTC)
    ip: str
    method: str
    path: str                  # no query string
    query: str                 # raw query string without '?', may be ""
    status: int                # the status the real site would answer
    user_agent: str
    response_ms: float
    body: str = ""             # for POSTs (form-encoded or JSON text)
    content_type: str = ""
    user_id: str | None = None  # set for authenticated sessions
    referer: str = ""
    bytes_sent: int = 0
    label: str = "human"       # scenario name; see BENIGN_LABELS
    client_id: str = ""        # stable id of the simulated actor
    cookie: str = ""           # the site's session/CSRF cookie the client presents ("" for none)
    plan: str = ""             # the signed-in user's plan ("" for none): what PLAN_FIELD would read
    accept: str = ""           # the Accept header
    fetch: str = ""            # Sec-Fetch-Dest/Mode/Site as "dest/mode/site" ("" when not a browser)
    xrw: bool = False          # X-Requested-With: XMLHttpRequest
    response_type: str = ""    # media type of the answer
    staff: bool = False        # signed in as a staff member (what ``request.user.is_staff`` would say)

    @property
    def is_benign(self) -> bool:
        return self.label in BENIGN_LABELS


#: Field names in declaration order: the JSON keys of :func:`to_jsonl`.
RECORD_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(TrafficRecord))


def to_jsonl(records: Iterable[TrafficRecord], fp: IO[str]) -> int:
    """Write one JSON object per record (every field, label included).

    Floats are written with ``repr`` precision, so :func:`read_jsonl` gives
    back records equal to the ones written.  Returns the number written.
    """
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    names = RECORD_FIELDS
    n = 0
    for rec in records:
        fp.write(dumps({name: getattr(rec, name) for name in names}))
        fp.write("\n")
        n += 1
    return n


def read_jsonl(fp: IO[str] | Iterable[str]) -> list[TrafficRecord]:
    """Read what :func:`to_jsonl` wrote.  Blank lines are skipped.

    Strict on purpose: an unknown or missing key raises, because this is the
    lossless format.  Tolerant reading of foreign logs (JSON or combined) is
    :func:`smartlayer.offline.accesslog.iter_log`'s job.
    """
    loads = json.loads
    return [TrafficRecord(**loads(line)) for line in fp if line.strip()]


# The submodules import TrafficRecord from this module, so they come last.
from .generator import (  # noqa: E402
    DEFAULT_START,
    drifted,
    generate,
    generate_attack_day,
    generate_automation_day,
    generate_normal_week,
    with_telemetry,
)
from .scenarios import HOSTILE_LABELS, SCENARIOS  # noqa: E402
from .sitemap import SiteMap  # noqa: E402

__all__ = [
    "BENIGN_LABELS",
    "DEFAULT_START",
    "HOSTILE_LABELS",
    "RECORD_FIELDS",
    "SCENARIOS",
    "SiteMap",
    "TrafficRecord",
    "drifted",
    "generate",
    "generate_attack_day",
    "generate_automation_day",
    "generate_normal_week",
    "read_jsonl",
    "to_jsonl",
    "with_telemetry",
]
