"""Code for the server's own interpreter: PHP, Java, Node.js, Ruby and Perl, serialised objects.

A function name is ordinary text in a developer's question; a call built so that no filter reads
the name (``('sys'.'tem')('id')``, ``$_="`"^"@"``), a class only an exploit loads
(``java.lang.Runtime``), a module that runs commands asked for by name (``child_process``), or an
object stream's header, are not.
"""
from __future__ import annotations

from ..sigbase import VALUES, base64_opening, sig

#: Two quoted strings joined by PHP's concatenation, the quotes of either kind, with or without spaces.
_JOIN = "(?:" + "|".join(f"{a}{gap}\\.{gap}{b}" for a in "'\"" for b in "'\"" for gap in ("", " ")) + ")"

#: Modules whose callables a pickle imports to run a command.
_PICKLED_MODULES = (b"os", b"posix", b"nt", b"subprocess", b"builtins", b"__builtin__", b"commands", b"pty", b"socket")


def _pickle_heads() -> list[str]:
    """How a pickle that imports from one of :data:`_PICKLED_MODULES` opens in base64, lower-cased as the scan reads
    text: protocols 0, 2 and 3 name the module at once (``cposix`` → ``Y3Bvc2l4``, ``\\x80\\x02cposix`` →
    ``gAJjcG9zaXgK``); 4 and 5 open with a frame of eight length bytes, six of them zero for any pickle a cookie can
    hold (``gASV…AAAA``), then the module's name (``\\x8c\\x05posix`` → ``AACMBXBvc2l4``).  Only the characters the
    bytes decide are kept."""
    heads = []
    for module in _PICKLED_MODULES:
        heads += [base64_opening(opening + module + b"\n") for opening in (b"c", b"\x80\x02c", b"\x80\x03c")]
        heads.append(r"ga[sw]v[\w+/-]{4}aaaa" + base64_opening(b"\x00\x00\x8c" + bytes((len(module),)) + module))
    return heads


