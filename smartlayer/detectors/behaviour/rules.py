"""The documented behaviour rules of AIAnomalyDetector, as pure functions.

Input: a :class:`~smartlayer.state.windows.window.Snapshot` of one client (the current
request included) and the settings.  Output: a :class:`RuleResult`.  No
request object, no cache, no database — so every rule is tested at its
boundary without HTTP, and the replay command runs the same code on old logs.

Counting conventions (documented in the README):

* request counts include the current request: the 50th request within 10 s
  is the first one blocked;
* error rates use finished requests only, and leave out responses smartlayer
  itself blocked, so a block does not feed the error rule;
* the grace period: while a client has made at most ``grey_grace_requests``
  requests in 24 h (the current one included), it is not scored — the first
  20 requests never are.  The BLACK rules apply from the first request.

One BLACK rule is a smartlayer addition to the documented three:
``login_flood`` — ``LOGIN_FLOOD_ATTEMPTS`` POSTs to ``LOGIN_PATHS`` within
``LOGIN_FLOOD_WINDOW`` seconds (the current one included).  Credential
stuffing answered 200 (a failed form login re-renders the page) trips no error
rule and, at a few attempts a minute, no rate rule either.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...conf import derived, sl_settings
from ...request.facts import (
    FLAG_AUTHENTICATED,
    FLAG_EMPTY_UA,
    FLAG_SENSITIVE,
    FLAG_SUSPICIOUS_UA,
    is_login_attempt,
    probing_run,
)
from ...state.windows.window import Snapshot


@dataclass(slots=True)
class RuleResult:
    black: list[str] = field(default_factory=list)   # BLACK rules that fired
    score: int = 0                                    # GREY suspicion score
    fired: list[str] = field(default_factory=list)   # GREY rules that fired
    in_grace: bool = False
    hammering: bool = False   # elevated rate on ≤ grey_burst_max_paths paths (see decisions, sustained rate)
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def reasons(self) -> list[str]:
        return [f"black:{n}" for n in self.black] + [f"grey:{n}" for n in self.fired]


@derived
def weights() -> dict[str, int]:
    from ...conf import DEFAULT_GREY_WEIGHTS

    merged = dict(DEFAULT_GREY_WEIGHTS)
    merged.update(sl_settings.grey_weights or {})
    return merged


#: Rules that count what a visit has more of the faster it goes from page to page: distinct pages a
#: minute.  A person reading quickly through the site's links (an office colleague opening a product
#: every few seconds) reaches 15 of them, and the model flags that same visit for its length; on a
#: visit paced like reading (:func:`smartlayer.ml.tells.paced_like_reading`) such a rule is the
#: flags' evidence counted a second time, not a rule agreeing with them (:func:`agreeing_score`).
LENGTH_RULES = frozenset({"endpoint_scanning"})


def agreeing_score(fired: list[str], score: int, reading: bool | None) -> int | None:
    """The rule score that agrees with the model's flags on this request (None: the whole score).

    ``reading``: the model judged the window's page views paced like a person's reading
    (``ModelScore.reading``).  Then the weight of :data:`LENGTH_RULES` is left out: the rule and
    the flags both say "many pages, quickly" of a visit whose pace is a reader's.  A script's pace
    (a fixed wait, a short constant pause, a task list's 2–6 s) is never judged reading, so a bot
    opening as many pages keeps the rule's agreement, and the rule itself still fires (its score
    and reason are recorded as before)."""
    if not reading or not LENGTH_RULES.intersection(fired):
        return None
    w = weights()
    return score - sum(int(w.get(name, 0)) for name in fired if name in LENGTH_RULES)


def summarise(snap: Snapshot) -> dict[str, Any]:
    """Raw behavioural facts of a client — no scores, no labels.

    These are what the rules read, what an LLM is shown for a grey-zone
    client, and part of what the model's features are made of.
    """
    s = sl_settings
    current = snap.arrivals[-1] if snap.arrivals else (snap.now, "GET", "/", 0)
    # the counts over the last 10 s, 60 s and 2 min, kept running by the window (state.windows.recent)
    recent = snap.recent
    finished, errors = recent.finished_2min, recent.errors_2min
    idle_from, idle_to = s.grey_idle_window
    login_attempts = 0
    if s.LOGIN_FLOOD_ATTEMPTS and is_login_attempt(current[1], current[2]):
        # counted only when the current request is itself an attempt: that is
        # the request the rule refuses, and the common request pays nothing
        login_attempts = sum(1 for a in snap.arrivals_since(s.LOGIN_FLOOD_WINDOW) if is_login_attempt(a[1], a[2]))
    count_10s = recent.count_10s
    if current[3] & FLAG_AUTHENTICATED:  # only customers have plan-governed requests; the rest pay nothing
        count_10s -= recent.governed_10s
    return {
        "count_10s": count_10s,
        "distinct_paths_10s": recent.paths_10s,
        "count_24h": snap.count_last_day(),
        "finished_2min": finished,
        "errors_2min": errors,
        "error_rate_2min": (errors * 100.0 / finished) if finished else 0.0,
        "distinct_paths_1min": recent.paths_60s,
        "sequential_run_1min": recent.sequential_run_60s,
        "idle_before": snap.count_between(idle_from, idle_to) == 0,
        "login_attempts": login_attempts,
        "current_path": current[2],
        "current_method": current[1],
        "recent_paths": list(recent.recent_paths),
        "authenticated": bool(current[3] & FLAG_AUTHENTICATED),
        "suspicious_user_agent": bool(current[3] & FLAG_SUSPICIOUS_UA),
        "empty_user_agent": bool(current[3] & FLAG_EMPTY_UA),
        "sensitive_path": bool(current[3] & FLAG_SENSITIVE),
    }


#: Endpoint classes that are a page's resources, not endpoints a client chose.
_RESOURCES = frozenset({"asset", "telemetry"})


def apply_profile(facts: dict[str, Any], snap: Snapshot, profile: Any) -> None:
    """With a site profile: rates counted against each endpoint's learned norm, ids judged by navigation.

    ``count_10s`` becomes the requests beyond what this site's clients send to
    those endpoints at their usual pace (``count_10s_raw`` keeps the total),
    so a page's beacons or an app's polling at their usual pace are no flood;
    ``sequential_run_1min`` leaves out the ids a reader reached by following
    the site's own links at page pace (:func:`~smartlayer.request.facts.probing_run`);
    ``distinct_paths_1min`` leaves out the site's assets and beacons (a page's images and telemetry are
    not a scan).
    Only computed when a rate rule could fire or a run is long enough to count.
    """
    s = sl_settings
    raw = facts["count_10s"]
    if raw >= min(int(s.grey_elevated_rate_10s), int(s.grey_burst_requests_10s)):
        normal = profile.normal_count(snap.arrivals_since(10))
        facts["count_10s_raw"], facts["count_10s_normal"] = raw, normal
        facts["count_10s"] = max(1, raw - normal)
    if facts["distinct_paths_1min"] >= s.grey_scan_distinct_paths:
        # the images, files and beacons of the pages a client reads are not endpoints it scans
        # (a page's resources: the model's features leave them out of the client's own requests too)
        paths = {a[2] for a in snap.arrivals_since(60)}
        facts["distinct_paths_raw"] = facts["distinct_paths_1min"]
        facts["distinct_paths_1min"] = sum(1 for p in paths if profile.endpoint_class(p) not in _RESOURCES)
    if facts["sequential_run_1min"] >= s.grey_sequential_ids:
        facts["sequential_run_raw"] = facts["sequential_run_1min"]
        facts["sequential_run_1min"] = probing_run(snap.arrivals_since(60), float(s.PROFILE_PAGE_PACE))


def evaluate(snap: Snapshot, *, is_staff: bool = False, shared: Any = None, rate_governed: bool = False,
             crawler: str | None = None, profile: Any = None) -> RuleResult:
    """Apply the BLACK rules and the GREY scoring to one snapshot.

    ``shared``: the clients behind this address
    (:class:`~smartlayer.state.windows.window.SharedAddress`) when the client
    presents a site cookie — the address flood limit grows with them.
    ``rate_governed``: a signed-in customer on a route its plan covers — the
    plan's quota answers for the rate (429), so the rate rules do not.
    ``crawler``: ``"polite"`` for a declared crawler that keeps to robots.txt
    (it is not refused for crawling: many distinct paths, ids in order),
    ``"refused"`` for a declared crawler ``CRAWLER_POLICY`` does not allow.
    ``profile``: the active site profile (:func:`apply_profile`); None: today's fixed thresholds.
    """
    s = sl_settings
    facts = summarise(snap)
    if profile is not None:
        apply_profile(facts, snap, profile)
    result = RuleResult([], 0, [], False, False, facts)   # positional (black … facts): no dict of keywords

    # ── BLACK: instant blocks, from the first request ──────────────────────
    if s.black_block_empty_user_agent and facts["empty_user_agent"]:
        result.black.append("empty_user_agent")
    if crawler == "refused":
        result.black.append("crawler_not_allowed")
    if not rate_governed:
        if facts["count_10s"] >= s.black_requests_10s:
            result.black.append("request_flood")
        if shared is not None:
            # the address as a whole: every request from it in 10 s (this one included)
            # against the flood limit times the clients established behind it
            clients = min(int(s.SHARED_ADDRESS_MAX_CLIENTS), max(1, shared.clients))
            facts["address_count_10s"], facts["address_clients"] = shared.count_10s + 1, clients
            if shared.count_10s + 1 >= s.black_requests_10s * clients and "request_flood" not in result.black:
                result.black.append("address_flood")
    if (facts["finished_2min"] >= s.black_error_min_requests
            and facts["error_rate_2min"] >= s.black_error_rate_percent):
        result.black.append("error_flood")
    if s.LOGIN_FLOOD_ATTEMPTS and facts["login_attempts"] >= s.LOGIN_FLOOD_ATTEMPTS:
        result.black.append("login_flood")

    # ── GREY: suspicion score, after the grace period ──────────────────────
    if facts["count_24h"] <= s.grey_grace_requests:
        result.in_grace = True
        return result
    w = weights()
    fired = result.fired
    if facts["suspicious_user_agent"]:
        fired.append("suspicious_user_agent")
    if not rate_governed and s.grey_elevated_rate_10s <= facts["count_10s"] < s.black_requests_10s:
        fired.append("elevated_rate")
        # not a signal of its own (no weight): what the sustained-rate policy counts
        result.hammering = facts["distinct_paths_10s"] <= s.grey_burst_max_paths
    if (facts["finished_2min"] >= s.black_error_min_requests
            and s.grey_error_rate_percent <= facts["error_rate_2min"] < s.black_error_rate_percent):
        fired.append("moderate_error_rate")
    if facts["sensitive_path"] and not is_staff:
        fired.append("sensitive_path")
    if crawler != "polite" and facts["distinct_paths_1min"] >= s.grey_scan_distinct_paths:
        fired.append("endpoint_scanning")
    if crawler != "polite" and facts["sequential_run_1min"] >= s.grey_sequential_ids:
        fired.append("sequential_id_probing")
    if (not rate_governed and facts["idle_before"] and facts["count_10s"] >= s.grey_burst_requests_10s
            and facts["distinct_paths_1min"] <= s.grey_burst_max_paths):
        fired.append("burst_after_idle")
    if not facts["authenticated"]:
        fired.append("unauthenticated")
    score = 0
    for name in fired:   # a loop, not sum() of a generator: no generator (nor cell for ``w``) a request
        score += int(w.get(name, 0))
    result.score = score
    return result
