"""The request itself: header injection, session fixation, protocol anomalies, scanners, LDAP, NoSQL, prompts.

Several of these only mean something in one place: a ``.bak`` extension in
the path (a backup probe) is nothing in a comment; a scanner's name in the
User-Agent is a scanner, in a search box a reader.  Their ``scope`` says so.
"""
from __future__ import annotations

import re

from ..sigbase import HEADER, PATH, QUERY, START, VALUES, base64_opening, sig, words

#: Extensions of files no site should serve: backups, sources, configuration, databases.
_RESTRICTED = ("bak", "old", "orig", "inc", "swp", "swo", "save", "sav", "backup", "bkp", "bk", "tmp", "temp",
               "dist", "sql", "sqlite", "sqlite3", "mdb", "dbf", "db", "config", "conf", "cfg", "ini", "htr",
               "htw", "ida", "idc", "idq", "asa", "asax", "ascx", "axd", "licx", "resx", "csproj", "vbproj", "pdb",
               "pol", "printer", "pwd", "pass", "rdb", "sys", "vsdisco", "webinfo", "xsd", "xsx", "dll", "bat",
               "cmd", "lnk", "cdx", "csr", "vbs", "passwd", "log", "git", "svn", "htaccess", "htpasswd",
               "ds_store", "env", "pem", "p12", "pfx", "jks", "keystore")
#: Of those, the files a backup script leaves compressed (``dump.sql.gz``, ``site.bak.zip``), and the suffixes it
#: compresses them with: data, backups, logs and configuration, not the editors' and builds' leftovers
#: (``.tmp``, ``.dist``) a release archive may carry in its name.
_BACKED_UP = ("sql", "sqlite", "sqlite3", "db", "mdb", "dbf", "bak", "old", "orig", "backup", "bkp", "bk", "sav",
              "save", "swp", "log", "env", "conf", "config", "cfg", "ini", "pem", "passwd", "htpasswd")
_ARCHIVES = ("gz", "bz2", "xz", "zst", "zip", "7z", "rar", "tar", "tgz", "z")
_SCANNERS = ("sqlmap", "nikto", "wapiti", "nmap", "nessus", "acunetix", "netsparker", "w3af", "dirbuster",
             "gobuster", "nuclei", "zgrab", "masscan", "openvas", "whatweb", "wpscan", "havij", "zmeu", "jorgee",
             "fimap", "arachni", "skipfish", "burpcollaborator", "appscan", "webinspect", "paros", "grabber",
             "brutus", "bsqlbf", "dirb/", "ffuf", "feroxbuster", "wfuzz", "commix", "xsser", "jaascois", "pangolin",
             "sqlninja", "absinthe", "floodgate", "vega/", "webshag", "webvulnscan", "qualys", "morfeus",
             "zollard", "masscan", "httrack", "nessus", "metis", "sysscan", "n-stealth", "blackwidow", "crimscanner",
             "cgichk", "mozilla/4.0 (compatible; msie 6.0; win32)", "struts-pwn", "interactsh", "oast.",
             "fuzz faster u fool")


def _unsigned_jwt_heads() -> list[str]:
    """The base64url a JSON Web Token's header opens with when it names no signature algorithm (``{"alg":"none"``,
    also ``None``, ``NONE``, ``nOnE`` and after ``"typ":"JWT"``, with and without spaces), lower-cased as the scan
    reads text: only the characters the header's own bytes decide."""
    heads = set()
    for none in ("none", "None", "NONE", "nOnE"):
        for head in ('{"alg":"%s"', '{"alg": "%s"', '{"typ":"JWT","alg":"%s"', '{"typ": "JWT", "alg": "%s"'):
            heads.add(base64_opening((head % none).encode(), urlsafe=True))
    return sorted(heads)


_NOSQL_OPS = ("ne", "eq", "gt", "gte", "lt", "lte", "in", "nin", "regex", "where", "exists", "expr",
              "elemmatch", "not", "nor", "or", "and", "all", "size", "type", "mod", "text", "function",
              "accumulator", "lookup")