SIGNATURES = (
    # ── PHP ──
    sig("php_code", "php", 3, [
        r"<\?(?:php\b|=)",
        r"\bpd9waha[gjk=]",                   # ``<?php`` base64-encoded at a token's start (a data: URI to include)
        r"<\?\s{1,2}(?:echo|print|system|exec|passthru|eval|include|require|readfile|phpinfo|\$_)\b",   # short open tag
        r"\$_(?:get|post|request|cookie|server|files|env|session)\s?\[",
        r"\{?\$\{\s?@?\w{2,30}\s?\(",
        r"\b(?:system|exec|shell_exec|passthru|popen|proc_open|pcntl_exec|assert|create_function|call_user_func"
        r"|call_user_func_array|preg_replace|file_get_contents|file_put_contents|fwrite|fputs|readfile|highlight_file"
        r"|show_source|phpinfo|base64_decode|gzinflate|str_rot13|move_uploaded_file|fopen"
        r"|opendir|scandir|parse_ini_file"
        r"|unserialize|var_dump|print_r|eval)\s?\(\s?(?:['\"$`]|base64|gzinflate|str_rot13|chr\("
        # or given what a prober reads first: the directory, the script's own source, the host
        r"|(?:scandir|glob|getcwd|php_uname|phpversion|getenv|get_defined_vars)\s?\(|__(?:file|dir)__)",
        # a file included: a variable, a URL or a path, a script's name — not a dotted module (Django's
        # ``include('blog.urls')``, which a Django site's own users write)
        r"\b(?:include|require)(?:_once)?\s?\(\s?(?:\$|['\"`](?:[a-z][a-z0-9+.-]{1,15}:|[./\\~]|[^'\"`\s]{0,100}"
        r"\.(?:php\d?|phtml|inc|txt|ini|log|conf)\b)|base64|gzinflate|str_rot13|chr\()",
        # called with nothing, only what tells without an argument: prose names ``exec()`` and ``eval()`` so; and as
        # a function, not a method (Python's ``os.getcwd()``)
        r"(?:^|[^.\w])(?:phpinfo|get_defined_vars|getcwd|php_uname|phpversion)\s?\(\s?\)",
    ]),
    # a call whose function no filter can read by name, as PHP webshells write it: a dangerous function's name in
    # brackets or handed over in quotes (``(system)('id')``, ``array_map('system', …)``), a name built of quoted
    # pieces (``('sys'.'tem')('id')``, ``${'sys'.'tem'}``, ``$a='sys'.'tem';$a('id')``), or characters made by
    # XOR-ing punctuation (``$_="`"^"@"``).  The joins are spelt out (``'.'``, ``" . "``): literals the prefilter
    # can look for, where a class of quotes around a dot gives it none
    sig("php_hidden_call", "php", 3, [
        r"\(\s?(?:system|exec|shell_exec|passthru|popen|proc_open|pcntl_exec|assert|eval|phpinfo|create_function)\s?\)"
        r"\s?\(",
        r"[(,]\s?['\"](?:system|shell_exec|passthru|popen|proc_open|pcntl_exec|assert|phpinfo|create_function"
        r"|call_user_func(?:_array)?)['\"]\s?[,)]",
        rf"(?:\(|\$\{{)\s?['\"](?:\w{{0,20}}{_JOIN}){{1,8}}\w{{0,20}}['\"]\s?[)}}]\s?\(",
        rf"\$\w{{1,20}}\s?=\s?['\"](?:\w{{0,20}}{_JOIN}){{1,8}}\w{{0,20}}['\"]\s?;\s?\$\w{{1,20}}\s?\(",
        r"""['"][^'"\s\w]{1,4}(?:"\^"|'\^'|" \^ "|' \^ ')[^'"\s\w]{1,4}['"]""",
    ]),
    # code that prints a value the prober computes, to find it in the page (``;print(md5(31337));``,
    # ``echo str_repeat('x',5)``, ``chr(122).chr(97)``): evaluation found without running a command.  The argument is
    # a literal: code that hashes its own data (``print(md5(data))``) is not this
    sig("php_output_probe", "php", 3, [
        r"\b(?:print|echo|die|exit|print_r|var_dump)\s?\(?\s?(?:md5|sha1|crc32|str_repeat|strrev)\s?\(\s?"
        r"(?:['\"][\w.]{0,40}['\"]|\d{1,20})\s?(?:,\s?\d{1,4}\s?)?\)",
        r"\bchr\s?\(\s?\d{1,3}\s?\)\s?\.\s?chr\s?\(",
    ]),
    sig("php_wrapper", "php", 3,
        r"\bphp://(?:filter|input|stdin|memory|temp|fd|output)\b|\bdata://text/plain|\bexpect://|\bphar://|\bzip://"
        r"|\bconvert\.(?:base64|iconv|quoted-printable)"),
    sig("php_serialised_object", "php", 3, [
        r"\b[oc]:\d{1,5}:\"[\w\\]{1,100}\":\d{1,5}:\{",
        r"(?:^|[;{=])a:\d{1,5}:\{(?:[isbd]:|n;|[isbd]:\d{0,10}[:;])",
        # the same object in base64, as a cookie carries it: ``O:8:"`` → ``Tzo4OiJ``, ``O:24:"`` → ``TzoyNDoi`` (a class
        # name of one or two digits' length; the characters its digits decide are left open)
        r"\btzo[a-z0-9+/]oij|\btzo[a-z0-9+/]{3}oi",
    ]),
    sig("php_function_call", "php", 2,
        r"\b(?:system|exec|shell_exec|passthru|popen|proc_open|phpinfo|assert|unserialize|file_get_contents)\s?\(",
        scope=VALUES),
    # a PHP configuration directive handed to PHP-CGI as a command-line option through the query string
    # (``?-d+allow_url_include=1+-d+auto_prepend_file=php://input``, also with a soft hyphen for the dash):
    # PHP-CGI's argument injection, which scanners still spray at every site
    sig("php_cgi_argument", "php", 3,
        r"(?:^|\W)d\s?(?:allow_url_(?:include|fopen)|auto_(?:prepend|append)_file|safe_mode|open_basedir"
        r"|disable_functions|cgi\.force_redirect|register_argc_argv|suhosin\.simulation)\s?=", scope=VALUES),
    # a parameter named for a callable whose value is a PHP function that calls another or runs a command: a
    # framework dispatching on it (``function=call_user_func_array&vars[0]=system``); a search for the name is text
    sig("php_callable_value", "php", 3,
        r"\b(?:function|func|callback|cb|fn|method|call|handler|invoke)\w{0,10}(?:\[\w{0,20}\])?=\s?"
        r"(?:call_user_func(?:_array)?|create_function|shell_exec|passthru|proc_open|pcntl_exec|file_put_contents"
        r"|system|exec|assert|popen|eval)\s?(?:$|&)", scope=VALUES),
    # ── Java ──
    sig("shell_jndi_lookup", "java", 3, [r"\$\{\s?jndi\s?:", r"\$\{[^{}]{0,40}\$\{", r"\$\{(?:env|sys|java|lower|upper"
                                         r"|::-\w|date|ctx|main|spring|k8s|docker|bundle|web|log4j):"]),
    sig("java_class", "java", 3, [
        r"\bjava\.lang\.(?:runtime|processbuilder|system|class|reflect|thread|classloader|object|string\b.{0,40}"
        r"getclass)",
        r"\bgetruntime\s?\(\s?\)|\bprocessbuilder\b|\bjavax?\.(?:script|naming|management)\.",
        r"\b(?:invokertransformer|chainedtransformer|constanttransformer|instantiatetransformer|templatesimpl"
        r"|jdbcrowsetimpl|annotationinvocationhandler|badattributevalueexpexception|priorityqueue.{0,40}comparator"
        r"|commons\.collections\d?\.functors|org\.apache\.xalan|com\.sun\.org\.apache|ysoserial|groovy\.util\.expando"
        r"|org\.codehaus\.groovy|bsh\.interpreter|c3p0|springframework\.beans\.factory|javassist|com\.sun\.jndi)",
        r"%\{\s?\(?#|#_memberaccess|#context\[|@java\.lang|\bognl\b|\bclass\.module\.classloader|\bclass\.classloader",
        r"\bt\s?\(\s?java\.",
    ]),
    sig("java_serialised_object", "java", 3, [r"\bro0ab[a-z0-9+/]{4}", r"\baced0005"]),
    # in a short value, the classes an expression language is given to read a file or open a connection with
    # (``new java.util.Scanner(new java.io.File('/etc/passwd'))``); a Java developer's text names them too
    sig("java_io_class", "java", 3,
        r"\bjava\.io\.(?:file(?:inputstream|outputstream|reader|writer)?|bufferedreader|inputstreamreader|printwriter)\b"
        r"|\bjava\.util\.scanner\b|\bjava\.nio\.file\.(?:files|paths)\b|\bjava\.net\.(?:url|socket|urlclassloader)\b",
        scope=VALUES),
    # ── Node.js, Ruby and Perl ──
    # asked to run a command, or to load the module that does (``require('child_process').exec(…)``,
    # ``process.mainModule.require``, ``Process.spawn('id')``, ``IO.popen``, ``@{[system 'id']}``, ``%x(id)``)
    sig("runtime_command", "shell", 3, [
        r"\bchild_process['\"]?\s?\)?\s?\.\s?(?:exec|execsync|execfile|execfilesync|spawn|spawnsync|fork)\s?\(\s?['\"`]",
        r"\bprocess\s?\.\s?(?:mainmodule|binding\s?\()|\bconstructor\s?\.\s?_load\s?\(|\bglobal\s?\.\s?process\b",
        r"\b(?:process\s?\.\s?spawn|kernel\s?\.\s?(?:exec|system|spawn|open)|io\s?\.\s?popen"
        r"|open3\s?\.\s?(?:popen\d?|capture\d\w{0,2}))\s?\(",
        r"@\{\s?\[\s?(?:system|exec|readpipe)",
        r"%x[({\[]\s?(?:id|whoami|uname|ls|cat|ping|sleep|curl|wget|nc|bash|sh)\b",
    ]),
    # ── deserialisation in the formats a Python (or Ruby, or Java) service loads ──
    # YAML tags that construct objects (``!!python/object/apply:os.system``: PyYAML's unsafe loader, SnakeYAML's
    # gadgets, Ruby's Psych) and a protocol-0 pickle importing a callable to run (``cos\nsystem\n(S'id'\ntR.``,
    # its line breaks read as spaces or `` ; ``)
    sig("yaml_pickle_object", "deserialisation", 3, [
        r"!!python/(?:object(?:/apply|/new)?|name|module)\s?:",
        r"!ruby/(?:object|hash|struct)\s?:",
        r"!!(?:javax\.script\.scriptenginemanager|com\.sun\.rowset\.jdbcrowsetimpl|java\.net\.urlclassloader"
        r"|org\.springframework\.|com\.mchange\.v2\.c3p0\.)",
        r"(?:^|[\s(;=])c(?:os|posix|nt|subprocess|builtins|__builtin__|commands|pty|socket)(?:\s;)?\s"
        r"(?:system|popen|exec|eval|check_output|check_call|call|run|spawn|getoutput|__import__|getattr)"
        r"(?:\s;)?\s(?:p\d{1,4}(?:\s;)?\s)?\((?:s['\"]|v\S)",     # a string argument: (S'id' or (Vid
    ]),
    # .NET's BinaryFormatter (and the formatters built on it: ViewState's LosFormatter, SoapFormatter's payloads
    # as ysoserial.net writes them) opens every stream with the same header record, 00 01 00 00 00 FF FF FF FF:
    # in base64 ``AAEAAAD/////``, in hex ``0001000000ffffffff``; no text or token starts that way by chance
    sig("dotnet_serialised_object", "deserialisation", 3, [r"\baaeaaad/////", r"\b0001000000ffffffff0[01]"]),
    # a Python pickle in base64 that imports a module to run something (a session or cache cookie a site unpickles:
    # Django's PickleSerializer before 4.1), whatever protocol wrote it
    sig("python_pickle_base64", "deserialisation", 3, r"\b(?:" + "|".join(_pickle_heads()) + r")"),
    # in a short value, Python that runs a command: what an ``eval`` of a parameter would execute (a command, so
    # the shell family's, placed here beside the pickle that calls the same functions)
    sig("python_command_call", "shell", 2,
        r"\b(?:os\.(?:system|popen\d?|exec[lv]p?e?|spawn[lv]p?e?|posix_spawnp?)|subprocess\.(?:popen|call|run"
        r"|check_output|check_call|getoutput|getstatusoutput)|pty\.spawn|commands\.getoutput)\s?\(", scope=VALUES),
)
