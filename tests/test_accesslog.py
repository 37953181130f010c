"""Access-log formatting and tolerant parsing."""
from __future__ import annotations

import gzip
import io
import math
from datetime import datetime, timezone
from pathlib import Path

import pytest

from smartlayer.offline.accesslog import (
    MAX_FIRST_ERRORS,
    LogStats,
    format_clf_time,
    format_combined,
    iter_log,
    parse_clf_time,
    parse_line,
    read_log,
    write_combined,
)
from smartlayer.sim import DEFAULT_START, TrafficRecord, generate, to_jsonl

FIXTURE = Path(__file__).parent / "fixtures" / "odd_access.log"
T0 = datetime(2023, 10, 10, 13, 55, 36, tzinfo=timezone.utc).timestamp()


def record(**kw) -> TrafficRecord:
    base = dict(ts=DEFAULT_START + 3723.9, ip="203.0.113.7", method="GET", path="/p/", query="q=1",
                status=200, user_agent="curl/8.5.0", response_ms=42.4, bytes_sent=512, label="scraper")
    base.update(kw)
    return TrafficRecord(**base)


@pytest.fixture(scope="module")
def traffic() -> list[TrafficRecord]:
    return generate(start=DEFAULT_START + 9 * 3600, duration=3 * 3600, seed=4, humans=30,
                    scenarios={"vuln_scanner": 2, "credential_stuffing": 1, "api_client": 1, "crawler": 1})


# ── timestamps ────────────────────────────────────────────────────────────
def test_format_time():
    assert format_clf_time(DEFAULT_START + 3723.9) == "01/Jan/2024:01:02:03 +0000"
    assert format_clf_time(T0) == "10/Oct/2023:13:55:36 +0000"


@pytest.mark.parametrize("text", [
    "10/Oct/2023:13:55:36 +0000", "10/Oct/2023:15:55:36 +0200", "10/Oct/2023:08:25:36 -0530",
    "10/Oct/2023:15:55:36 +02:00", "10/Oct/2023:13:55:36",
])
def test_parse_time_converts_to_utc(text):
    assert parse_clf_time(text) == T0
    assert parse_clf_time(text) == T0  # cached answer is the same


def test_parse_time_fraction_and_garbage():
    assert parse_clf_time("10/Oct/2023:13:55:36.250 +0000") == T0 + 0.25
    for bad in ("99/Foo/2023:13:55:36 +0000", "31/Feb/2023:13:55:36 +0000", "10/Oct/2023 13:55:36",
                "10/Oct/2023:13:55:36 0000", "yesterday", ""):
        assert parse_clf_time(bad) is None, bad


# ── format ────────────────────────────────────────────────────────────────
def test_format_combined_exact():
    rec = record(user_id="42", referer="https://shop.example.com/")
    assert format_combined(rec) == (
        '203.0.113.7 - 42 [01/Jan/2024:01:02:03 +0000] "GET /p/?q=1 HTTP/1.1" 200 512 '
        '"https://shop.example.com/" "curl/8.5.0"'
    )
    assert format_combined(rec, with_label=True).endswith(' "curl/8.5.0" "scraper"')
    assert format_combined(rec, with_label=True, with_request_time=True).endswith(' "curl/8.5.0" 0.042 "scraper"')


def test_format_combined_placeholders_and_escapes():
    rec = record(query="", user_agent='say "hi"\\\t', referer="")
    line = format_combined(rec)
    assert '"GET /p/ HTTP/1.1"' in line and ' "-" ' in line
    assert line.endswith(r'"say \"hi\"\\\x09"')
    assert "\t" not in line and "\n" not in line


def _assert_round_trip(rec: TrafficRecord, parsed, *, label: bool, rt: bool) -> None:
    assert parsed is not None
    assert parsed.ts == math.floor(rec.ts)
    assert (parsed.ip, parsed.method, parsed.path, parsed.query, parsed.status, parsed.bytes_sent) == \
        (rec.ip, rec.method, rec.path, rec.query, rec.status, rec.bytes_sent)
    assert (parsed.referer, parsed.user_agent, parsed.user_id) == (rec.referer, rec.user_agent, rec.user_id)
    assert parsed.label == (rec.label if label else None)
    if rt:
        assert parsed.response_ms == pytest.approx(rec.response_ms, abs=0.51)
    else:
        assert parsed.response_ms is None


