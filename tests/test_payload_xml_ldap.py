"""XML external resources and LDAP filter break-outs, as they are written beyond one list.

XXE: an external DTD named by a path, a share or any URL scheme; a parameter entity expanded in the
internal subset; XInclude under a prefix of the attacker's choosing; XSLT's readers of files and URLs;
the entity-expansion bomb posted without its DOCTYPE.  LDAP: attribute names of directories as they
are (hyphens, options, OIDs, extensible matches), a name that closes the filter and asserts its own
attribute, a filter cut short by a NUL.  Each with the benign text most like it: ordinary XML and
HTML documents, code and prose with brackets, bars and wildcards.
"""
from __future__ import annotations

from urllib.parse import quote

import pytest

from smartlayer.detectors.payload import scan_parts
from tests.helpers import hit_names, scan_body_text, scan_query_value

BLOCK = 3


names = hit_names
query = scan_query_value
xml = scan_body_text


def form(**fields: str):
    body = "&".join(f"{k}={quote(v, safe='')}" for k, v in fields.items())
    return scan_parts(body=body.encode(), content_type="application/x-www-form-urlencoded")


# ── XXE: what makes the parser fetch something ─────────────────────────────

@pytest.mark.parametrize("text", [
    '<?xml version="1.0"?><!DOCTYPE order SYSTEM "/var/lib/app/secret.cfg"><order/>',
    '<!DOCTYPE order SYSTEM "\\\\203.0.113.9\\pub\\o.dtd"><order/>',
    "<!DOCTYPE order SYSTEM 'netdoc:/var/lib/app/secret.cfg'><order/>",
    '<!DOCTYPE order SYSTEM "ftp://203.0.113.9/o"><order/>',
    '<!DOCTYPE order PUBLIC "-//Shop//Order 1.0//EN" "file:///srv/app/secret.cfg"><order/>',
    "<!DOCTYPE order PUBLIC '-//Shop//Order 1.0//EN' '/srv/app/settings.dtd'><order/>",
])
def test_an_external_dtd_named_by_a_path_share_or_url_is_blocked(text):
    result = xml(text)
    assert "xxe_external_entity" in names(result) and result.score >= BLOCK, result.hits


@pytest.mark.parametrize("text", [
    "<!DOCTYPE order [ %ext; ]><order/>",
    "<!DOCTYPE order[%defs;%payload;]><order>1</order>",
    "<!DOCTYPE order [%data;]><order/>",
])
def test_a_parameter_entity_expanded_in_the_internal_subset_is_blocked(text):
    result = xml(text)
    assert "xxe_internal_subset" in names(result) and result.score >= BLOCK, result.hits


@pytest.mark.parametrize("text", [
    '<doc xmlns:inc="http://www.w3.org/2001/XInclude"><inc:include parse="text" href="secret.cfg"/></doc>',
    "<doc xmlns:x='https://www.w3.org/2001/XInclude'><x:include href='notes.xml'/></doc>",
])
def test_xinclude_under_any_prefix_is_blocked(text):
    result = xml(text)
    assert "xxe_external_entity" in names(result) and result.score >= BLOCK, result.hits


@pytest.mark.parametrize("text", [
    '<xsl:value-of select="unparsed-text(\'/srv/app/secret.cfg\')"/>',
    "<xsl:for-each select=\"unparsed-text-lines('file:///srv/app/notes.txt')\"/>",
    "x' or unparsed-text('../../settings.ini') or '",
    '<xsl:include href="file:///srv/app/t.xsl"/>',
    '<xsl:import href="/srv/app/settings.xsl"/>',
])
def test_xslt_reading_files_or_urls_is_blocked(text):
    result = xml(text)
    assert "xxe_external_entity" in names(result) and result.score >= BLOCK, result.hits


def test_an_entity_made_of_entities_is_an_expansion_bomb_even_without_its_doctype():
    result = query('<!ENTITY b2 "&b1;&b1;&b1;&b1;&b1;">')
    assert "xxe_internal_subset" in names(result) and result.score >= BLOCK, result.hits


