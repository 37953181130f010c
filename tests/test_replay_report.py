"""The replay's report reads true: decisions add up to the lines replayed, times are ISO,
rule-score charts say "rule score" and tick on whole numbers, every chart says which clients
it leaves out, the refused clients are listed, and report.html needs nothing from the network."""
from __future__ import annotations

import csv
import re

import pytest

from smartlayer.offline.replay import Replayer
from smartlayer.offline.replay_report import write_report
from smartlayer.sim import TrafficRecord, generate

pytestmark = pytest.mark.django_db

EPOCH = re.compile(r"\b1[0-9]{9}(\.[0-9]+)?\b")


@pytest.fixture(scope="module")
def labelled():
    recs = generate(start=1_700_000_000, duration=2 * 3600, seed=5, humans=15,
                    scenarios={"vuln_scanner": 2, "enumeration": 1})
    # two lines on an exempt path: never inspected, still lines replayed
    recs += [TrafficRecord(ts=1_700_000_000 + i, ip="198.18.0.50", method="GET", path="/static/app.js", query="",
                           status=200, user_agent="", response_ms=1.0, label="human") for i in range(2)]
    recs.sort(key=lambda r: r.ts)
    return recs


@pytest.fixture
def report(labelled, tmp_path):
    result = Replayer(model=None).run(labelled)
    write_report(result, tmp_path, title="Replay of test")
    return result, tmp_path


def test_decisions_add_up_to_the_lines_replayed(report):
    result, out = report
    assert sum(result.outcomes.values()) == result.replayed
    assert result.outcomes[("exempt", "pass")] >= 2  # ours, and the static files people fetch
    md = (out / "report.md").read_text()
    assert f"| **total** | | **{result.replayed:,}** |" in md
    html = (out / "report.html").read_text()
    assert re.search(rf'<tr class="total"><td>total</td><td></td><td class=n>{result.replayed:,}</td></tr>', html)


def test_times_are_iso_never_epochs(report):
    result, out = report
    rows = list(csv.DictReader((out / "clients.csv").open()))
    refused = [r for r in rows if r["first_blocked_index"]]
    assert refused and all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", r["first_blocked_at"]) for r in refused)
    for name in ("report.md", "report.html"):
        text = (out / name).read_text()
        assert not EPOCH.search(re.sub(r"<svg.*?</svg>", "", text, flags=re.S)), name
        assert "2023-11-14T22:13:20Z" in text  # the log's first line, as ISO


def test_refused_clients_are_listed(report):
    result, out = report
    refused = [c.client for c in result.clients.values() if c.caught]
    assert refused
    md, html = (out / "report.md").read_text(), (out / "report.html").read_text()
    assert f"## Refused clients ({len(refused)})" in md
    for key in refused:
        assert f"`{key}`" in md and f"<td>{key}</td>" in html


def test_rule_score_charts_are_labelled_as_such_with_whole_ticks(report):
    _, out = report
    for name in ("rule_scores_benign.svg", "rule_scores_hostile.svg"):
        svg = (out / name).read_text()
        assert "anomaly score" not in svg and "rule score" in svg
        ticks = re.findall(r'<text x="[\d.]+" y="\d+" text-anchor="middle" fill="#666">([^<]+)</text>', svg)
        numbers = [t for t in ticks if re.fullmatch(r"-?[\d.]+", t)]
        assert numbers and all(re.fullmatch(r"-?\d+", t) for t in numbers), ticks
        assert ">clients</text>" in svg  # the y axis says what it counts


def test_each_chart_explains_whom_it_counts(report):
    result, out = report
    md = (out / "report.md").read_text()
    hostile = [c for c in result.clients.values() if c.label and c.label not in ("human", "api_client", "crawler",
                                                                               "office")]
    assert "Every hostile client is counted once" in md
    assert "## Rule scores, hostile clients" in md
    assert f"hostile clients: {len(hostile):,} clients" in (out / "rule_scores_hostile.svg").read_text()


def test_html_is_one_self_contained_page(report):
    _, out = report
    html = (out / "report.html").read_text()
    assert html.startswith("<!doctype html>") and html.count("<svg") >= 3
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert not re.search(r'(src|href)\s*=\s*["\']?(https?:)?//', html)
    urls = set(re.findall(r"https?://[^\s\"'<>]+", html))
    assert urls <= {"http://www.w3.org/2000/svg"}, urls


def test_model_chart_explains_unscored_clients(labelled, tmp_path):
    """With a model: of N hostile clients, those without a score are accounted for."""
    from smartlayer.offline import replay_report

    result = Replayer(model=None).run(labelled)
    result.model_version = "v-test"
    some = [c for c in result.clients.values() if c.label == "vuln_scanner"][:1]
    for c in some:
        c.max_model_score = 0.7
    notes = {c.caption: c.note for c in replay_report.charts(result, 0.6)}
    note = notes["Model anomaly scores, hostile clients"]
    hostile = [c for c in result.clients.values() if c.label and c.label not in ("human", "api_client", "crawler",
                                                                               "office")]
    numbers = [int(n.replace(",", "")) for n in re.findall(r"\b[\d,]+\b", note)]
    scored, total, _grace, short, refused = numbers[:5]
    assert (scored, total) == (1, len(hostile)) and short + refused == total - scored


def test_labels_from_the_log_are_escaped_in_html(tmp_path):
    evil = "<img src=x onerror=alert(1)>"
    recs = [TrafficRecord(ts=1_700_000_000 + i, ip="198.18.0.21", method="GET", path="/.env", query="", status=404,
                          user_agent="", response_ms=1.0, label=evil) for i in range(3)]
    write_report(Replayer(model=None).run(recs), tmp_path)
    html = (tmp_path / "report.html").read_text()
    assert "<img" not in html and "&lt;img src=x" in html
