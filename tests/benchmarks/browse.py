"""``load.py --browse``: wrk's clients browse as the generated site's people do.

The plain load (and ``--model``) sends hurried direct page views without assets from
3,000 rotating addresses: to the rules and the model that is a crowd of scripts, and
smartlayer rightly refuses part of it.  Here wrk replays the *people* of a generated
normal week — with another seed than the week the model is trained on — so the figure is
the cost of inspecting benign traffic that looks benign:

* a visit (one person's requests without a gap of 30 min or more) is cut into **bursts**: a
  page view (``response_type`` text/html) and the assets and calls it fetched until the next
  page (:func:`bursts`); each request keeps its record's path and query, User-Agent, Accept,
  Referer and Sec-Fetch-* headers;
* client *n* replays person *n* mod the pool from its own ``X-Forwarded-For`` address, from
  one of that person's visits on, visit after visit (the half-hour pauses left out) — never
  the same short visit over and over (:func:`people`); the measured run takes up each
  client about where the warm-up left it (not at a landing page again);
* **pacing**: each wrk thread owns every ``threads``-th client; when a burst is done it picks
  its next client at random and sends that client's whole next burst back to back (over
  the thread's connections, like a browser's parallel connections).  So a client's page
  views arrive as a Poisson-like process whose mean dwell is
  ``clients × mean burst length ÷ requests/s`` (printed per round), irregular like a
  person's and not a fixed wait.

What it does not imitate: conditional requests (the week's 304s are answered 200), cookies
and sign-ins (no session cookie is sent), POSTs, and the deploy project answers ``/`` and
``/page/…`` as text/plain (its fixed routes) — every other page as text/html and the
assets under /static/, /media/ and /favicon.ico with their own type (tests/deploy/urls.py).
"""
from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

#: a gap this long (seconds) ends a visit (the session's end, as analytics tools cut them)
VISIT_GAP = 1800.0


def bursts(records: Sequence[Any]) -> list[list[Any]]:
    """Cut one visit's GET records (in time order) into bursts: a text/html page view
    followed by everything it fetched until the next page view.  Records before the
    visit's first page view (a cached page's assets) are dropped."""
    out: list[list[Any]] = []
    for r in records:
        if r.response_type == "text/html":
            out.append([r])
        elif out:
            out[-1].append(r)
    return out


def visits(week: Iterable[Any]) -> list[list[Any]]:
    """The human visits of a generated week: GET records per client, in time order, cut at
    gaps of :data:`VISIT_GAP` seconds or more."""
    per: dict[str, list[Any]] = defaultdict(list)
    for r in week:
        if r.label == "human" and r.method == "GET":
            per[r.client_id].append(r)
    out: list[list[Any]] = []
    for rs in per.values():
        rs.sort(key=lambda r: r.ts)
        cur: list[Any] = []
        for r in rs:
            if cur and r.ts - cur[-1].ts >= VISIT_GAP:
                out.append(cur)
                cur = []
            cur.append(r)
        if cur:
            out.append(cur)
    out.sort(key=lambda v: v[0].ts)
    return out


def dwell(sessions: Sequence[Sequence[list[Any]]]) -> dict[str, float]:
    """The distribution of the seconds between a visit's consecutive page views."""
    gaps = sorted(b[0].ts - a[0].ts for s in sessions for a, b in zip(s[:-1], s[1:], strict=True))
    q = {f"p{p}": gaps[int(p / 100 * (len(gaps) - 1))] for p in (10, 25, 50, 75, 90)}
    return {"n": len(gaps), "mean": statistics.fmean(gaps), **q}


def people(week: Iterable[Any], size: int, most: int = 150,
           ahead: int = 30) -> tuple[list[list[list[Any]]], list[list[int]]]:
    """Up to ``size`` of the week's people, each as its visits' bursts one after another (at most
    ``most``), and where each visit starts (indices into them).  A client replays a person from one
    of its visits on, without the half-hour pauses: looping one short visit instead would open its
    landing page (often direct, no referer) again and again and read the same few pages — the
    tells of a script, not of a person.

    The visits after a person's first are those it began from a link (a Referer: 54 % of the
    generated week's visits): the others begin with a typed or bookmarked page, which a person opens
    half an hour or more after the last page, not seconds — replayed back to back they are
    ``hurried_direct_pages``, a tell of automation (the week's 24,167 later page views hold 116
    without a Referer).  A client starts at a visit with at least ``ahead`` page views after it and
    people with fewer are left out: a run sends ~20 page views a client, and one that ran out would
    start over — two product pages read in a loop were refused, rightly.
    """
    per: dict[str, list[list[list[Any]]]] = defaultdict(list)
    for v in visits(week):
        if b := bursts(v):
            per[v[0].client_id].append(b)
    persons, starts = [], []
    for visits_ in list(per.values())[:size]:
        flat: list[list[Any]] = []
        first: list[int] = []
        for v in visits_:
            if len(flat) >= most:
                break
            if flat and not v[0][0].referer:
                continue   # typed in seconds after the last page, not half an hour: see above
            first.append(len(flat))
            flat += v
        flat = flat[:most]
        if first := [i for i in first if len(flat) - i >= ahead]:
            persons.append(flat)
            starts.append(first)
    return persons, starts