@pytest.mark.parametrize("text", [
    "<!DOCTYPE html><html><head><title>Order</title></head><body><p>Ready &amp; paid</p></body></html>",
    '<!DOCTYPE html SYSTEM "about:legacy-compat"><html><body><p>hello</p></body></html>',
    '<?xml version="1.0"?><!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
    '"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd"><svg xmlns="http://www.w3.org/2000/svg"/>',
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
    '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd"><html xmlns="http://www.w3.org/1999/xhtml"/>',
    '<!DOCTYPE book PUBLIC "-//OASIS//DTD DocBook XML V4.5//EN" '
    '"http://www.oasis-open.org/docbook/xml/4.5/docbookx.dtd"><book><title>Guide</title></book>',
    '<?xml version="1.0"?><methodCall><methodName>orders.list</methodName><params><param><value>'
    "<int>7</int></value></param></params></methodCall>",
    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>News (daily)</title>'
    "<link>https://example.com/</link><item><title>A &amp; B</title></item></channel></rss>",
    '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">'
    '<xsl:include href="common.xsl"/><xsl:template match="/"><xsl:value-of select="title"/></xsl:template>'
    "</xsl:stylesheet>",
    '<xsl:template match="/"><xsl:value-of select="unparsed-text(\'prices.csv\')"/></xsl:template>',
    '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"><xsl:import '
    'href="http://docbook.sourceforge.net/release/xsl/current/fo/docbook.xsl"/></xsl:stylesheet>',
])
def test_ordinary_xml_and_html_documents_pass(text):
    result = xml(text)
    assert not any(hit.startswith("xxe") for hit in result.hits) and result.score < BLOCK, result.hits


@pytest.mark.parametrize("text", [
    "Use <!DOCTYPE html> at the top of every page.",
    "XInclude (see the W3C note) lets one document include another.",
    "The %PATH%; variable and 100%; effort.",
])
def test_prose_about_xml_in_a_comment_passes(text):
    assert form(comment=text).score == 0


# ── LDAP: the filter closed, and the directory's own attributes ────────────

@pytest.mark.parametrize("value", [
    "*)(msDS-AllowedToDelegateTo=*",
    "*)(1.2.840.113556.1.4.803:=2)",
    "*)(userPassword:2.5.13.18:=*)",
    "x)(|(cn;lang-de=*",
    "jdoe)(objectClass=user",
    "admin)(password>=a",
    "j.doe@example.com)(mail=*",
])
def test_a_filter_break_out_with_any_attribute_is_blocked(value):
    result = query(value)
    assert "ldap_injection" in names(result) and result.score >= BLOCK, result.hits


@pytest.mark.parametrize("value", ["admin)\x00", "jdoe))\x00", "*)\x00"])
def test_a_name_cut_short_by_a_nul_in_a_login_form_is_blocked(value):
    result = form(username=value, password="x")
    assert "ldap_injection" in names(result) and result.score >= BLOCK, result.hits


@pytest.mark.parametrize("value", [
    "(a|b) or (c&d)", "regex (a|b)*", "admin*", "*/*", "foo* bar*", "partial(render)(template=x)",
    "Mock()(return_value=3)", "see (note)(page=2)", "f(x)(y=1)", "smile :)(wink)", "price (net)(gross)",
    "partial(f, x=1)(y=2)", "f(x=1)(y=2)",
    "(r'(\\s*)(:=)', bygroups(Text, Operator))", "(r'(self)(\\s*)(->)(\\s*)', ...)",
])
def test_brackets_bars_and_wildcards_in_text_are_no_filter(value):
    assert "ldap_injection" not in names(query(value))
    assert "ldap_injection" not in names(form(comment=value))


def test_utf16_text_sent_without_its_charset_is_no_nul_terminated_filter():
    """Every ``)`` of UTF-16 text is followed by a NUL; no name before it is, so it is no break-out."""
    body = '<?xml version="1.0"?><note><t>Call me (soon), jdoe)</t></note>'.encode("utf-16-le")
    assert "ldap_injection" not in names(scan_parts(body=body, content_type="application/xml"))
