"""How attacks of a family are written in general, beyond one list: XSS filter evasion, written line
breaks, LDAP filter break-outs, XML entities and XPath, open-redirect spellings, bare system paths."""
from __future__ import annotations

import pytest

from smartlayer.detectors.payload import scan_parts
from tests.helpers import hit_names, scan_body_text, scan_query_value

BLOCK = 3


names = hit_names
query = scan_query_value
body = scan_body_text


# ── XSS ───────────────────────────────────────────────────────────────────

@pytest.mark.parametrize("value", ["&#60;", "&#x00003C;", "&LT", "\\x3c", "\\u003c", "&#34;&#62;"])
def test_an_angle_bracket_written_as_a_reference_alone_is_a_probe(value):
    result = query(value)
    assert "xss_encoded_bracket" in names(result) and result.score >= BLOCK, result.hits


@pytest.mark.parametrize("value", ["<", "a &lt; b", "AT&amp;T", "&quot;quoted&quot;", "5 &gt; 3 is true"])
def test_a_bracket_typed_or_inside_text_is_no_bracket_probe(value):
    assert "xss_encoded_bracket" not in names(query(value))


def test_a_bracket_reference_in_a_body_is_not_a_probe():
    """Rich-text editors post ``&lt;`` in bodies; the probe is a short value a client chose."""
    result = scan_parts(body=b"comment=%26lt%3B", content_type="application/x-www-form-urlencoded")
    assert "xss_encoded_bracket" not in names(result)


@pytest.mark.parametrize("value", ["scriptdocument.cookie=true;/script", "[a]script>alert('x');[a]/script>",
                                   "<%script>alert(1)<%/script>"])
def test_a_script_element_with_its_brackets_stripped_is_blocked(value):
    assert query(value).score >= BLOCK


def test_a_dtd_that_gives_an_element_an_event_handler_is_blocked():
    assert query(' onerror CDATA "alert(67)"').score >= BLOCK


@pytest.mark.parametrize("value", ["the script alert was noisy", "javascript alerts", "<script src=x> docs"])
def test_stripped_script_needs_a_sink_and_a_closing_script(value):
    assert "xss_stripped_script" not in names(query(value))


# ── written line breaks ───────────────────────────────────────────────────

@pytest.mark.parametrize("value", ["0x0D0x0A", "%5cr%5cn", "\\r\\nSet-Cookie: a=b", "x\\nLocation: http://evil"])
def test_a_written_line_break_alone_or_before_a_header_is_blocked(value):
    assert query(value).score >= BLOCK


@pytest.mark.parametrize("value", ["a\\nb", "C:\\new\\folder", "line one\\nline two"])
def test_a_written_line_break_in_text_stays_below_the_block(value):
    assert query(value).score < BLOCK


# ── LDAP ──────────────────────────────────────────────────────────────────

@pytest.mark.parametrize("value", ["*)*", "(*)*)", "*))", "\\28", "\\2a\\29"])
def test_a_value_that_closes_an_ldap_filter_is_blocked(value):
    assert query(value).score >= BLOCK


@pytest.mark.parametrize("value", ["(*)", "footnote*)", "a*b", "\\2023\\report", "Preis*) inkl."])
def test_wildcards_and_brackets_in_text_are_not_a_breakout(value):
    assert "ldap_filter_breakout" not in names(query(value))


# ── XML and XPath ─────────────────────────────────────────────────────────

def test_an_element_made_of_an_undeclared_entity_is_blocked():
    assert body("<change-log><text>&systemEntity;</text></change-log>").score >= BLOCK


@pytest.mark.parametrize("text", ["<a>&amp;</a>", "<p>&copy; 2024</p>", "<note>caf&eacute;</note>"])
def test_html_entities_in_xml_are_not_entity_references(text):
    assert "xxe_entity_reference" not in names(body(text))


@pytest.mark.parametrize("value", ["' or count(/*)=1 or '", "name(/*[1])", "x' or string-length(name(parent::*))>1"])
def test_xpath_walking_the_document_is_blocked(value):
    assert "xpath_injection" in names(query(value)) and query(value).score >= BLOCK


@pytest.mark.parametrize("value", ["count the names (of the 3)", "name (first)", "child care"])
def test_words_of_xpath_in_prose_are_not_xpath(value):
    assert "xpath_injection" not in names(query(value))


# ── open redirects and host spellings: borderline, never blocked alone ────

@pytest.mark.parametrize("value", ["<>//evil.example", "http://evil.example\\trusted.example",
                                   "//evil.example/%2f..", "/\u30fcevil.example"])
def test_more_open_redirect_spellings_are_borderline(value):
    result = query(value)
    assert "open_redirect" in names(result) and 0 < result.score < BLOCK, result.hits


def test_a_dotted_address_past_255_is_an_obfuscated_host():
    assert "url_obfuscated_host" in names(query("http://472.314.470.462"))
    assert "url_obfuscated_host" not in names(query("http://203.0.113.7/"))


@pytest.mark.parametrize("value", ["https://example.com/", "/account/settings/", "ーとても良い"])
def test_plain_urls_and_kana_text_are_no_redirect(value):
    assert "open_redirect" not in names(query(value))


# ── bare system paths: borderline ─────────────────────────────────────────

@pytest.mark.parametrize("value", ["/etc/apt/sources.list", "/proc/cpuinfo", "C:/mysql/my.cnf", ".htpasswd",
                                   "\\xampp\\FileZillaFTP\\FileZilla Server.xml", "/inc/config.php"])
def test_a_value_that_is_a_system_path_is_borderline(value):
    result = query(value)
    assert 0 < result.score < BLOCK, result.hits


@pytest.mark.parametrize("value", ["/account/settings/", "/blog/2024/", "settings.cfg", "/users/42"])
def test_an_application_path_is_no_system_path(value):
    assert query(value).score == 0


def test_php_short_open_tag_with_a_statement_is_code():
    assert "php_code" in names(query("<? echo('x'); ?>"))


@pytest.mark.parametrize("text", ["Use count(...) to count rows", "the name(...) helper", "string(..) casts"])
def test_an_ellipsis_in_a_call_is_no_xpath_step(text):
    assert "xpath_injection" not in names(query(text))
    assert "xpath_injection" not in names(scan_parts(body=text.encode(), content_type="text/plain"))


def test_a_library_route_is_no_system_path():
    assert query("/library/books/12").score == 0
