"""SQL injection: how an injected fragment closes the literal, joins the query and ends it.

The strong signatures (weight 3) need two of those steps together — a quote
closing a literal *then* a boolean test, ``union`` *then* ``select``, a ``;``
*then* a statement, ``order by <n>`` *then* a comment — because each step
alone is ordinary English ("O'Reilly", "select the best", "drop leaf table").
"""
from __future__ import annotations

from ..sigbase import BODY, PATH, QUERY, START, VALUES, sig, words

#: A quote closing a string literal, then a boolean connector (``' or``, ``")||``).
_QUOTE_CLOSE = r"""['"`](?:\s?\)){0,5}\s?"""
_CONNECTOR = r"(?:(?:or|and|xor|div|like|rlike|regexp|having|where)\b|\|\||&&)"
#: Or a number closing the parentheses it was written into (``1)) or …``).
_NUMBER_CLOSE = r"\d\s?\)(?:\s?\)){0,5}\s?"
_QUOTE_CONNECTOR = _QUOTE_CLOSE + _CONNECTOR + r"(?:\s?\(){0,5}\s?(?:not\s|!\s?)?"
#: A literal an injection compares: a number, a quoted string, null or a boolean.
_LITERAL = r"""(?:-?\d{1,20}|'[^']{0,30}'|"[^"]{0,30}"|null|true|false)"""
#: The right-hand literal may be left open: the application's own quote closes it (``' or 'a'='a``).
_LITERAL_OPEN = r"""(?:-?\d{1,20}|'[^']{0,30}'?|"[^"]{0,30}"?|null|true|false)"""
_OPERAND = r"(?:\(\s?){0,3}" + _LITERAL + r"(?:\s?\)){0,3}"
_COMPARE = r"\s?(?:=|<>|!=|<=>|<|>|\blike\b|\bis\b|\bregexp\b|\brlike\b)\s?"
_SQL_NAME = r"""[\w.`"\[\]]{1,64}"""
_SQL_KEYWORDS = "union|select|and|or|from|where|insert|update|delete|order|group|having|sleep|concat"
_SQL_FUNCTIONS = ("group_concat", "load_file", "extractvalue", "updatexml", "make_set", "concat_ws",
                  "elt", "ascii", "substring", "substr", "mid", "ord", "hex", "unhex", "char_length",
                  "regexp_substring", "utl_inaddr", "dbms_xmlgen", "ctxsys", "xmltype", "convert", "cast",
                  "randomblob", "generate_series", "pg_sleep", "current_database", "version", "database",
                  "user_name", "db_name", "system_user", "session_user", "current_user", "iif", "instr")
#: Time- and error-based probes: each is a function only an injection calls.
_PROBE_FUNCTIONS = ("sleep", "pg_sleep", "benchmark", "randomblob", "extractvalue", "updatexml",
                    "load_file", "make_set", "utl_inaddr.get_host_address", "dbms_pipe.receive_message",
                    "dbms_lock.sleep", "ctxsys.drithsx.sn", "xmltype", "generate_series", "regexp_substring")
_FN = "|".join(f.replace(".", r"\.") for f in _PROBE_FUNCTIONS)