@pytest.mark.parametrize(("label", "rt"), [(False, False), (True, False), (True, True), (False, True)])
def test_combined_round_trip(traffic, label, rt):
    for rec in traffic:
        line = format_combined(rec, with_label=label, with_request_time=rt)
        _assert_round_trip(rec, parse_line(line + "\n"), label=label, rt=rt)


@pytest.mark.parametrize("agent", ['a "quoted" agent', "back\\slash", 'both \\" mixed', "ctrl\x01\x7fchars",
                                   "ünïcode ☃", "", "x\\x41 literal"])
def test_round_trip_of_awkward_text(agent):
    rec = record(user_agent=agent, referer=agent, ip="2001:db8::7", user_id=None)
    _assert_round_trip(rec, parse_line(format_combined(rec, with_label=True)), label=True, rt=False)


# ── tolerant parsing ──────────────────────────────────────────────────────
def test_odd_fixture_counts_and_fields():
    rows, stats = read_log(FIXTURE)
    assert (stats.lines, stats.parsed, stats.malformed, stats.blank) == (21, 15, 5, 1)
    assert stats.lines == stats.parsed + stats.malformed + stats.blank
    assert [e.split(":", 1)[0] for e in stats.first_errors] == ["line 7", "line 9", "line 15", "line 19", "line 20"]

    by_ip = {r.ip: r for r in rows}
    # three time zones, one instant
    assert by_ip["192.0.2.10"].ts == by_ip["192.0.2.11"].ts == by_ip["198.51.100.7"].ts == T0
    assert by_ip["192.0.2.11"].query == "page=2"
    v6 = by_ip["2001:db8:85a3::8a2e:370:7334"]
    assert (v6.path, v6.query, v6.user_agent) == ("/api/products/", "page=1", "python-requests/2.31.0")
    dashes = by_ip["203.0.113.5"]
    assert (dashes.bytes_sent, dashes.referer, dashes.user_agent, dashes.status) == (0, "", "", 404)
    assert by_ip["203.0.113.6"].user_agent == 'Mozilla/5.0 "quoted" Agent\\1.0'
    assert by_ip["192.0.2.54"].user_agent == 'Mozilla/5.0 "nginx-escaped"'
    assert by_ip["192.0.2.44"].label == "scraper" and by_ip["192.0.2.44"].response_ms is None
    login = by_ip["192.0.2.45"]
    assert (login.method, login.path, login.query, login.user_id) == ("POST", "/accounts/login/", "next=/account/", "42")
    assert (login.label, login.response_ms) == ("human", pytest.approx(187.0))
    assert by_ip["192.0.2.46"].method == "HEAD"
    absolute = by_ip["203.0.113.99"]
    assert (absolute.path, absolute.query) == ("/x", "probe=1")
    assert (by_ip["203.0.113.100"].method, by_ip["203.0.113.100"].path) == ("GET", "/")  # no protocol
    common = by_ip["192.0.2.50"]
    assert (common.path, common.referer, common.user_agent) == ("/faq/", "", "")
    assert by_ip["192.0.2.51"].label is None  # a trailing "-" (X-Forwarded-For) is not a label
    assert (by_ip["192.0.2.52"].ts, by_ip["192.0.2.52"].label) == (1696946149.25, "human")  # JSON line


def test_nginx_byte_escapes_are_decoded_as_utf8():
    line = r'192.0.2.9 - - [10/Oct/2023:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "snow \xE2\x98\x83 \x22q\x22"'
    assert parse_line(line).user_agent == 'snow \u2603 "q"'


@pytest.mark.parametrize("line", [
    "", "garbage", "{not json", '{"ip": "1.2.3.4"}', "[1, 2]",
    '1.2.3.4 - - [10/Oct/2023:13:55:36 +0000] "GET / HTTP/1.1" 2000 1 "-" "-"',
    '1.2.3.4 - - [10/Oct/2023:13:55:36 +0000] "get / HTTP/1.1" 200 1 "-" "-"',
    '1.2.3.4 - - [10/Oct/2023:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "unterminated',
    '1.2.3.4 - - [10/Oct/2023:13:55:36 +0000] "GET / HTTP/1.1 extra" 200 1 "-" "-"',
])
def test_malformed_lines_give_none(line):
    assert parse_line(line) is None