_PROMPT_VERBS = ("ignore", "disregard", "forget", "override", "bypass", "skip")
_PROMPT_SECRETS = ("system", "initial", "hidden", "original", "secret", "developer", "preprompt", "pre-prompt")
_OPS = "|".join(_NOSQL_OPS)
#: An LDAP attribute in a filter: a name with hyphens and ``;options``, an OID, an extensible match's ``attr:rule:``;
#: it starts with a letter or digit (a regex's ``(\s*)(:=)`` or ``(->)`` is none).
_ATTR = r"\w[\w.;:-]{0,39}"
#: The start of a value itself: a line's (a raw value), or after the name of its ``name=value`` pair, not any ``=``.
_VALUE_START = r"^(?:[\w.\[\]-]{1,60}=)?\s?"
#: A CR or LF written out: C and JavaScript escapes, a percent-escaped backslash, C hex literals.
_WRITTEN_BREAK = r"(?:\\[rn]|\\x0[da]|\\u000[da]|%5c[rn]|0x0[da])"

SIGNATURES = (
    # ── header injection and session fixation ──
    sig("crlf_header_injection", "crlf", 3, None),
    sig("crlf_encoded_newline", "crlf", 2, None),
    sig("crlf_encoded_pair", "crlf", 3, None),
    # a line break written out as an escape, for code that unescapes it before writing a header or a log line
    sig("crlf_written_escape", "crlf", 2, r"\\r\\n|\\x0d\\x0a|\\u000d\\u000a|0x0d0x0a|%5cr%5cn", scope=VALUES),
    # a written line break that ends a value's line and starts a response header, or a value made of nothing
    # but written line breaks (the probe for code that unescapes before writing): both the way a CR and a LF
    # are spelled where the raw characters would be refused
    sig("crlf_written_header", "crlf", 3, [
        _WRITTEN_BREAK + r"\s?(?:set-cookie|location|content-(?:type|length|disposition)|refresh|cache-control"
        r"|transfer-encoding|x-xss-protection|access-control-allow-\w{1,12}|link|host|cookie)\s?:",
        START + r"(?:" + _WRITTEN_BREAK + r"){2,8}$",
    ], scope=VALUES),
    sig("session_fixation", "session", 3, [
        r"\bhttp-equiv\W{1,3}set-cookie\b",
        r"\bdocument\s?\.\s?cookie\s?=\s?['\"]?\w{1,40}=",
        r"\bset-cookie\s?:\s?\w{1,60}=",
        r"\.cookie\b.{0,60};\W{0,3}(?:expires|domain|path)\W{0,3}=",
    ]),
    # a token that asks to be taken unsigned: a verifier that honours ``alg: none`` accepts any claims the client writes
    sig("jwt_unsigned", "session", 3, r"\b(?:" + "|".join(_unsigned_jwt_heads()) + r")"),
    sig("session_id_in_url", "session", 1, r"[;?&]?\b(?:jsessionid|phpsessid|aspsessionid\w{0,10}|sessionid|sid)=\w{8,}",
        paranoia=2, scope=frozenset((PATH,))),
    # ── protocol anomalies (the path) ──
    sig("restricted_extension", "protocol", 3,
        r"\.(?:" + "|".join(re.escape(e) for e in _RESTRICTED) + r")(?:$|[;/?])|[\w)]~$|/~?\.?#\w[^/]{0,200}#$"
        r"|\.(?:php|aspx?|jsp|py|rb|pl|cgi|html?|js|json|ya?ml|xml|txt|conf)[.~_-]?(?:bak|old|orig|save|swp|copy"
        r"|backup|\d)$"
        r"|\.(?:" + "|".join(_BACKED_UP) + r")\.(?:" + "|".join(_ARCHIVES) + r")(?:$|[;/?])"
        # an NTFS stream named on a script (``index.asp::$DATA``): IIS then sends its source instead of running it
        r"|\w::\$(?:data|index_allocation)\b", scope=frozenset((PATH,))),
    sig("restricted_file", "protocol", 3,
        r"/\.(?:git|svn|hg|bzr|env|htaccess|htpasswd|ds_store|aws|ssh|bash_history|idea|vscode|npmrc|dockerenv"
        r"|travis\.yml|gitlab-ci\.yml|docker|kube|config|bashrc|bash_profile|profile|cshrc|tcshrc|zshrc|sh_history"
        r"|zsh_history|history|mysql_history|psql_history|rhosts|shosts|forward|netrc|pgpass|viminfo|xauthority"
        r"|git-credentials|gitconfig|s3cfg|boto|dockercfg|k5login|passwd)(?:$|[/.])|/(?:web\.config|wp-config\.php|phpinfo\.php"
        r"|server-status|server-info|\.well-known/\.\.|composer\.(?:json|lock)|package\.json|yarn\.lock"
        r"|docker-compose\.ya?ml|id_rsa)$|/(?:cgi-bin|msadc|_vti_bin|_vti_pvt"
        r"|iisadmpwd|iissamples|web-inf|meta-inf)/", scope=frozenset((PATH,))),
    sig("null_byte", "protocol", 3, r"\x00", scope=VALUES),
    # a run of printf conversions that read the stack (``%s``, ``%x``, ``%p``) or write through it (``%n``), or
    # FormatMessage's numbered ones (``%1!s%2!s``): a format-string probe; text uses one or two, with words between
    # (widths such as ``%08x`` are left out: ``%08`` decodes as an escape first)
    sig("format_string_probe", "protocol", 3, [r"%[nsxp]%[nsxp]%[nsxp]%[nsxp]", r"%[nsxp]\.%[nsxp]\.%[nsxp]\.%[nsxp]",
                                                r"%\d!s%\d!s%\d!s"]),
    # ── protocol anomalies (the request line and the declared type; noticed by :mod:`..anomalies`) ──
    sig("method_probe", "protocol", 2, None),                 # TRACE, TRACK, DEBUG, CONNECT
    sig("method_unknown", "protocol", 1, None),
    sig("body_on_bodiless_method", "protocol", 1, None),      # a body on GET or HEAD
    sig("content_type_mismatch", "protocol", 1, None),        # JSON declared, none sent; a form that is JSON or XML
    sig("script_upload", "protocol", 3, None),                # a file part named shell.php, x.jsp, a.aspx
    sig("null_byte_body", "protocol", 2, r"\x00", scope=frozenset(("body",))),
    # ── scanners ──
    sig("scanner_user_agent", "scanner", 3, "(?:" + "|".join(re.escape(s) for s in _SCANNERS) + ")",
        scope=frozenset((HEADER,))),
    # markers only a scanner sends: PHP's easter-egg GUIDs, out-of-band callback domains, tools' own tokens
    sig("scanner_probe_value", "scanner", 3,
        r"\bphp(?:b8b5f2a0-3c92-11d3-a3a9-4c7b08c10000|e9568f3[456]-d428-11d2-a769-00aa001acf42)\b|\bw4p1t1\w{0,20}"
        r"|\bwvs(?:[_-]|\d)\w{0,10}|\b(?:bxss|xss)\.(?:ht|report)\b|\bdnslog\.cn\b|\bceye\.io\b|\boastify\.com\b"
        r"|\binteract\.sh\b|\bw00tw00t\b|\bburpcollaborator\.net\b",
        scope=frozenset((PATH, QUERY))),
    # a tool's name in a value: someone may be searching for it
    sig("scanner_name_value", "scanner", 2,
        r"\b(?:nessus|netsparker|acunetix|appscan|interactsh|sqlmap|xsstrike|nikto)\b", scope=frozenset((PATH, QUERY))),
    # ── LDAP ──
    # a filter closed and another opened: ``*)(``, ``)(|(``, ``(&(``, ``)(attr=*``.  The attribute is a name with
    # hyphens and options (``msDS-AllowedToDelegateTo``, ``cn;lang-de``), an OID, or an extensible match
    # (``userPassword:2.5.13.18:=``); the operator is ``=``, ``~=``, ``<=``, ``>=``
    sig("ldap_injection", "ldap", 3, [
        r"\*\)\s?\(\s?[|&!]?\s?\(?" + _ATTR + r"\s?[=~<>]",
        r"\)\s?\(\s?[|&!]\s?\(\s?" + _ATTR + r"\s?[=~<>]",
        r"\(\s?[|&!]\s?\(\s?" + _ATTR + r"\s?=\s?\*\s?\)",
        r"\*\)\s?\)\s?\(\s?[|&!]",
        r"\*\)\s?\(\s?[(|&!]",
        r"\w\)\s?\(\s?[|&!]\s?\)",
        r"\w\*?\)\s?\(\s?\|\s?\(\s?" + _ATTR + r"\s?=",
        r"\(\s?&\s?\(\s?" + _ATTR + r"\s?=",
        r"\)\s?\(\s?" + _ATTR + r"\s?=\s?\*",
        r"\*\s?\(\s?\)\s?[|&!]",
        # a value that is a name closing the filter and adding an assertion of its own (``jdoe)(objectClass=user``,
        # ``admin)(password>=a``): anchored at the value's start (a line's, or after its pair's name), so code in a
        # comment (``partial(f, x=1)(y=2)``) is not one
        _VALUE_START + r"[\w.@-]{1,60}\)\s?\(\s?" + _ATTR + r"\s?[~<>]?=\s?[\w*]",
        # a name cut short by a NUL after its closing bracket (``admin)%00``): what follows in the filter is dropped.
        # Anchored at the value's start: text in UTF-16 sent without its charset has a NUL after every ``)``
        _VALUE_START + r"[\w.@*-]{1,60}\)\)?\s?\x00",
    ]),
    # a short value made of nothing but filter metacharacters around a wildcard (``*)*``, ``(*)*)``)
    sig("ldap_metachar_value", "ldap", 2, START + r"[*|&!]{0,5}(?:\(\*|\*\)|\(\))[*()|&!']{0,10}$", scope=VALUES),
    # the same, when it closes the application's filter: a wildcard then a closing bracket, with more metacharacters
    # around it (``*)*``, ``(*)*)``, ``*))``), or a value of nothing but RFC 4515 escapes of filter metacharacters
    # (``\28``, ``\2a\29``): no search or name is written either way
    sig("ldap_filter_breakout", "ldap", 3, [
        START + r"(?:\*\)[*()|&!']{1,10}|[*(|&!]{1,5}\*\)[*()|&!']{1,10})$",
        START + r"(?:\\(?:2[1689a]|5c|00|7c|3[cde]|7e)){1,10}$",
    ], scope=VALUES),
    sig("ldap_filter", "ldap", 1, r"\*\)\s?\(|\)\s?\(\s?[|&!]|\(\s?\w{1,40}=\*\)", paranoia=2),
    # ── NoSQL ──
    sig("nosql_operator", "nosql", 3, [
        rf"\[\s?\$(?:{_OPS})\s?\]",
        rf"\{{\s?['\"]?\$(?:{_OPS})['\"]?\s?:",
        rf"^\$(?:{_OPS})(?:=|$)",                 # a JSON member named as an operator (``{"$ne": null}``)
    ]),
    sig("nosql_js_injection", "nosql", 3, [
        r"\bthis\.\w{1,40}\.match\s?\(",
        r"['\"]\s?(?:;|&&|\|\|)\s?(?:this\.|sleep\s?\(|return\s|while\s?\(|db\.|tojson|emit\s?\()",
        r"\bdb\.\w{1,40}\.(?:find|insert|remove|drop|update|mapreduce)\w{0,10}\s?\(",
        r"\$where\b|\$function\b|\$accumulator\b",
        rf"\$(?:{_OPS})\s?:\s?[\[{{]",
        r"(?:\|\||&&)\s?\(?\s?\d{1,10}\s?===?\s?\d{1,10}",
        # a statement ended after a string, a number or a bracket (``';return true``, ``0;return(1)``): prose writes
        # "ask a question; return true if …"
        r"(?:^|=|['\"\d)\]}])\s?;\s?return\s?\(?\s?(?:true|1)\b",
        r"\bwhile\s?\(\s?\w{1,20}\s?-\s?\w{1,20}\s?<\s?\d",
    ]),
    # ── JavaScript prototype pollution ──
    # an object's prototype written as a key a server-side merge or a nested-parameter parser walks into: a JSON
    # key (``{"__proto__": {...}}``, ``{"constructor": {"prototype": ...}}``), a bracketed or dotted parameter name
    # (``__proto__[isAdmin]=1``, ``a[__proto__][x]=1``, ``constructor[prototype][x]=1``, ``__proto__.x=1``), or
    # the name alone.  As keys, not as words: a page about JavaScript mentions ``obj.__proto__`` in prose and code
    sig("js_prototype_pollution", "prototype", 3, [
        r"['\"]__proto__['\"]\s?:",
        r"(?:^|[=\[&?;,])\s?['\"]?__proto__['\"]?\s?(?:\]\s?)?(?:\[|=|\.\s?[\w$]{1,40}\s?(?:\[|=))",
        r"(?:^|=)\s?__proto__\s?$",
        r"\bconstructor['\"]?\s?(?:\]\s?)?(?:\[\s?['\"]?|\.\s?)prototype['\"]?\s?\]?\s?(?:\[|\.\s?[\w$]{1,40}\s?=|=)",
        r"['\"]constructor['\"]\s?:\s?\{\s?['\"]prototype['\"]\s?:",
    ]),
    # ── spreadsheet formulas (CSV injection) ──
    # a value a site exports to CSV or a spreadsheet, written to run when the file is opened: DDE's
    # ``app|'arguments'!cell`` (``=cmd|' /C calc'!A0``, also after ``+``, ``-``, ``@`` or arithmetic), ``DDE(``, and a
    # formula at a field's start that fetches a URL (``=HYPERLINK("http://…?x="&A1)``, ``=IMPORTXML(…)``,
    # ``=WEBSERVICE(…)``: what sends the sheet's cells out).  ``=SUM(A1:A3)`` is a formula, not an attack
    sig("formula_injection", "formula", 3, [
        r"""\b[a-z][\w.-]{1,20}\s?\|\s?['"][^'"\n]{0,200}['"]\s?!\s?[a-z_$]{0,3}\d""",
        r"""\bdde\s?\(\s?['"]\w""",
        START + r"""['"]?[=+@-]\s?(?:hyperlink|importxml|importdata|importhtml|importfeed|importrange|webservice"""
        r"""|image)\s?\(\s?(?:concat\w{0,8}\s?\(\s?)?['"]?\s?(?:https?:)?//""",
    ]),
    # ── prompt injection ──
    sig("prompt_ignore_instructions", "prompt", 2,
        rf"(?:{'|'.join(words(_PROMPT_VERBS))})\s(?:\w{{1,20}}\s){{0,3}}"
        r"(?:all|any|previous|prior|above|earlier|preceding|former|system|original|initial|your|these|those)\s"
        r"(?:\w{1,20}\s){0,2}(?:instructions?|prompts?|directives?|rules|guidelines|guardrails|constraints)\b"),
    sig("prompt_reveal_system", "prompt", 2,
        rf"(?:{'|'.join(words(('reveal', 'show', 'print', 'output', 'repeat', 'display', 'leak', 'dump')))}"
        rf"|{'|'.join(words(('expose', 'tell', 'give', 'write', 'what')))})"
        r"(?:'s|\s(?:is|are|was))?\s(?:\w{1,20}\s){0,3}"
        rf"(?:{'|'.join(re.escape(s) for s in _PROMPT_SECRETS)})\s(?:prompt|instructions?|message)\b"),
    sig("prompt_role_override", "prompt", 1, [
        r"\byou\sare\snow\s(?:a|an|the|my|in|dan|no\slonger|free|unrestricted|unfiltered|going|acting|called)\b",
        r"\bfrom\snow\son,?\syou\s(?:are|will|must|shall)\b",
        r"\bact\sas\s(?:an?\s)?(?:unrestricted|unfiltered|uncensored|evil|jailbroken|dan)\b",
        r"\bpretend\s(?:to\sbe|you\sare|that\syou\sare)\b",
        r"\bnew\sinstructions\s?:",
    ]),
    sig("prompt_jailbreak", "prompt", 1, r"\bjailbr(?:eak|oken)"),
    sig("prompt_dan_mode", "prompt", 2, [
        r"\bdan\smode\b", r"\bdo\sanything\snow\b", r"\bdeveloper\smode\s(?:enabled|on|activated|output)\b",
    ]),
    sig("prompt_special_tokens", "prompt", 2, [
        r"<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id)\|>",
        r"\[/?inst\]",
        r"<</?sys>>",
    ]),
    # ── encoding tricks (noticed by the normaliser) ──
    sig("double_encoding", "encoding", 1, None),
    sig("overlong_utf8", "encoding", 3, None),
    sig("escape_obfuscation", "encoding", 2, None),
    sig("encoded_dot", "encoding", 1, None),
)

__all__ = ["QUERY", "SIGNATURES"]
