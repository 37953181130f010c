"""Markup and template injection: XSS, server-side templates, XML entities, SSI/ESI.

A tag alone is HTML someone may legitimately paste; a tag *carrying* script
(an event handler, a ``javascript:`` URI, a script element) is the attack.
Template injection is an opener (``{{``, ``${``, ``#{``, ``<%``) followed by
what only an attacker evaluates: arithmetic probes, object internals.
"""
from __future__ import annotations

from ..sigbase import BODY, START, VALUES, sig, words

#: Event-handler attribute names (prefixes: ``mouse`` covers ``onmouseover``).
_EVENT_PREFIXES = "|".join((
    "error", "load", "click", "dblclick", "auxclick", "mouse", "focus", "blur", "key", "change", "submit",
    "input", "begin", "end", "toggle", "animation", "transition", "pointer", "touch", "drag", "drop",
    "wheel", "scroll", "resize", "unload", "beforeunload", "message", "hashchange", "popstate", "pageshow",
    "pagehide", "abort", "canplay", "play", "pause", "copy", "cut", "paste", "contextmenu", "invalid",
    "reset", "search", "select", "show", "start", "finish", "afterprint", "beforeprint", "progress",
    "readystatechange", "activate", "beforeactivate", "deactivate", "filterchange", "propertychange",
    "before", "after", "cellchange", "datasetchanged", "rowenter", "rowexit", "bounce", "help", "move",
    "page", "ready", "repeat", "seek", "stop", "sync", "time", "urlflip", "volume", "zoom", "media",
    "outofsync", "track", "storage", "online", "offline", "waiting", "content", "fullscreen",
))
_TEMPLATE_OPEN = r"(?:\{\{|\$\{|#\{|\{%|<%=?|\[\[|\*\{|@\(|\{\$|\$\{\{|~\{)"
#: Attributes of HTML, SVG and the old IE extensions that markup injection writes (``val=`` in ``<foo val=x>`` is not one).
_ATTRIBUTES = ("(?:href|src|srcset|srcdoc|style|id|class|name|value|type|action|method|formaction|target|rel|content"
               r"|http-equiv|charset|data[\w-]{0,30}|xmlns[\w:-]{0,30}|xlink:\w{1,10}|ev:\w{1,10}|on[a-z]{3,30}|width"
               "|height|fill|stroke|attributename|to|from|values|begin|dur|dirname|pattern|background|dynsrc|lowsrc"
               "|poster|code|codebase|classid|autofocus|repeat[a-z-]{0,10}|title|alt|lang|d|r|x|y|cx|cy|match|select"
               "|event|handler|observer|for|form|contenteditable|draggable|tabindex|accesskey|sandbox|allow|frameborder"
               "|color|size|face|align|border|bgcolor|cols|rows|maxlength|placeholder|role|aria-[a-z-]{1,20})")
#: What a Python template injection walks through to reach a class that runs commands.  Named alone they are the
#: words of Python prose (``the __dict__ of an instance``, ``override __init__``): what the walk has is a chain of
#: them, a start at a literal (``''.__class__``), a template's delimiters around one, or a lookup by name.
_PY_INTERNAL = r"__(?:class|mro|subclasses|globals|builtins|import|base|bases|getattribute|dict)__"
_PY_WALK = [
    r"(?:['\"]|\(\)|\[\]|\{\})\s?\.\s?" + _PY_INTERNAL,                              # ''.__class__, ().__class__
    r"__[a-z]{2,20}__(?:\s?\[[^\]\n]{0,20}\])?\s?\.\s?" + _PY_INTERNAL,                # __mro__[1].__subclasses__
    r"(?:\{\{|\{%)[^{}]{0,100}" + _PY_INTERNAL,                                         # {{ request.__class__ }}
    r"(?:\battr\s?\(\s?|\[\s?)['\"]" + _PY_INTERNAL,                                   # |attr('__class__'), ['__globals__']
    r"__(?:globals|builtins)__\s?\[|__import__\s?\(\s?['\"]",                           # __builtins__['eval'], __import__('os')
]