SIGNATURES = (
    sig("sqli_tautology", "sqli", 3, [
        _QUOTE_CONNECTOR + _OPERAND + _COMPARE + r"(?:\(\s?){0,3}" + _LITERAL_OPEN,
        _QUOTE_CONNECTOR + r"\w{1,30}" + _COMPARE + r"(?:'[^']{0,30}'?|\"[^\"]{0,30}\"?)",
        _QUOTE_CONNECTOR + r"\w{1,30}\s?=\s?\w{1,30}\s?(?:--|#|$|–)",
        _QUOTE_CONNECTOR + r"['\"]\w{0,30}$",
        _QUOTE_CONNECTOR + r"(?:''|\"\")\s?[-&^*|+%]?\s?['\"]",              # ' or ''-' : an empty string and an operator
        _QUOTE_CONNECTOR + r"(?:-?\d{1,20}|true|false)\s?(?:--|#|;|/\*|$)",
        _QUOTE_CONNECTOR + rf"(?:not\s)?(?:{_FN}|exists|select|if|case|char|chr|ascii|substring|substr|mid|"
        r"ord|length|elt|iif|\(\s?select)\b",
    ]),
    sig("sqli_closed_number", "sqli", 3, [
        _NUMBER_CLOSE + _CONNECTOR + r"(?:\s?\(){0,5}\s?(?:" + _LITERAL + _COMPARE + _LITERAL + rf"|(?:{_FN}|"
        r"exists|select|if|case|char|chr|elt|iif|ascii|substring|substr|make_set)\s?\()",
        _NUMBER_CLOSE + r"(?:as\s\w{1,10}\s)?where\s-?\d{1,20}\s?=\s?-?\d",
    ]),
    sig("sqli_where_tautology", "sqli", 3, r"\b(?:where|having)\s-?\d{1,20}\s?=\s?-?\d{1,20}\b"),
    sig("sqli_function_condition", "sqli", 3,
        [r"\b(?:elt|iif|make_set|if|case|nullif|ifnull|coalesce|decode|instr|field)\s?\(\s?-?\d{1,20}\s?=\s?-?\d{1,20}\s?,",
         r"\bcase\swhen\s-?\d{1,20}\s?=\s?-?\d",
         r"\(\s?-?\d{1,20}\s?=\s?-?\d{1,20}\s?\)",
         r"-?\d{1,20}\s?=\s?\(\s?select\b",
         r"\bdeclare\s@\w{1,30}\s(?:n?varchar|int|nchar|sysname|table|bigint)\b"]),
    sig("sqli_leading_boolean", "sqli", 3, [
        START + r"\s?(?:or|and|xor|\|\||&&)\s?-?\d{1,20}\s?(?:=|<>|!=|<|>)\s?-?\d",
        START + r"\s?(?:or|and|xor)\s(?:true|false|\w{1,30}\s?=\s?\w{1,30}\s?(?:--|#|$))",
        r"\s(?:or|and)\s-?\d{1,20}\s?=\s?-?\d{1,20}\s?(?:--|#|/\*|–)",
        START + r"\s?(?:order|group)\sby\s\d{1,6}(?:\s?,\s?\d{1,6}){0,20}\s?$",
        r"\d\s(?:order|group)\sby\s\d{1,6}\b",
    ], scope=VALUES),
    sig("sqli_time_delay_injected", "sqli", 3,
        [r"(?:^|[,('\"+|=;&/*]|\b(?:and|or|rlike|select|if|then|else|like|xor|when|waitfor|by|case))\s?(?:sleep|pg_sleep"
         r"|benchmark|randomblob|dbms_lock\.sleep)\s?\(\s?(?:\d|__time__)",
         r"\bwaitfor\s(?:delay|time)\s['\"]?\d"]),
    sig("sqli_exec_procedure", "sqli", 3, r"\bexec(?:ute)?\s(?:master\.\.|master\.dbo\.)?(?:xp_|sp_)\w{2,30}"),
    sig("sqli_select_probe", "sqli", 3,
        r"\bselect\s?\(?\s?(?:@@\w{2,30}|(?:user|database|version|current_user|schema|system_user|session_user|"
        r"pg_sleep|sleep|load_file|benchmark)\s?\()"
        r"|\bselect\s(?:current_user|session_user|system_user|current_database\s?\(\s?\)|user\s?\(\s?\)"
        r"|version\s?\(\s?\)|current_setting\s?\()\s?(?:;|$|--|#|\bfrom\b)"),
    sig("sqli_boolean", "sqli", 2,
        _QUOTE_CONNECTOR + r"""['"]?\w{1,30}['"]?(?:\s?(?:=|<>|!=|<|>|\blike\b|\bis\s(?:not\s)?null\b"""
                           r"""|\bin\s?\(|\bbetween\b)|\s?\()"""),
    # a connector then numbers compared: ``and 9227=9227``, sums on either side (``or 2+191-191-1=0+0+0+1``, a
    # scanner's), and sqlmap's spellings without ``=`` (``and 9227 between 9226 and 9228``, ``and 9227 like 9227``)
    # and the tampers' ``or not 6372=6373``, ``and greatest(8514,8513)=8514`` (a filter that refuses ``>``)
    sig("sqli_numeric_tautology", "sqli", 2,
        r"\s(?:or|and|xor|&&|\|\|)\s(?:not\s)?(?:-?\d{1,20}(?:\s?[-+*/]\s?\d{1,20}){0,6}(?:\s?(?:=|<>|!=|<|>)\s?"
        r"|\s(?:not\s)?between\s-?\d{1,20}\sand\s|\s(?:not\s)?(?:r?like|regexp)\s)"
        r"|(?:greatest|least)\s?\(\s?-?\d{1,20}\s?,\s?-?\d{1,20}\s?\)\s?(?:=|<>|!=|<|>)\s?)-?\d"),
    # a connector, then two quoted literals compared: ``} or '1'='1``, ``|| '1'=='1`` (whatever came before)
    sig("sqli_string_tautology", "sqli", 3,
        r"""(?:\b(?:or|and|xor)|\|\||&&)\s?\(?\s?['"]\w{0,30}['"]\s?(?:=|==|<>|!=)\s?['"]\w{0,30}['"]?"""),
    sig("sqli_string_compare", "sqli", 2, r"""['"]\w{0,30}['"]\s?(?:=|<>|!=|like\b)\s?['"]\w{0,30}['"]?"""),
    # a value ending in a quote and a comment: the rest of the application's query commented out
    sig("sqli_quote_comment_end", "sqli", 3, r"""\w['"`]\)?\s?(?:--|#|/\*)[\s\w-]{0,20}$""", scope=VALUES),
    # in a body only when it is the whole field, as a login form posts it (``username=admin'--``): a comment box's
    # prose may close a quotation before a dash (``he said "no" -- then left``)
    sig("sqli_field_comment_end", "sqli", 3, START + r"""[\w.@+-]{1,64}['"`]\)?\s?(?:--|#|/\*)\s?[-+]?$""",
        scope=frozenset((BODY,))),
    # likewise a field that is only a value, a connector and a comparison of numbers (``1 AND 1=1``, ``ana OR 2>1--``,
    # or the test alone, ``or 1=1``): a scanner's boolean test appended to a form's own value; prose that compares
    # numbers has more words around it
    sig("sqli_field_tautology", "sqli", 3,
        START + r"""(?:[\w.@+-]{1,64}['")]{0,3} )?(?:or|and|xor|&&|\|\|) (?:not )?-?\d{1,20} ?(?:=|<>|!=|<|>) ?-?\d{1,20}"""
        r""" ?(?:--|#|/\*)? ?[-+]?$""", scope=frozenset((BODY,))),
    sig("sqli_quote_comment", "sqli", 2, _QUOTE_CLOSE + r"(?:;\s?)?(?:--(?:\s|$|[-+#])|#(?:\s|$)|/\*|;\s?%00|;$)"),
    sig("sqli_union_select", "sqli", 3,
        r"\bunion(?:\s|\(){0,20}(?:(?:all|distinct)(?:\s|\(){1,20})?\(*select\b"),
    sig("sqli_stacked_query", "sqli", 3,
        r";\s?(?:drop\s(?:table|database|schema|user|view|index|procedure|function)\b|truncate\stable\b"
        rf"|delete\sfrom\b|insert\sinto\b|update\s{_SQL_NAME}\sset\b|alter\s(?:table|user|database)\b"
        r"|create\s(?:table|user|database|procedure|function|trigger)\b|exec(?:ute)?\s(?:xp_|sp_|master\.)"
        r"|shutdown\b|declare\s@|grant\sall\b|select\s|waitfor\s|if\s?\(|begin\s|set\s@|copy\s\w|call\s\w)"),
    sig("sqli_destructive", "sqli", 2, [
        *words(("drop", "truncate"), r"\s(?:table|database|schema)\b"),
        r"\bdelete\sfrom\s" + _SQL_NAME + r"\swhere\b",
        r"\binsert\sinto\s" + _SQL_NAME + r"\s?(?:\(|values\b)",
        r"\bcreate\suser\s\w{1,30}\sidentified\sby\b",
    ]),
    sig("sqli_time_delay", "sqli", 2, [
        *words(("sleep", "pg_sleep", "benchmark"), r"\s?\(\s?\d"),
        r"\bwaitfor\s(?:delay|time)\b",
        r"\bdbms_(?:pipe\.receive_message|lock\.sleep)\b",
        r"\bgenerate_series\s?\(\s?\d",
        r"\brandomblob\s?\(\s?\d",
    ]),
    sig("sqli_error_based", "sqli", 3, [
        r"\bcount\s?\(\s?\*\s?\)\s?,\s?concat\s?\(",
        r"\b(?:extractvalue|updatexml|exp|geometrycollection|polygon|multipoint|linestring)\s?\(.{0,60}"
        r"(?:0x[0-9a-f]{2}|concat\s?\(|select\b|~)",
        r"\bfloor\s?\(\s?rand\s?\(",
        r"\bconvert\s?\(\s?int\s?,",
        r"\bcast\s?\(.{0,60}\bas\s(?:int|numeric|signed|unsigned)\b",
        r"\butl_inaddr\.get_host_address\s?\(",
        r"\bctxsys\.drithsx\.sn\s?\(",
        r"\bxmltype\s?\(\s?chr\(",
    ]),
    sig("sqli_subquery", "sqli", 2, [
        r"\bfrom\s?\(\s?select\b",
        r"\(\s?select\s(?:\w{1,30}\s?\(|count\b|\d|null\b|char\b|@@|case\b|if\b)",
        r"\bselect\s(?:null|\d{1,10}|@@\w{1,20}|char\s?\(\d)(?:\s?,\s?(?:null|\d{1,10}|char\s?\(\d)){1,30}",
        r"\bselect\s[\w,*@()\s]{1,60}\sfrom\s(?:information_schema|mysql\.|sys\.|dual\b|pg_|sqlite_master"
        r"|master\.\.|all_tables|user_tables|sysobjects|sysusers|sysibm\.|syscat\.|syscolumns|rdb\$|msysobjects|all_users)",
    ]),
    sig("sqli_order_probe", "sqli", 3, [
        r"\b(?:order|group)\sby\s\d{1,6}(?:\s?,\s?\d{1,6}){0,20}\s?(?:--|#|/\*|;|%00)",
        r"""['")]\s?(?:order|group)\sby\s\d{1,6}\b""",
        r"\b(?:order|group)\sby\s\d{1,6}\s(?:asc|desc)?\s?(?:--|#)",
        r"\bprocedure\sanalyse\s?\(",
    ]),
    sig("sqli_schema_probe", "sqli", 2, [
        *words(("information_schema", "sqlite_master", "sysobjects", "syscolumns", "xp_cmdshell", "sp_executesql",
                "sp_password", "all_tab_columns", "user_tab_columns"), r"\b"),
        r"\bpg_(?:catalog|shadow|user|database|tables)\b",
        r"\bmysql\.(?:user|db)\b",
        r"\bsys\.(?:objects|tables|columns|databases|user_summary)\b",
        r"\bmsysobjects\b",
        r"\bsys(?:ibm|cat)\.(?:sys\w{2,20}|tab\w{0,10}|dbauth|schemata|columns)\b",
    ]),
    sig("sqli_function", "sqli", 1, [
        *words(_SQL_FUNCTIONS[:6], r"\s?\("),
        r"\bchar\(\d",
        r"@@(?:version|datadir|hostname|basedir|servername|language)\b",
    ]),
    sig("sqli_char_concat", "sqli", 2, [
        r"\b(?:char|chr)\s?\(\s?\d{1,3}\s?\)\s?(?:\|\||\+|,|&)\s?(?:char|chr)\s?\(",
        r"\b0x[0-9a-f]{6,}\b.{0,20}(?:--|#|\bfrom\b|\))",
    ]),
    sig("sqli_inline_comment", "sqli", 2, [
        rf"/\*!?\d{{0,6}}\s?(?:{_SQL_KEYWORDS})\b",
        *words(_SQL_KEYWORDS.split("|"), r"/\*"),
        rf"\*/\s?(?:{_SQL_KEYWORDS})\b",
    ]),
    # a parameter *name* that is an ORM lookup on a secret (``user__password__startswith=pbkdf2``,
    # ``token__regex=^a``): a view that hands ``request.GET`` to ``filter(**…)`` answers it a character at a time.
    # The admin's own filters (``is_staff__exact=1``) name no secret
    sig("django_orm_secret_lookup", "sqli", 3,
        r"^[\w\[\].-]{0,80}(?:^|__)(?:password|passwd|secret\w{0,12}|api_?key|token|session_key|otp_\w{1,12})"
        # (the lookups that read a secret by its text: their names are the atoms the prefilter needs, with the
        # field's, so that the attack text of other families does not make it a candidate)
        r"__(?:i?startswith|i?endswith|i?contains|i?regex|i?exact)(?:\[\])?(?:=|$)",  # $: a JSON key
        scope=frozenset((QUERY, BODY))),
    sig("sqli_numeric_suffix", "sqli", 2,
        START + r"-?\d{1,20}['\")]{0,3}\s(?:or|and|xor|having|rlike|procedure|&&|\|\|)\s",
        scope=VALUES),
    # the same at a path segment's start, where a REST route takes the number (``/api/users/1 AND 1=1``)
    sig("sqli_path_numeric_suffix", "sqli", 2,
        r"/-?\d{1,20}['\")]{0,3}\s(?:or|and|xor|having|rlike|procedure|&&|\|\|)\s", scope=frozenset((PATH,))),
    # sqlmap's first, heuristic probe: the value followed by a run of quotes, brackets, commas and dots with
    # both kinds of quote (``1,)).)(('"``), to see which of them breaks the query
    sig("sqli_syntax_probe", "sqli", 3, [
        r"""\w[(),.]{2,12}['"][(),.]{0,12}['"][(),.]{0,12}$""",
        r"""\w[(),.]{0,12}['"][(),.]{2,12}['"][(),.]{0,12}$""",
        r"""\w[(),.]{0,12}['"][(),.]{0,12}['"][(),.]{2,12}$""",
        # the run in place of the value, as other scanners send it (``'"(``, ``"'(``, ``\'"``): both kinds of quote
        # side by side and a bracket or an escape, nothing a word is made of (quotes alone are the naughty strings
        # a form's tests type)
        START + r"""[^\w\s'"]{0,4}(?:'"|"')[(),.\\]{1,8}$""",
        START + r"""\\(?:'"|"')$""",
    ], scope=VALUES),
    # PL2: fragments that appear in injections and, rarely, in technical prose.
    sig("sqli_select_from", "sqli", 1, r"\bselect\s.{1,60}\sfrom\s\w", paranoia=2),
    sig("sqli_comment_terminator", "sqli", 1, r"(?:\d|\))\s?(?:--\s?-?|#)$", paranoia=2, scope=VALUES),
    sig("sqli_hex_literal", "sqli", 1, r"\b0x[0-9a-f]{8,}\b", paranoia=3),
)
