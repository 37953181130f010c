"""smartlayer_replay: backtesting on access logs, on the log's own clock."""
from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command

from smartlayer.offline.accesslog import iter_log
from smartlayer.offline.replay import Replayer
from smartlayer.sim import TrafficRecord, generate

FIXTURES = __import__("pathlib").Path(__file__).parent / "fixtures"
LOG = FIXTURES / "replay_handwritten.log"


def replay(lines, **kw):
    return Replayer(model=None, **kw).run(lines)


def test_handwritten_log_is_replayed_sensibly():
    reader = iter_log(LOG)
    result = replay(reader)
    stats = reader.stats
    assert stats.malformed == 3 and result.replayed == 12 and stats.blank == 1  # garbage, truncated, TLS bytes
    c = result.clients
    assert not c["ip:192.0.2.10"].caught                       # a person, apostrophe in a search included
    assert c["ip:192.0.2.10"].requests == 6                    # +0200 and -0500 lines are the same person
    assert c["ip:203.0.113.5"].first_blocked_index == 1        # empty user agent
    assert c["ip:192.0.2.51"].caught and "sqli" in next(iter(c["ip:192.0.2.51"].reasons))
    assert c["ip:192.0.2.77"].caught                           # encoded traversal in the query
    assert c["ip:2001:db8:4:5::/64"].requests == 2             # two addresses of one /64
    assert not c["ip:2001:db8:4:5::/64"].caught


def test_replay_uses_the_logs_clock_not_the_wall_clock(sl):
    sl(GREY_SUSTAINED_COUNT=0)  # the BLACK boundary alone (hammering one path is blocked sooner: test_decisions)
    # 60 requests in 6 seconds of log time: a flood, replayed in milliseconds
    recs = [TrafficRecord(ts=1_700_000_000 + i * 0.1, ip="198.18.0.9", method="GET", path="/", query="",
                          status=200, user_agent="Mozilla/5.0", response_ms=3.0) for i in range(60)]
    result = replay(recs)
    assert result.clients["ip:198.18.0.9"].first_blocked_index == 50
    # the same 60 requests spread over an hour are fine
    calm = [TrafficRecord(ts=1_700_000_000 + i * 60, ip="198.18.0.10", method="GET", path=f"/p/{i % 3}",
                          query="", status=200, user_agent="Mozilla/5.0", response_ms=3.0) for i in range(60)]
    assert not replay(calm).clients["ip:198.18.0.10"].caught


def test_bans_decided_in_the_replay_apply_to_later_lines(sl):
    sl(BAN_AFTER_BLOCKS=2, BAN_TTL=600)
    recs = [TrafficRecord(ts=1_700_000_000 + i, ip="198.18.0.11", method="GET", path="/", query="",
                          status=200, user_agent="", response_ms=1.0) for i in range(3)]
    recs += [TrafficRecord(ts=1_700_000_100, ip="198.18.0.11", method="GET", path="/", query="", status=200,
                           user_agent="Mozilla/5.0", response_ms=1.0)]
    result = replay(recs)
    assert result.clients["ip:198.18.0.11"].blocked_requests == 4  # the browser-UA line hit the ban
    assert result.decisions[("ban", "block")] == 2


def test_labels_give_per_scenario_figures():
    recs = generate(start=1_700_000_000, duration=3 * 3600, seed=3, humans=20,
                    scenarios={"vuln_scanner": 2, "enumeration": 1})
    result = replay(recs)
    table = {row["scenario"]: row for row in result.scenario_table()}
    assert table["vuln_scanner"]["recall"] == 1.0
    assert table["human"]["fp_rate"] == 0.0
    assert table["vuln_scanner"]["median_before_block"] is not None
    assert result.precision() == 1.0


def test_command_prints_and_writes_report(tmp_path):
    out = io.StringIO()
    call_command("smartlayer_replay", str(LOG), "--no-model", "--output", str(tmp_path), stdout=out)
    text = out.getvalue()
    assert "malformed: 3" in text and "replayed: 12" in text
    assert "ip:203.0.113.5" in text
    report = (tmp_path / "report.md").read_text()
    assert "Decisions per component" in report
    rows = list(csv.DictReader((tmp_path / "clients.csv").open()))
    by_client = {r["client"]: r for r in rows}
    assert by_client["ip:203.0.113.5"]["first_blocked_index"] == "1"
    jl = [json.loads(line) for line in (tmp_path / "clients.jsonl").open()]
    assert {r["client"] for r in jl} == set(by_client)