#: What every load script of ``load.py`` starts with: wrk's threads numbered (``tid``) and client
#: number *n*'s ``X-Forwarded-For`` address (``10.x.y.z``), the same in the plain and the browsing load.
WRK_PRELUDE = """
local created = 0
function setup(thread)
  thread:set("tid", created)
  created = created + 1
end
function client_ip(n)
  return string.format("10.%%d.%%d.%%d", math.floor(n / 65536) %% 256, math.floor(n / 256) %% 256, n %% 256)
end
"""

LUA = WRK_PRELUDE + """
-- browse: client n replays person n mod POOL from its own address, from one of its visits on
-- (plus the script's argument: the bursts a warm-up run already sent); each thread owns every
-- NTHREADS-th client and, burst after burst, sends a random client's whole next burst
local S = %(strings)s
local FETCH = %(fetch)s
local SESS = %(sessions)s
local STARTS = %(starts)s
local POOL, CLIENTS, NTHREADS = %(pool)d, %(clients)d, %(threads)d
function init(args)
  mine, nextb, cur, pos = {}, {}, nil, 2
  local skip = tonumber(args[1] or "0")
  for c = tid, CLIENTS - 1, NTHREADS do
    mine[#mine + 1] = c
    local s, st = SESS[(c %% POOL) + 1], STARTS[(c %% POOL) + 1]
    nextb[c] = (st[(math.floor(c / POOL) %% #st) + 1] + skip) %% #s
  end
  math.randomseed(7919 * (tid + 1))
end
function request()
  if cur == nil or pos > #cur then
    local c = mine[math.random(#mine)]
    local s = SESS[(c %% POOL) + 1]
    local b = nextb[c]
    nextb[c] = (b + 1) %% #s
    cur, pos = s[b + 1], 2
    ua = S[cur[1]]
    ip = client_ip(c)
  end
  local p, a, r, f = cur[pos], cur[pos + 1], cur[pos + 2], cur[pos + 3]
  pos = pos + 4
  local h = {["X-Forwarded-For"] = ip, ["User-Agent"] = ua, ["Accept"] = S[a]}
  if r > 0 then h["Referer"] = S[r] end
  if f > 0 then
    local t = FETCH[f]
    h["Sec-Fetch-Dest"], h["Sec-Fetch-Mode"], h["Sec-Fetch-Site"] = t[1], t[2], t[3]
  end
  return wrk.format("GET", S[p], h)
end
"""


def lua_script(persons: Sequence[Sequence[list[Any]]], starts: Sequence[Sequence[int]], clients: int,
               threads: int) -> str:
    """The wrk script replaying ``persons`` (bursts; ``starts``: where their visits begin); strings
    are interned (an index per distinct string) so a few hundred people stay a few hundred kB."""
    strings: dict[str, int] = {}
    fetches: dict[str, int] = {}

    def s(text: str) -> int:
        return strings.setdefault(text, len(strings) + 1)

    def lua(items: Iterable[str]) -> str:
        return "{" + ",".join(items) + "}"

    sess = []
    for person in persons:
        bs = []
        for burst in person:
            flat = [s(burst[0].user_agent)]
            for r in burst:
                target = r.path + (f"?{r.query}" if r.query else "")
                f = fetches.setdefault(r.fetch, len(fetches) + 1) if r.fetch.count("/") == 2 else 0
                flat += [s(target), s(r.accept or "*/*"), s(r.referer) if r.referer else 0, f]
            bs.append(lua(map(str, flat)))
        sess.append(lua(bs))
    return LUA % {"strings": lua(json.dumps(t) for t in strings),
                  "fetch": lua(lua(json.dumps(x) for x in f.split("/")) for f in fetches),
                  "sessions": lua(sess),
                  "starts": lua(lua(str(i) for i in st) for st in starts), "pool": len(persons), "clients": clients, "threads": threads}


def week_people(seed: int, size: int) -> tuple[list[list[list[Any]]], list[list[int]], dict[str, float]]:
    """:func:`people` of the normal week of ``seed`` and a summary of that week's people: the
    dwell between page views, requests per page view."""
    from smartlayer.sim import generate_normal_week

    week = generate_normal_week(seed=seed, profiled=True)
    every = [b for b in (bursts(v) for v in visits(week)) if b]
    persons, starts = people(week, size)
    stats = dwell(every)
    stats["burst"] = statistics.fmean(len(b) for s in every for b in s)
    stats["pool_burst"] = statistics.fmean(len(b) for p in persons for b in p)
    return persons, starts, stats


def refusals(url: str, since: float, first_id: int, grace: int = 20) -> dict[str, Any]:
    """What the measured part of a round did, from the request log (one query each):
    refusals by component and reason, and the share of requests from clients past the grace
    period (the client's inspected requests since the server started, /static/ excluded — an
    exempt prefix in the deploy settings, recorded but not counted)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        reasons = conn.execute(
            "SELECT blocked_by, left(reason, 60), count(*) FROM smartlayer_requestlog WHERE id > %s AND "
            "timestamp >= to_timestamp(%s) AND was_blocked GROUP BY 1, 2 ORDER BY 3 DESC",
            (first_id, since)).fetchall()
        past, total = conn.execute(
            "SELECT count(*) FILTER (WHERE n > %s), count(*) FROM (SELECT timestamp, row_number() OVER "
            "(PARTITION BY client_key ORDER BY id) AS n FROM smartlayer_requestlog WHERE id > %s AND path NOT "
            "LIKE '/static/%%') t WHERE timestamp >= to_timestamp(%s)", (grace, first_id, since)).fetchone()
    return {"reasons": [(f"{b}: {r}", n) for b, r, n in reasons], "past_grace": past / max(1, total)}
