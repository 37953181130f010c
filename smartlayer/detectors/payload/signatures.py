"""The built-in signature table, and the gate that rules most texts out before any signature runs.

Signatures are written against *normalised* text (see :mod:`.normalise`):
lower case, entities and percent-escapes decoded, whitespace collapsed.
Every signature is audited for backtracking by the tests
(:mod:`.regex_safety`).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Signature:
    """One kind of evidence.

    ``regex`` is matched against *normalised* text (lower-case, whitespace
    collapsed to single spaces), so built-in patterns are written in lower
    case and compiled without ``IGNORECASE``, which would make them several
    times slower.  ``regex`` is ``None`` for the encoding tricks that the
    normaliser itself notices.

    ``triggers`` are literals of which every possible match contains at least
    one; the gate regex is their union.  An empty tuple means "always run"
    (user-supplied extra patterns, whose shape we cannot know).
    """

    name: str
    family: str
    weight: int
    regex: re.Pattern[str] | None
    triggers: tuple[str, ...] = ()


# ── the signature table ────────────────────────────────────────────────────
#
# Performance rule for the patterns below: every top-level alternative starts
# with a literal character (a whole pattern may also start with a character
# class).  The regex engine then skips straight to the positions where a
# match can begin; a leading ``\b``, look-around or group of alternatives
# makes it try every position, several times slower on a 64 KiB body.  Hence
# :func:`_word` instead of ``\b``, and alternatives listed one per line.

def _sig(name: str, family: str, weight: int, alternatives: str | list[str] | None,
         triggers: Iterable[str] = ()) -> Signature:
    if alternatives is None:
        return Signature(name, family, weight, None)
    pattern = alternatives if isinstance(alternatives, str) else "|".join(alternatives)
    return Signature(name, family, weight, re.compile(pattern), tuple(triggers))


def _word(word: str) -> str:
    """``word`` at the start of a word: ``\\bword`` spelled to begin with a literal."""
    escaped = re.escape(word)
    return rf"{escaped}(?<!\w{escaped})"


def _words(words: Iterable[str], tail: str = "") -> list[str]:
    """One alternative per word (at a word start), each followed by ``tail``."""
    return [_word(w) + tail for w in words]


def _after_separator(commands: Mapping[str, str], tail: str = "") -> tuple[str, list[str]]:
    """Regex "shell separator, optional space, command" and its trigger literals.

    Normalised text never has two spaces in a row, so ``\\s?`` after the
    separator covers every spelling and the triggers can be listed.
    """
    separators = "|".join(re.escape(s) for s in _SHELL_SEPARATORS)
    commands_re = "|".join(re.escape(head) + rest for head, rest in commands.items())
    triggers = [sep + space + head for sep in _SHELL_SEPARATORS for space in ("", " ") for head in commands]
    return rf"(?:{separators})\s?(?:{commands_re}){tail}", triggers


#: A quote closing a string literal, then a boolean connector (``' or``, ``")||``).
#: Spaces and parentheses are matched one way only (``(?:\s?\))*\s?``, not
#: ``\s?\)*\s?``): every extra way to split them is another full attempt at
#: the rest of the pattern for each quote of a long body.
_QUOTE_CLOSE = r"""['"](?:\s?\)){0,5}\s?"""
_QUOTE_CONNECTOR = _QUOTE_CLOSE + r"(?:(?:or|and|xor)\b|\|\||&&)(?:\s?\(){0,5}\s?"

#: A SQL comment used as a space (``union/**/select``), read one way only.  The
#: obvious ``/\*.{0,40}?\*/`` can also swallow ``*//*``, so a run of ``/**/``
#: splits into comments in exponentially many ways, and ``union`` + 26 × ``/**/``
#: kept a worker busy for half a minute.  Here the text between ``/*`` and
#: ``*/`` cannot contain ``*/``: runs of non-stars, each closed by stars, the
#: last stars followed by ``/`` — every character has one place in the match.
_SQL_COMMENT = r"/\*[^*]{0,40}\*{1,10}(?:[^*/][^*]{0,40}\*{1,10}){0,3}/"

#: Shell separators; a command word must follow one for the shell signatures.
_SHELL_SEPARATORS = (";", "|", "&", "`", "$(")

#: Commands that after a separator mean an attack: head literal → rest of the regex.
_SHELL_STRONG = {
    "rm": r"\s-[a-z]{0,4}[rf]",
    "cat": r"\s(?:-[a-z]{1,4}\s)?[/~]",
    "head": r"\s(?:-[a-z0-9]{1,4}\s)?[/~]",
    "tail": r"\s(?:-[a-z0-9]{1,4}\s)?[/~]",
    "more": r"\s[/~]",
    "less": r"\s[/~]",
    "wget": r"\s(?:-\S{1,20}\s){0,4}(?:[a-z]{3,5}://|[\w-]{1,63}\.[\w-]{2,}|\d{1,3}\.\d)",
    "curl": r"\s(?:-\S{1,20}\s){0,4}(?:[a-z]{3,5}://|[\w-]{1,63}\.[\w-]{2,}|\d{1,3}\.\d)",
    "sh": r"(?:\s-[a-z]{0,3}[ci]|$)",
    "bash": r"(?:\s-[a-z]{0,3}[ci]|$)",
    "zsh": r"(?:\s-[a-z]{0,3}[ci]|$)",
    "dash": r"(?:\s-[a-z]{0,3}[ci]|$)",
    "/bin/": r"(?:ba|z|k|da|c|tc)?sh\b",
    "/usr/bin/": r"(?:env\s)?(?:(?:ba|z|k|da|c|tc)?sh|python[23]?|perl|ruby|php|nc|wget|curl)\b",
    "nc": r"\s(?:-[a-z]{1,4}\s\S{1,40}\s){0,4}[\w.-]{1,253}\s\d{1,5}\b",
    "ncat": r"\s",
    "netcat": r"\s",
    "socat": r"\s",
    "python": r"[23]?\s-[a-z]{0,3}c\s",
    "perl": r"\s-[a-z]{0,3}e\s",
    "ruby": r"\s-[a-z]{0,3}e\s",
    "php": r"\s-[a-z]{0,3}r\s",
    "node": r"\s-[a-z]{0,3}e\s",
    "chmod": r"\s(?:[+][rwxs]|[0-7]{3,4}\b)",
    "cmd": r"(?:\.exe)?\s/c\b",
    "powershell": r"(?:\.exe)?\s-",
    "mkfifo": r"\b",
    "telnet": r"\s[\w.-]{1,253}\s\d{1,5}\b",
}

#: Commands that after a separator are a probe rather than damage.
_SHELL_PROBES = {
    "id": "", "whoami": "", "uname": r"(?:\s-[a-z]{1,4})?", "ifconfig": "", "ipconfig": "",
    "hostname": "", "pwd": "", "ls": r"(?:\s-[a-z]{1,4})?", "env": "", "printenv": "",
    "systeminfo": "", "sleep": r"\s\d{1,3}", "ping": r"\s-[cn]\s?\d{1,3}", "net": r"\suser",
    "ps": r"\s(?:-ef|-?aux)", "netstat": r"\s-[a-z]{1,5}", "nslookup": r"\s\S",
}

#: Words that make a backtick or ``$( … )`` a command substitution.
_SUBSTITUTION_COMMANDS = "|".join((
    "rm", "cat", "id", "whoami", "uname", "ls", "curl", "wget", "bash", "sh", "nc", "python", "perl",
    "php", "ping", "sleep", "echo", "touch", "chmod", "base64", "env", "printenv", "hostname", "nslookup",
    "dig", "pwd", "ifconfig", "mkfifo", "telnet",
))

#: Event-handler attribute names (prefixes: ``mouse`` covers ``onmouseover``).
_EVENT_PREFIXES = "|".join((
    "error", "load", "click", "dblclick", "auxclick", "mouse", "focus", "blur", "key", "change", "submit",
    "input", "begin", "end", "toggle", "animation", "transition", "pointer", "touch", "drag", "drop",
    "wheel", "scroll", "resize", "unload", "beforeunload", "message", "hashchange", "popstate", "pageshow",
    "pagehide", "abort", "canplay", "play", "pause", "copy", "cut", "paste", "contextmenu", "invalid",
    "reset", "search", "select", "show", "start", "finish", "afterprint", "beforeprint", "progress",
    "readystatechange",
))

_STRONG_RE, _STRONG_TRIGGERS = _after_separator(_SHELL_STRONG)
_PROBE_RE, _PROBE_TRIGGERS = _after_separator(_SHELL_PROBES, tail=r"""(?=$|[\s;|&`)'"#])""")
_SQL_KEYWORDS = "union|select|and|or|from|where|insert|update|delete"
_SQL_FUNCTIONS = ("group_concat", "load_file", "extractvalue", "updatexml", "make_set", "concat_ws")
_SENSITIVE_DOTFILES = ("ssh", "aws", "git", "env", "htpasswd", "htaccess", "bash_history", "docker")
_PROMPT_VERBS = ("ignore", "disregard", "forget", "override", "bypass", "skip")
_PROMPT_SECRETS = ("system", "initial", "hidden", "original", "secret", "developer", "preprompt", "pre-prompt")
_SQL_NAME = r"""[\w.`"\[\]]{1,64}"""

#: Built-in signatures.  Weights: 3 = an attack on its own, 1–2 = a hint
#: that needs a second one (or the LLM) before anything is blocked.
SIGNATURES: tuple[Signature, ...] = (
    # ── SQL injection ──
    _sig("sqli_tautology", "sqli", 3,
         _QUOTE_CONNECTOR + r"""(?:['"]?(\w{0,30})['"]?\s?(?:=|like|is)(?:\s?\(){0,5}\s?['"]?\1['"]?(?!\w)"""
         r"""|(?:\d{1,10}|true|false)\s?(?:--|#)|(?:pg_)?sleep\s?\(|benchmark\s?\(|exists\s?\(|\(*\s?select\b)""",
         ["'", '"']),
    _sig("sqli_boolean", "sqli", 2,
         _QUOTE_CONNECTOR + r"""['"]?\w{1,30}['"]?\s?(?:=|<>|!=|<|>|like\b|is\s(?:not\s)?null\b|in\s?\(|between\b)""",
         ["'", '"']),
    _sig("sqli_numeric_tautology", "sqli", 2, r"\s(?:or|and)\s(\d{1,10})\s?=\s?\1(?!\d)", [" or ", " and "]),
    _sig("sqli_quote_comment", "sqli", 2, _QUOTE_CLOSE + r"(?:;\s?)?(?:--(?:\s|$|[-+#])|#(?:\s|$)|/\*)",
         ["'", '"']),
    _sig("sqli_union_select", "sqli", 3,
         _word("union") + rf"(?:\s|{_SQL_COMMENT}|\(){{1,20}}(?:(?:all|distinct)(?:\s|{_SQL_COMMENT}){{1,20}})?\(*select\b",
         ["union"]),
    _sig("sqli_stacked_query", "sqli", 3,
         r";\s?(?:drop\s(?:table|database|schema|user|view|index|procedure|function)\b|truncate\stable\b"
         rf"|delete\sfrom\b|insert\sinto\b|update\s{_SQL_NAME}\sset\b|alter\s(?:table|user|database)\b"
         r"|create\s(?:table|user|database|procedure|function|trigger)\b|exec(?:ute)?\s(?:xp_|sp_|master\.)"
         r"|shutdown\b|declare\s@|grant\sall\b|select\s(?:pg_sleep|sleep|benchmark|load_file)\b)",
         [f";{s}{w}" for s in ("", " ") for w in ("drop", "truncate", "delete", "insert", "update", "alter",
                                                   "create", "exec", "shutdown", "declare", "grant", "select")]),
    _sig("sqli_destructive", "sqli", 2, [
        *_words(("drop", "truncate"), r"\s(?:table|database|schema)\b"),
        _word("delete") + rf"\sfrom\s{_SQL_NAME}\swhere\b",
        _word("insert") + rf"\sinto\s{_SQL_NAME}\s?(?:\(|values\b)",
    ], ["drop", "truncate", "delete", "insert"]),
    _sig("sqli_time_delay", "sqli", 2, [
        *_words(("sleep", "pg_sleep", "benchmark"), r"\s?\(\s?\d"),
        _word("waitfor") + r"\s(?:delay|time)\b",
        _word("dbms_") + r"(?:pipe\.receive_message|lock\.sleep)\b",
    ], ["sleep", "benchmark", "waitfor", "dbms_"]),
    _sig("sqli_schema_probe", "sqli", 2, [
        *_words(("information_schema", "sqlite_master", "sysobjects", "xp_cmdshell"), r"\b"),
        _word("pg_") + r"(?:catalog|shadow|user)\b",
        _word("mysql") + r"\.user\b",
        _word("sys") + r"\.(?:objects|tables|columns|databases)\b",
    ], ["information_schema", "sqlite_master", "sysobjects", "xp_cmdshell", "pg_", "mysql.user", "sys."]),
    _sig("sqli_function", "sqli", 1, [
        *_words(_SQL_FUNCTIONS, r"\s?\("),
        _word("char") + r"\(\d",
        r"@@(?:version|datadir|hostname|basedir)\b",
    ], [*_SQL_FUNCTIONS, "char(", "@@"]),
    _sig("sqli_inline_comment", "sqli", 2, [
        rf"/\*!?\d{{0,6}}\s?(?:{_SQL_KEYWORDS})\b",
        *_words(_SQL_KEYWORDS.split("|"), r"/\*"),
        rf"\*/(?:{_SQL_KEYWORDS})\b",
    ], ["/*", "*/"]),
    # ── cross-site scripting ──
    _sig("xss_script_tag", "xss", 3, r"<\s?/?\s?script\b", ["<"]),
    _sig("xss_event_handler", "xss", 3, r"""<[a-z][^<>]{0,120}?[\s/"'`]on[a-z]{3,30}\s?=""", ["<"]),
    _sig("xss_event_attribute", "xss", 2, rf"""[\s"'/;`]on(?:{_EVENT_PREFIXES})[a-z]{{0,12}}\s?=""",
         [c + "on" for c in " \"'/;`"]),
    _sig("xss_js_uri", "xss", 2,
         r"""(?:java|vb|live)\s?script\s?:\s?(?:[\w$.\[\]]{1,60}\s?[(=`]|[/'"`(\[{!+-]|void\b|eval\b)""",
         ["script"]),
    _sig("xss_data_uri", "xss", 2,
         _word("data") + r":\s?(?:text/html|image/svg\+xml|application/(?:x-)?javascript)\b", ["data:"]),
    _sig("xss_dangerous_tag", "xss", 2,
         r"<\s?(?:iframe|frame|frameset|object|embed|applet|svg|math|base|meta|isindex|portal)\b", ["<"]),
    _sig("xss_js_sink", "xss", 1, [
        *_words(("alert", "confirm", "prompt"), r"""\s?(?:\(\s?(?:['"`\d/]|document\b|window\b|this\b|\))|`)"""),
        *_words(("eval", "atob"), r"\("),
        _word("string") + r"\.fromcharcode\s?\(",
        _word("document") + r"\.write(?:ln)?\s?\(",
        r"\.innerhtml\s?=",
        _word("fetch") + r"""\(\s?['"`]?(?:https?:)?//""",
    ], ["alert", "confirm", "prompt", "eval(", "atob(", "fromcharcode", "document.write", "innerhtml", "fetch("]),
    _sig("xss_cookie_access", "xss", 2, [
        _word("document") + r"\s?\.\s?(?:cookie|domain)\b",
        _word("localstorage") + r"\s?\.\s?getitem\b",
    ], ["document", "localstorage"]),
    # ── path traversal ──
    _sig("traversal_sequence", "traversal", 2, r"\.\.\.{0,2}[/\\]{1,4}\.{2,4}[/\\]", [".."]),
    _sig("traversal_sensitive_file", "traversal", 2, [
        _word("etc") + r"[/\\]{1,4}(?:passwd|shadow|group|hosts|issue|crontab|sudoers|hostname|resolv\.conf)\b",
        _word("proc") + r"[/\\]{1,4}(?:self\b|\d{1,7}[/\\]{1,4}(?:environ|cmdline|maps|mem|fd|status|root|cwd)\b)",
        _word("c") + r":[/\\]{1,4}(?:windows|winnt|boot\.ini|inetpub)\b",
        *_words(("win", "system", "boot"), r"\.ini\b"),
        *(rf"{re.escape(slash)}\.(?:{'|'.join(_SENSITIVE_DOTFILES)})\b" for slash in "/\\"),
        _word("web") + r"\.config\b",
        _word("id") + r"_(?:rsa|dsa|ecdsa|ed25519)\b",
    ], ["etc", "proc", "c:", ".ini", "web.config", "id_", *("." + f for f in _SENSITIVE_DOTFILES)]),
    # ── shell injection ──
    _sig("shell_command", "shell", 3, _STRONG_RE, _STRONG_TRIGGERS),
    _sig("shell_probe", "shell", 2, _PROBE_RE, _PROBE_TRIGGERS),
    _sig("shell_substitution", "shell", 2, [
        rf"\$\(\s?(?:{_SUBSTITUTION_COMMANDS})\b",
        rf"`\s?(?:{_SUBSTITUTION_COMMANDS})\b[^`]{{0,100}}`",
        r"\$\{?ifs\b",
    ], ["$(", "`", "$ifs", "${ifs"]),
    _sig("shell_jndi_lookup", "shell", 3, [r"\$\{\s?jndi\s?:", r"\$\{[^{}]{0,40}\$\{"], ["${"]),
    # ── prompt injection ──
    _sig("prompt_ignore_instructions", "prompt", 2,
         rf"(?:{'|'.join(_words(_PROMPT_VERBS))})\s(?:\w{{1,20}}\s){{0,3}}?"
         r"(?:all|any|previous|prior|above|earlier|preceding|former|system|original|initial|your|these|those)\s"
         r"(?:\w{1,20}\s){0,2}?(?:instructions?|prompts?|directives?|rules|guidelines|guardrails|constraints)\b",
         _PROMPT_VERBS),
    _sig("prompt_reveal_system", "prompt", 2,
         rf"(?:{'|'.join(_words(('reveal', 'show', 'print', 'output', 'repeat', 'display', 'leak', 'dump')))}"
         rf"|{'|'.join(_words(('expose', 'tell', 'give', 'write', 'what')))})"
         r"(?:'s|\s(?:is|are|was))?\s(?:\w{1,20}\s){0,3}?"
         rf"(?:{'|'.join(re.escape(s) for s in _PROMPT_SECRETS)})\s(?:prompt|instructions?|message)\b",
         _PROMPT_SECRETS),
    _sig("prompt_role_override", "prompt", 1, [
        _word("you") + r"\sare\snow\s(?:a|an|the|my|in|dan|no\slonger|free|unrestricted|unfiltered|going"
                       r"|acting|called)\b",
        _word("from") + r"\snow\son,?\syou\s(?:are|will|must|shall)\b",
        _word("act") + r"\sas\s(?:an?\s)?(?:unrestricted|unfiltered|uncensored|evil|jailbroken|dan)\b",
        _word("pretend") + r"\s(?:to\sbe|you\sare|that\syou\sare)\b",
        _word("new") + r"\sinstructions\s?:",
    ], ["you are now", "from now on", "act as", "pretend", "new instructions"]),
    _sig("prompt_jailbreak", "prompt", 1, _word("jailbr") + "(?:eak|oken)", ["jailbr"]),
    _sig("prompt_dan_mode", "prompt", 2, [
        _word("dan") + r"\smode\b",
        _word("do") + r"\sanything\snow\b",
        _word("developer") + r"\smode\s(?:enabled|on|activated|output)\b",
    ], ["dan mode", "do anything now", "developer mode"]),
    _sig("prompt_special_tokens", "prompt", 2, [
        r"<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id)\|>",
        r"\[/?inst\]",
        r"<</?sys>>",
    ], ["<|", "[inst]", "[/inst]", "<<sys>>", "<</sys>>"]),
    # ── null bytes ──
    _sig("null_byte", "nullbyte", 2, r"\x00", ["\x00"]),
    # ── encoding tricks (noticed by the normaliser) ──
    _sig("double_encoding", "encoding", 1, None),
    _sig("overlong_utf8", "encoding", 2, None),
    _sig("escape_obfuscation", "encoding", 2, None),
)

_REGEX_SIGNATURES = tuple(s for s in SIGNATURES if s.regex is not None)
_BY_NAME = {s.name: s for s in SIGNATURES}


def _trie_pattern(words: Iterable[str]) -> str:
    """A regex matching any of ``words``, factored into a trie.

    Every branch starts with a literal, which lets the regex engine skip to
    positions holding a possible first character.  A word extending a shorter
    one is dropped: the shorter one already matches.
    """
    groups: dict[str, set[str]] = {}
    for word in words:
        if not word:
            return ""
        groups.setdefault(word[0], set()).add(word[1:])
    alternatives = [re.escape(first) + _trie_pattern(rest) for first, rest in sorted(groups.items())]
    return alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"


def _gates(signatures: Iterable[Signature]) -> tuple[re.Pattern[str], ...]:
    """The pre-filter: text matching none of these cannot match a signature.

    Triggers are split by their first character, punctuation and letters:
    two small tries scan faster than one big one, because the engine tries
    every alternative of a trie level at each candidate position.
    """
    triggers = {t for s in signatures for t in s.triggers}
    letters = {t for t in triggers if t[0].isalpha()}
    return tuple(re.compile(_trie_pattern(group)) for group in (triggers - letters, letters) if group)


_GATE_SYMBOLS, _GATE_WORDS = _gates(_REGEX_SIGNATURES)