SIGNATURES = (
    # ── cross-site scripting ──
    sig("xss_script_tag", "xss", 3, r"<\s?/?\s?script\b"),
    sig("xss_event_handler", "xss", 3, [
        r"""<[a-z!?/][^<>]{0,200}[\s/"'`;]on[a-z]{3,40}\s?=""",
        # a DTD giving an element an event-handler attribute by default (``<!ATTLIST img onerror CDATA "…">``)
        r"""\bon[a-z]{3,40}\scdata\s['"]""",
    ]),
    # in a short value: a tag, then (past a quoted ``>`` or a second ``<``) an event handler
    sig("xss_event_handler_value", "xss", 3, r"""<[a-z][\w:-]{0,20}\s[^\n]{0,99}[\s/"'`]on[a-z]{3,40}\s?=""",
        scope=VALUES),
    # ``<'">``: the probe for output that is not escaped (sqlmap's and others' second request)
    sig("xss_escape_probe", "xss", 3, r"""<\s?['"]{1,3}\s?>|<['"]{1,2}\w{0,10}['"]{1,2}>|;!--['"]<|=&\{\(\)\}""",
        scope=VALUES),
    sig("xss_event_attribute", "xss", 2, rf"""(?:^|[\s"'/;`(])on(?:{_EVENT_PREFIXES})[a-z]{{0,20}}\s?="""),
    sig("xss_js_uri", "xss", 2,
        r"""(?:java|vb|live|ecma)\s?script\s?:\s?(?:[\w$.\[\]]{1,60}\s?[(=`]|[/'"`(\[{!+-]|void\b|eval\b)"""),
    sig("xss_js_uri_attribute", "xss", 3,
        r"""\b(?:href|src|action|formaction|background|dynsrc|lowsrc|data|xlink:href|poster|code|codebase"""
        r"""|style|values|to|from|by|content|url)\s?=\s?['"`]?\s?(?:java|vb|live|ecma)\s?script\s?:"""),
    sig("xss_data_uri", "xss", 3,
        r"\bdata:\s?(?:text/html|image/svg\+xml|application/(?:x-)?javascript|text/javascript|application/xhtml)"),
    # an angle bracket written as a character reference or escape, and nothing else (noticed by the normaliser)
    sig("xss_encoded_bracket", "xss", 3, None),
    # a script element whose brackets a filter stripped or mangled, still carrying its code
    # (``scriptalert(1)/script``, ``[a]script>alert(1)[a]/script>``)
    sig("xss_stripped_script", "xss", 3,
        r"(?:^|[^a-z<])script\W{0,3}(?:alert|confirm|prompt|eval|document\.cookie|document\.write)\b[^\n]{0,99}"
        r"/\s?script\b"),
    # old IE's ways to bind script through an XML namespace (HTML+TIME, VML behaviours)
    sig("xss_behaviour_import", "xss", 3,
        r"<\??\s?xml:namespace\b|\bimport\s?namespace\s?=|\burn:schemas-microsoft-com:(?:time|vml)\b"),
    # markup sent base64-encoded, for an application that decodes it: the encodings of ``<script``, ``<svg``,
    # ``<img``, ``<iframe``, ``<body``, ``<html``, ``<object``, ``<embed`` (six characters or more, so a random
    # token starts with one about once in 10^9)
    sig("xss_base64_markup", "xss", 3,
        START + r"(?:phnjcmlwd|phn2zy|pgltzy|pglmcmft|pgjvzhk|pgh0bww|pg9iamvjd|pgvtymvk)", scope=VALUES),
    sig("xss_dangerous_tag", "xss", 2,
        r"<\s?(?:iframe|frame|frameset|object|embed|applet|svg|math|base|meta|isindex|portal|xml|import|link"
        r"|bgsound|layer|ilayer|marquee|xss|vmlframe|animate|set|handler|listener|template)\b"),
    sig("xss_js_sink", "xss", 1, [
        *words(("alert", "confirm", "prompt"), r"""\s?(?:\(\s?(?:['"`\d/]|document\b|window\b|this\b|\))|`)"""),
        *words(("eval", "atob", "settimeout", "setinterval", "execscript"), r"\s?\("),
        r"\bstring\.fromcharcode\s?\(",
        r"\bdocument\.write(?:ln)?\s?\(",
        r"\.innerhtml\s?=",
        r"""\bfetch\(\s?['"`]?(?:https?:)?//""",
    ]),
    sig("xss_tag_with_sink", "xss", 3, [
        r"""<\s?/?[a-z][^<>]{0,200}(?:alert|confirm|prompt|eval|atob)\s?(?:\(|`)""",
        r"""<[a-z][^<>]{0,60}>\s?(?:alert|confirm|prompt|eval)\s?\(""",
        rf"""(?:^|[\s"'/;`(])on(?:{_EVENT_PREFIXES})[a-z]{{0,20}}\s?=\s?['"`]?\s?(?:javascript:)?[\w.$\[\]]{{1,60}}\s?(?:\(|`)""",
    ]),
    # (a sign before it too: ``-prompt(8)-`` closes nothing, it is an operand where a number was written)
    sig("xss_probe_value", "xss", 3,
        START + r"""[\s"'`?(+-]{0,3}\(?(?:alert|prompt|confirm|print)\)?\s?(?:\(\s?(?:['"`\d/]|document\b|window\b|\))|`)""",
        scope=VALUES),
    # in a short value, script that runs script: a sink given a string that calls a dialog
    # (``setTimeout('alert(1)')``, ``[].constructor.constructor('alert(1)')()``), or eval of a decoded string
    sig("xss_sink_payload", "xss", 3, [
        r"""\b(?:eval|settimeout|setinterval|execscript|function|constructor)\s?\(\s?['"`]\s?(?:alert|prompt|confirm)"""
        r"""\s?[(`]""",
        r"\beval\s?\(\s?(?:atob|unescape|decodeuricomponent|string\.fromcharcode|location\.(?:hash|search))\b",
        # the Function constructor reached through any object (``this.constructor.constructor('return process')()``)
        r"""\bconstructor\s?\.\s?constructor\s?\(\s?['"`]""",
    ], scope=VALUES),
    sig("xss_frame_source", "xss", 3,
        r"<\s?\??(?:iframe|frame|object|embed|applet|base|bgsound|link|meta|import|portal|xml|layer|ilayer)\b[^<>]{0,200}"
        r"\b(?:src|data|href|code|codebase|content|movie|srcdoc|implementation)\s?="),
    sig("xss_cookie_theft", "xss", 3,
        r"[+(,=]\s?document\s?\.\s?cookie\b|\bdocument\s?\.\s?cookie\s?(?:=|\+|\))|\{\s?document\.cookie"),
    sig("xss_js_breakout", "xss", 3,
        r"""(?:['"`]\s?(?:[;)+,-]|&&|\|\|)|[;}]\s?)\s?\(?\s?(?:alert|confirm|prompt|eval|settimeout|setinterval|fetch|import"""
        r"""|document\s?\.\s?(?:cookie|location|write|domain)|window\s?\.\s?location|top\s?\.\s?location"""
        r"""|location\s?\.\s?href)\s?[(=.`]"""),
    sig("xss_utf7", "xss", 3, r"(?:^|[\s+=])adw-\s?(?:\+?ac8-)?\s?/?\s?[a-z]"),
    sig("xss_style_script", "xss", 3, [
        r"<\s?style\b[^<]{0,200}(?:expression\s?\(|-moz-binding\s?:|behavior\s?:|(?:java|vb)script\s?:|@import\b"
        r"|@im\\{1,2}port\b|(?:alert|confirm|prompt|eval)\s?\()",
        r"\bstyle\s?=\s?['\"]?[^'\">]{0,60}(?:expression\s?(?:\(|\\0{0,4}28)|-moz-binding\s?:|behavior\s?:\s?url\s?\()",
    ]),
    sig("xss_dom_source", "xss", 3,
        r"\b(?:eval|settimeout|setinterval|function|execscript|document\.write(?:ln)?)\s?\(\s?(?:decodeuri\w{0,10}\s?\(\s?|unescape\s?\(\s?)?"
        r"(?:location|document\.url|document\.documenturi|window\.name|document\.referrer|top\.name)\b"),
    sig("xss_eval_source", "xss", 3,
        r"\b(?:eval|settimeout|setinterval|execscript)\s?\(\s?(?:url|name|top\.name|self\.name|parent\.name|atob\s?\("
        r"\s?(?:location|name|url))\b"),
    sig("xss_cookie_access", "xss", 2, [
        r"\bdocument\s?\.\s?(?:cookie|domain)\b",
        r"\blocalstorage\s?\.\s?getitem\b",
    ]),
    sig("xss_css_expression", "xss", 2, [
        r"\bexpression\s?\(",
        r"""-moz-binding\s?:|\bbehavior\s?:\s?url\(""",
        r"@import\s?['\"]?\s?(?:java|vb)script",
    ]),
    # a short value is no place for markup: an element with an attribute, a template tag or object
    sig("xss_html_injection", "xss", 3,
        r"<\s?[a-z][a-z0-9]{0,15}(?::[a-z][a-z0-9-]{0,20})?\s(?:[^<>]{0,200}\s)?" + _ATTRIBUTES + r"\s?=\s?[^\s>]",
        scope=VALUES),
    sig("xss_indirect_call", "xss", 3, [
        r"\b(?:top|window|self|parent|frames|globalthis|this|document)\s?\[[^\]]{1,80}\]\(",
        r"\.(?:find|map|filter|foreach|some|every|call|apply|bind|then)\s?\(\s?(?:alert|confirm|prompt|eval)\s?[),]",
        START + r"\w{1,20}\s?=\s?(?:alert|confirm|prompt|eval)\s?[,;]",
    ], scope=VALUES),
    sig("ssti_template_probe", "ssti", 3, [
        _TEMPLATE_OPEN + r"\s?(?:request|self|this|config|settings|_self|_context|app|session|lipsum|cycler|joiner"
        r"|namespace|class|_|dump)\s?(?:\}|\.|\[|\||\()",
        r"\{%-?\s?(?:set|load|include|extends|import|from|debug|csrf_token|get_admin_log|block|macro|call|filter"
        r"|for\s\w{1,30}\sin)\b",
        r"\{\{[#/](?:with|each|if|unless|lookup|let)\b|\{\{=",
        r"\$\{\s?(?:[a-z_]\w{0,40}|'[^']{0,40}'|\(\d{1,10}\))\.\w{1,40}\s?\(",
        r"<%[=#-]?\s?[@a-z_$'\"\[(][^%]{0,100}%>",
        r"\{\{\s?\d{1,10}\s?\|\s?add:",
        _TEMPLATE_OPEN + r"\s?\(\s?\d{1,10}\s?\)\s?\.\s?[a-z_]",          # {{ (1).TYPE }}: reflection on a literal
        r"(?:\$\{|#\{|\{\{)\{?\s?<%|<%\s?\[%|%\}\}%",                     # ${{<%[%'"}}%\ : every engine's opener at once
        # reading a secret through the template context (``{{ messages.storages.0.signer.key }}``)
        r"(?:\{\{|\$\{|#\{|\{%|<%=?)[^{}]{0,60}[._](?:secret\w{0,20}|password|passwd|signer|private_key|api_key"
        r"|access_token|credentials?|environ)\b",
    ], scope=VALUES, apart=True),
    # a function called inside a template expression: a hint, as templates do call functions
    sig("ssti_call", "ssti", 1, r"(?:\{\{|\$\{|#\{|<%=?)\s?[^{}]{0,60}\b[a-z_]\w{0,40}\s?\(", scope=VALUES),
    sig("ssti_ruby_code", "ssti", 3,
        r"<%=?-?\s?(?:require\s|system\s?[(`'\"]|exec\s?\(|`|%x|(?:file|dir|io|open[34]|kernel|process)\s?\.\s?\w"
        r"|@\w{1,20}\s?,)"),
    sig("xss_markup_value", "xss", 2, r"<\s?/?[a-z][a-z0-9:-]{0,15}[\s/>]", paranoia=2, scope=VALUES),
    sig("ssti_template_value", "ssti", 2, r"\{\{[^{}]{0,60}\}\}|\$\{[^{}]{0,60}\}|<%[^%]{0,60}%>|#\{[^{}]{0,60}\}",
        paranoia=2, scope=VALUES),
    sig("xss_tag_breakout", "xss", 2, r"""['"`]\s?/?>\s?<\s?/?\s?[a-z]{1,12}[\s/>]""", paranoia=2),
    # ── server-side template injection ──
    sig("ssti_arithmetic", "ssti", 3,
        _TEMPLATE_OPEN + r"""=?\s?['"]?\d{1,10}['"]?(?:\s?[*+/%-]\s?|\s)['"]?\d{1,10}['"]?\s?(?:\}|%|\]|\))"""),
    # ASP's page code given a sum to write (``response.write(9876*1234)``): the product in the page shows it ran
    sig("ssti_asp_write", "ssti", 3, r"\bresponse\.write\s?\(\s?\d{1,10}\s?[*+]\s?\d{1,10}\s?\)"),
    sig("ssti_object_internals", "ssti", 3, [
        *_PY_WALK,
        r"\b(?:_self\.env|self\._templatereference__context|request\.application\.__|lipsum\.__globals__"
        r"|cycler\.__init__|joiner\.__init__|namespace\.__init__|config\.items\s?\(|get_flashed_messages"
        r"\.__globals__|url_for\.__globals__)",
        r"\bfreemarker\.template\.utility\.(?:execute|objectconstructor|jythonruntime)\b",
        r"<#assign\b|\$\{\s?product\.getclass\(",
        r"#set\s?\(\s?\$\w{1,30}\s?=",
        r"\$class\.inspect\(|\bvelocity(?:context|engine)\b",
        r"\{php\}|\{system\s?\(|\{\$?\s?smarty\.(?:version|template_object)",
        r"\.getclass\s?\(\s?\)\s?\.(?:forname|getclassloader|getmethod|getresource|getprotectiondomain)",
        r"\bregisterundefinedfiltercallback\b|\bgetfilter\s?\(",
        r"<%\s?(?:import|=\s?(?:system|`|%x|exec|eval|self\.module|file\.read))",
        r"\$\{\s?self\.(?:module|template)\b",
    ]),
    # apart=True (here, in ssti_expression and in ssti_template_probe): a two-character opener then up to 60
    # characters of anything, met every few hundred bytes of random text, whose states multiply with every
    # other pattern's in a set.  On 60 KiB of random printable ASCII a set of 21 light patterns cost 2.3 ms
    # of RE2 with ssti_method_call in it, 0.44 without; it alone 0.48 (most patterns: 0.10); the two
    # together 1.5, as much as each alone, and on prose one pass (0.10) where apart they cost two.
    sig("ssti_method_call", "ssti", 3, [
        _TEMPLATE_OPEN + r"[^{}]{0,60}(?:\.(?:execute|tourl|getclass|createnewfile|forname|newinstance|getruntime"
        r"|getsession|setattribute|touppercase|tolowercase|constructor|getenv|exec|popen|spawn|fromcharcode|mro"
        r"|subclasses|getclassloader|getattribute|shell|system|passthru|eval)\s?\("
        r"|\bnew\s[a-z][\w.]{1,60}\s?\(|\bpagecontext\b|\bapp\.request\.|\bconstructor\b|\bprocess\.|\b_context\b"
        r"|\bconfig\.(?:items|iteritems|__class__)\b)",
        _TEMPLATE_OPEN + r"\s?(?:passthru|system|exec|shell_exec|popen|proc_open|source|dump|include)\s?\(",
        r"\|\s?(?:filter|map|reduce|sort|call)\s?\(\s?['\"](?:system|passthru|exec|shell_exec|popen|call_user_func"
        r"|proc_open|assert|ini_set|file_put_contents|file_get_contents)",
        r"\{%\s?debug\s?%\}",
    ], apart=True),
    sig("ssti_expression", "ssti", 2, [
        _TEMPLATE_OPEN + r"[^{}]{0,60}(?:\.(?:popen|system|exec|eval|spawn|getruntime|forname|invoke|read)\s?\("
        r"|\bos\.|\bsubprocess\b|\brequire\s?\(|\bprocess\.|\bruntime\b|\bimport\b|\bself\b|\bconfig\b)",
        r"#\{\s?%x\||#\{\s?`",
        r"\{\{\s?['\"]?\w{0,30}['\"]?\s?\|\s?(?:attr|safe|e|format|join|map|select)\b",
        r"\bthymeleaf\b|__\$\{|\*\{\s?t\s?\(",
    ], apart=True),
    # ── XML external entities ──
    # what makes an XML parser fetch a resource the attacker names: an external entity, an external DTD (a
    # SYSTEM identifier that is a path, a UNC share or a URL: HTML5's ``about:legacy-compat`` is none of these;
    # a PUBLIC one when its first literal is already a location, as SVG's and XHTML's public ids are not, or its
    # system literal a file, a path or a scheme other than the web's, where DocBook's and the W3C's DTDs live),
    # XInclude under any prefix (its namespace is the tell), and XSLT's own readers given a URL or an absolute path
    # (a stylesheet that imports DocBook's over http is an ordinary customisation layer; a file or a path is not)
    sig("xxe_external_entity", "xxe", 3, [
        r"<!entity\s[^>]{0,60}\b(?:system|public)\b",
        r"<!doctype\s[^>\[]{0,60}\b(?:system|public)\s?['\"][^'\"]{0,200}(?:\.dtd|file:|https?:|php:|ftp:|expect:|jar:)",
        r"<!doctype\s[^>\[]{0,60}\bsystem\s?['\"][^'\"]{0,200}(?:[/\\]|\b(?:netdoc|gopher|data|dict|ldap|smb)\s?:)",
        r"<!doctype\s[^>\[]{0,60}\bpublic\s?['\"][^'\"]{0,100}['\"]\s?['\"]\s?(?:[/\\]|(?:file|php|expect|jar|netdoc|gopher"
        r"|ftp|data|dict)\s?:)",
        r"<xi:include\b|\bxmlns:xi\s?=|\bxmlns:[\w-]{1,20}\s?=\s?['\"]?\s?https?://www\.w3\.org/2001/xinclude\b",
        r"<!entity\s%\s",
        r"\bunparsed-text(?:-lines)?\s?\(\s?['\"]?\s?(?:[a-z]{2,10}:|[/\\]|\.\.)"
        r"|<xsl:(?:include|import)\s[^>]{0,80}\bhref\s?=\s?['\"]?\s?(?:[/\\]|(?:file|php|expect|jar|netdoc|gopher|ftp|data"
        r"|dict)\s?:)",
    ]),
    sig("xml_script_smuggling", "xxe", 3, [
        r"<!\[cdata\[\s?<?\s?\]\]>\s?/?\s?(?:script|img|svg|iframe)\b",
        r"\bxmlns:php\s?=|\bphp:function\b|<xsl:value-of\s[^>]{0,60}\b(?:php:|system-property\s?\()",
    ]),
    # a document that brings its own DTD: declarations, or nothing but parameter entities expanded in the internal
    # subset (``[ %remote; ]``: read as any text ending in ``;``, since a name such as ``%data;`` is decoded as a
    # percent-escape); and an entity whose value is other entities over and over (the expansion bomb), even
    # posted without its DOCTYPE
    sig("xxe_internal_subset", "xxe", 3, [
        r"<!doctype\s[^>\[]{0,60}\[\s?(?:<!(?:entity|element|attlist)\s|[^\]<>]{0,80};\s?\])",
        r"<!entity\s[\w.-]{1,40}\s?['\"]\s?(?:&[\w.-]{1,40};\s?){3}",
    ]),
    sig("xmlrpc_abuse", "xxe", 3, r"<methodname>\s?(?:pingback\.ping|system\.multicall|wp\.getusersblogs)\s?<"),
    sig("xxe_entity_declaration", "xxe", 2, [r"<!entity\s", r"<!doctype\s[^>]{0,60}\[", r"<!element\s",
                                             r"<!attlist\s"]),
    # an element whose whole content is an entity of the document's own (``<foo>&xxe;</foo>``): HTML's entities
    # are decoded before matching, so what is left is one only a DTD (declared here or fetched) defines
    sig("xxe_entity_reference", "xxe", 3, r">\s?&[a-z_][\w.-]{0,40};\s?</", scope=frozenset((BODY,))),
    # ── XPath (filed with the XML attacks) ──
    # a location path handed to XPath's node functions, or an axis step: what XPath injection writes to walk a
    # document it cannot see (``count(/child::node())``, ``name(/*[1])``, ``string-length(name(parent::*))``)
    sig("xpath_injection", "xxe", 3, [
        r"\b(?:count|name|local-name|string-length|substring|string|normalize-space)\s?\(\s?(?:/|\.\./|@\*|\*\["
        r"|name\s?\(\s?/|(?:child|parent|ancestor|descendant|self|attribute|following|preceding)\w{0,12}::)",
        r"\b(?:child|parent|ancestor|descendant|self|attribute|following-sibling|preceding-sibling"
        r"|descendant-or-self|ancestor-or-self)::(?:node\s?\(\s?\)|text\s?\(\s?\)|\*)",
        # a predicate closed, then a union with a path of the attacker's (``')] | //user/*[…``)
        r"""['"]\s?\)?\s?\]\s?\|\s?//?[\w*@]""",
    ]),
    # ── server-side and edge-side includes ──
    sig("ssi_directive", "ssi", 3,
        r"<!--\s?#\s?(?:exec|include|echo|config|printenv|set|fsize|flastmod|if|elif|else|endif)\b"),
    sig("esi_directive", "ssi", 3, r"<\s?esi:(?:include|vars|inline|assign|eval|try|debug|choose|when|remove|comment)\b"),
)
