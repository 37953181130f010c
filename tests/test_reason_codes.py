"""Reason codes are stable: every code a decision carries is in the one catalogue
(smartlayer.request.reasons), none carries a counter or a score, and the README's
table is the catalogue's."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from smartlayer.detectors.payload.signatures import SIGNATURES
from smartlayer.policy import enforce
from smartlayer.policy.decisions import combine, escalate
from smartlayer.request.client import Client
from smartlayer.request.context import RequestContext
from smartlayer.request.decision import Action, Decision, Evidence
from smartlayer.request.reasons import CATALOGUE, ban_code, entry, payload_code, readme_table
from smartlayer.state.ban_backends import MemoryBans

ROOT = Path(__file__).resolve().parent.parent


def codes_of(decision: Decision) -> list[str]:
    return ([decision.reason] if decision.reason else []) + list(decision.reasons)


def assert_catalogued(decision: Decision) -> None:
    for code in codes_of(decision):
        assert entry(code) is not None, f"{code!r} is not in smartlayer.request.reasons.CATALOGUE"


def test_no_code_in_the_catalogue_carries_a_number():
    for code in CATALOGUE:
        assert not re.search(r"\d", code), code
        assert re.fullmatch(r"[a-z_]+(:[a-z_<>]+)?", code), code


def test_the_readme_table_is_the_catalogue():
    readme = (ROOT / "README.md").read_text()
    assert readme_table() in readme
    rows = re.findall(r"^\| `([^`]+)` \| (?:anomaly|validator|ratelimit|ban|any) \|", readme, re.M)
    assert rows == list(CATALOGUE)


def test_every_behaviour_rule_has_its_code():
    """A rule added to rules.py without a catalogue entry fails here."""
    source = (ROOT / "smartlayer/detectors/behaviour/rules.py").read_text()
    black = set(re.findall(r'black\.append\("(\w+)"\)', source))
    grey = set(re.findall(r'fired\.append\("(\w+)"\)', source))
    assert black and grey
    assert {f"black:{n}" for n in black} <= set(CATALOGUE)
    assert {f"grey:{n}" for n in grey} <= set(CATALOGUE)


def test_every_signature_is_a_payload_code_and_the_location_stays_out():
    for sig in SIGNATURES:
        assert entry(payload_code(f"{sig.name}@header:user-agent")) is CATALOGUE["payload:<signature>"]
    assert payload_code("sqli_union_select@query") == "payload:sqli_union_select"
    assert entry("payload:a b") is None and entry("grey:score_8") is None and entry("nonsense") is None


def test_ban_codes_name_the_source():
    assert [ban_code(s) for s in ("rule", "model", "llm", "admin")] == ["ban:rule", "ban:model", "ban:llm",
                                                                         "ban:admin"]
    assert ban_code(None) == "ban:admin"


def ev(**kw) -> Evidence:
    return Evidence("anomaly", **kw)


@pytest.mark.parametrize("evidence, reason, numbers", [
    (ev(rule_score=9, rules_fired=["sensitive_path", "elevated_rate", "unauthenticated"]), "grey:score",
     {"score": 9, "rule_score": 9}),
    (ev(rule_score=5, rules_fired=["elevated_rate", "burst_after_idle"]), "grey:suspicion", {"score": 5}),
    (ev(rule_score=5, rules_fired=["elevated_rate"], grey_flags=7), "grey:sustained_rate",
     {"grey_flags": 7, "score": 5}),
    (ev(rule_score=6, model_score=0.65, model_threshold=0.6, model_flags=1), "grey:score",
     {"score": 8, "rule_score": 6}),
    (ev(rule_score=0, model_score=0.9, model_threshold=0.6), "model:ban_score", {"model_score": 0.9}),
    (ev(rule_score=2, model_score=0.65, model_threshold=0.6, model_flags=5), "model:sustained", {"model_flags": 5}),
    (ev(rule_score=5, llm_verdict="BLOCK"), "llm:block", {"score": 5}),
    (Evidence("validator", payload_score=4, payload_hits=["sqli_union_select@query", "sqli_union_select@body"]),
     "payload:sqli_union_select", {"payload_score": 4}),
    (Evidence("validator", payload_score=1, payload_hits=["sqli_function@query"], llm_confidence=90),
     "llm:payload_block", {"llm": {"verdict": None, "confidence": 90}}),
    (Evidence("validator", payload_score=1, payload_hits=["sqli_function@query"]), "payload:borderline",
     {"payload_score": 1}),
])
def test_the_numbers_go_to_the_details(evidence, reason, numbers):
    d = combine(evidence)
    assert d.reason == reason
    assert_catalogued(d)
    assert {k: d.details.get(k) for k in numbers} == numbers
    assert len(d.reasons) == len(set(d.reasons))  # one code per cause, whatever the count of hits


def test_escalation_and_protections_are_codes(sl):
    d = escalate(combine(ev(rule_score=8)), 5)
    assert d.action is Action.BAN and "repeat:blocks" in d.reasons and d.details["blocks"] == 5
    assert_catalogued(d)
    client = Client(key="ip:127.0.0.1", ip="127.0.0.1", user_id=None, authenticated=False)
    ctx = RequestContext(client=client, method="GET", path="/", user_agent="x", started=0.0, t0=0.0)
    d = enforce.decide(ev(black=["login_flood"]), ctx, bans=MemoryBans(), now=1.0)
    assert d.action is Action.BLOCK and "ban_withheld:loopback" in d.reasons
    assert_catalogued(d)


def test_every_quota_has_its_code():
    from smartlayer.detectors.ratelimit import LIMIT_TYPES
    from smartlayer.request.reasons import quota_code

    assert all(quota_code(name) in CATALOGUE for name in LIMIT_TYPES)


@pytest.mark.django_db
def test_a_refusal_by_a_ban_names_the_ban(browser, flush_logs):
    from smartlayer.models import RequestLog
    from smartlayer.state import bans

    obj = bans.ban("ip:203.0.113.10", reason="probing /.env", source="admin")
    assert browser.get("/page/1").status_code == 403
    flush_logs()
    row = RequestLog.objects.get()
    d = row.details["decisions"][0]
    assert (row.reason, d["reasons"]) == ("ban:admin", ["ban:admin"])
    assert (d["ban_id"], d["ban_reason"]) == (obj.pk, "probing /.env")