def test_command_with_labels_writes_pictures(tmp_path):
    from smartlayer.offline.accesslog import write_combined

    recs = generate(start=1_700_000_000, duration=2 * 3600, seed=5, humans=15, scenarios={"vuln_scanner": 1})
    log = tmp_path / "access.log"
    with log.open("w") as fp:
        write_combined(recs, fp, with_label=True)
    out = io.StringIO()
    call_command("smartlayer_replay", str(log), "--no-model", "--output", str(tmp_path / "r"), stdout=out)
    assert "per scenario" in out.getvalue()
    assert (tmp_path / "r" / "time_to_block.svg").read_text().startswith("<svg")
    assert "| vuln_scanner |" in (tmp_path / "r" / "report.md").read_text()


def test_config_overrides(tmp_path):
    out = io.StringIO()
    call_command("smartlayer_replay", str(LOG), "--no-model", "--config",
                 json.dumps({"black_block_empty_user_agent": False}), stdout=out)
    assert "ip:203.0.113.5" not in out.getvalue().split("clients:")[1].split("\n\n")[0]


def test_missing_file_and_unparseable_file_fail_clearly(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("smartlayer_replay", str(tmp_path / "nope.log"), stdout=io.StringIO())
    junk = tmp_path / "junk.log"
    junk.write_text("nothing\nhere\n")
    with pytest.raises(CommandError, match="could be parsed"):
        call_command("smartlayer_replay", str(junk), "--no-model", stdout=io.StringIO())
    with pytest.raises(CommandError, match="JSON"):
        call_command("smartlayer_replay", str(LOG), "--config", "{not json", stdout=io.StringIO())


def test_replay_never_touches_the_live_window_store():
    from smartlayer.state.windows import get_window_store

    live = get_window_store()
    recs = [TrafficRecord(ts=1_700_000_000 + i, ip="198.18.0.12", method="GET", path="/", query="", status=200,
                          user_agent="Mozilla/5.0", response_ms=1.0) for i in range(3)]
    replay(recs)
    assert len(live) == 0


def test_replay_applies_ip_bans_to_signed_in_users_like_the_live_site(sl):
    sl(BAN_AFTER_BLOCKS=1)
    recs = [TrafficRecord(ts=1_700_000_000, ip="198.18.0.13", method="GET", path="/", query="", status=200,
                          user_agent="", response_ms=1.0),   # empty UA: blocked, and banned at once
            TrafficRecord(ts=1_700_000_005, ip="198.18.0.13", method="GET", path="/account/", query="",
                          status=200, user_agent="Mozilla/5.0", response_ms=1.0, user_id="77")]
    result = replay(recs)
    assert result.clients["u:77"].caught  # a stolen session from a banned IP


def test_report_escapes_labels_from_the_log(tmp_path):
    """Labels come from the log file: a hostile one must not become markup in the report's SVG."""
    from smartlayer.offline.replay_report import write_report

    evil = '<script>alert(1)</script>'
    recs = [TrafficRecord(ts=1_700_000_000 + i, ip="198.18.0.20", method="GET", path="/.env", query="", status=404,
                          user_agent="", response_ms=1.0, label=evil) for i in range(3)]
    write_report(replay(recs), tmp_path)
    svg = (tmp_path / "time_to_block.svg").read_text()
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_replay_honours_allow_listed_networks_like_the_middleware(sl):
    sl(ALLOW_IPS=["198.18.0.0/24"])
    recs = [TrafficRecord(ts=1_700_000_000, ip="198.18.0.30", method="GET", path="/", query="", status=200,
                          user_agent="", response_ms=1.0)]
    assert not replay(recs).clients["ip:198.18.0.30"].caught  # empty UA, but allow-listed


def test_shared_scans_and_clients_decide_as_one_scan_per_line(monkeypatch):
    # the replay reuses a body-less request's payload scan and the client object of a sender
    # seen before: the decisions must be those of scanning and resolving every line afresh
    from smartlayer.offline import replay as replay_module

    recs = generate(start=1_700_000_000, duration=2 * 3600, seed=8, humans=15,
                    scenarios={"vuln_scanner": 2, "scraper": 1, "tampering": 1})
    shared = Replayer(model=None)
    shared.run(recs)
    assert shared._scans and len(shared._clients) < len(recs)

    monkeypatch.setattr(replay_module, "_SCAN_CACHE", 0)
    monkeypatch.setattr(replay_module, "_CLIENT_CACHE", 0)
    fresh = Replayer(model=None)
    fresh._scans = fresh._clients = type("Never", (dict,), {"get": lambda self, key: None})()
    fresh.run(recs)
    assert fresh.result.decisions == shared.result.decisions
    assert fresh.result.outcomes == shared.result.outcomes
    assert {k: c.as_row() for k, c in fresh.result.clients.items()} == \
        {k: c.as_row() for k, c in shared.result.clients.items()}