def test_first_errors_are_bounded():
    lines = [f"junk {i}\n" for i in range(MAX_FIRST_ERRORS + 5)]
    stats = LogStats()
    assert list(iter_log(lines, stats)) == []
    assert stats.malformed == MAX_FIRST_ERRORS + 5 and len(stats.first_errors) == MAX_FIRST_ERRORS


def test_reader_exposes_live_stats():
    reader = iter_log(io.StringIO(FIXTURE.read_text()))
    first = next(reader)
    assert first.ip == "192.0.2.10" and reader.stats.parsed == 1
    rest = list(reader)
    assert len(rest) == 14 and reader.stats.malformed == 5


# ── sources ───────────────────────────────────────────────────────────────
def test_gzip_path_and_binary_streams(tmp_path):
    raw = FIXTURE.read_bytes()
    gz = tmp_path / "odd_access.log.gz"
    gz.write_bytes(gzip.compress(raw))
    misnamed = tmp_path / "rotated.log.1"  # gzip found by content, not by name
    misnamed.write_bytes(gzip.compress(raw))
    expected, _ = read_log(FIXTURE)
    for source in (gz, str(gz), misnamed, io.BytesIO(gzip.compress(raw)), io.BytesIO(raw),
                   io.StringIO(raw.decode()), raw.decode().splitlines(True)):
        rows, stats = read_log(source)
        assert rows == expected, source
        assert (stats.parsed, stats.malformed, stats.blank) == (15, 5, 1)


def test_streams_passed_in_stay_open():
    stream = io.BytesIO(gzip.compress(FIXTURE.read_bytes()))
    read_log(stream)
    assert not stream.closed


def test_jsonl_and_combined_mixed_in_one_file(traffic, tmp_path):
    sample = traffic[:200]
    text = io.StringIO()
    to_jsonl(sample[:100], text)
    write_combined(sample[100:], text, with_label=True)
    path = tmp_path / "mixed.log"
    path.write_text(text.getvalue())
    rows, stats = read_log(path)
    assert stats.parsed == 200 and stats.malformed == 0
    for rec, row in zip(sample[:100], rows[:100], strict=True):  # JSON keeps everything
        assert (row.ts, row.body, row.content_type, row.client_id, row.response_ms, row.label) == \
            (rec.ts, rec.body, rec.content_type, rec.client_id, rec.response_ms, rec.label)
    assert [r.label for r in rows[100:]] == [r.label for r in sample[100:]]


def test_foreign_json_lines():
    row = parse_line('{"ts": "2023-10-10T13:55:36Z", "ip": "192.0.2.1", "method": "GET", '
                     '"path": "/a/?b=1", "status": "404"}')
    assert (row.ts, row.path, row.query, row.status, row.label, row.user_id) == (T0, "/a/", "b=1", 404, None, None)


def test_time_of_day_arithmetic_agrees_with_the_full_parser():
    # the fast path (day start cached, time of day as three integers) must give
    # exactly what the datetime-based parser gives, every offset and day included
    from smartlayer.offline import accesslog

    rng = __import__("random").Random(5)
    for _ in range(2000):
        stamp = format_clf_time(rng.uniform(0, 4e9))[:21]
        for offset in ("+0000", "+0230", "-0500", "+1400", "-1200"):
            text = stamp + offset
            assert accesslog._parse_clf_time_fast(text) == accesslog._parse_clf_time_uncached(text), text
    for bad in ("01/Jan/2024:24:00:00 +0000", "01/Jan/2024:12:60:00 +0000", "31/Feb/2024:12:00:00 +0000",
                "01/Jan/2024:1\u00b2:00:00 +0000", "01/Foo/2024:12:00:00 +0000", "01/Jan/2024:12:00:00 0000"):
        assert accesslog._parse_clf_time_fast(bad) is None, bad
        assert parse_clf_time(bad) is None, bad
    # forms the fast path leaves to the full parser still parse
    assert parse_clf_time("01/Jan/2024:12:00:00.250 +0000") == 1704110400.25
    assert parse_clf_time("01/Jan/2024:12:00:00 +02:00") == 1704103200.0
