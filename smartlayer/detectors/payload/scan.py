"""Payload detection: does this request carry an attack string?

The pure core of ``AIRequestValidator``.  It turns the parts of a request an
attacker controls (query string, body, selected headers, cookie values) into
normalised text, matches them against a table of weighted signatures and
returns a :class:`ScanResult`.  No cache, no database, no LLM: the middleware
feeds the score to :func:`smartlayer.policy.decisions.combine`, which reads it as
"0 → safe, 1 … below ``VALIDATOR_BLOCK_SCORE`` → borderline (ask the LLM),
at or above it → block".

Why it is built the way it is:

* **Everything is scanned, not only the body.**  The 0.1.0 validator looked at
  the body alone, so ``GET /?q=' OR 1=1--`` went through.
* **Text is normalised before matching.**  Attackers hide payloads behind
  URL-encoding (often twice), HTML entities, fullwidth or zero-width
  characters and ``\\uXXXX`` escapes; the signatures are written once against
  the decoded, lower-cased form.  Decoding more than once is itself evidence
  (``double_encoding``), as are overlong UTF-8 and escapes hiding a
  metacharacter.
* **Signatures need context.**  A lone ``;``, ``--``, ``/*`` or ``union`` is
  ordinary text (``rock & roll; cats``, ``*/*;q=0.8``, ``shop_session``); a
  signature fires on a quote *followed by* ``or 1=1``, a separator *followed
  by* a command, a tag *carrying* an event handler.  Strong evidence weighs 3
  (blocked on its own with the default threshold), weak evidence 1–2 (sent to
  the LLM), and the score counts each signature once per request.
* **The common case is cheap.**  Every benign GET passes through here.  Plain
  ASCII text skips the decoders, and a gate (two trie regexes over literals
  of which every match of every signature contains one) rules most texts out
  before any individual signature runs.
* **Bounded and total.**  At most ``VALIDATOR_MAX_BYTES`` characters of each
  part (the query string, the body, a header, the cookies) are scanned, and
  :data:`REQUEST_BUDGET_PARTS` times that for the whole request.  Every regex
  is linear on the input: bounded gaps, and no loop that can match the same
  text in two ways — :mod:`smartlayer.detectors.payload.regex_safety` audits the built-in
  signatures (in the tests) and ``VALIDATOR_EXTRA_PATTERNS`` (an unsafe one
  is never run; system check E012).  Nothing here raises: a bug is reported
  through :func:`smartlayer.state.failures.report_failure` and the partial result
  returned, so the validator fails open rather than taking the site down.
"""
from __future__ import annotations

import html
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html.entities import html5
from typing import Any
from urllib.parse import unquote

from ...conf import DEFAULTS, derived, sl_settings
from .body import BINARY_PREFIXES, BINARY_TYPES, scannable_body

__all__ = [
    "SIGNATURES",
    "ScanResult",
    "Signature",
    "ExtraPatterns",
    "compile_extra_patterns",
    "extra_patterns",
    "normalise",
    "scan_parts",
    "scan_request",
    "scan_text",
]


# ── result and signature types ─────────────────────────────────────────────

@dataclass(slots=True)
class ScanResult:
    """What the scan found; read by the middleware, the log and the LLM prompt.

    A signature found in two parts is listed twice (``x@query``, ``x@cookie``)
    but counted once: ``score`` measures how many kinds of evidence there are,
    not how often an attacker repeated the same string.
    """

    score: int = 0                                      # sum of weights of distinct signatures
    hits: list[str] = field(default_factory=list)       # "name@location", heaviest first
    excerpt: str = ""                                   # normalised text around the first hit
    truncated: bool = False                             # input beyond VALIDATOR_MAX_BYTES left unscanned
    skipped: list[str] = field(default_factory=list)    # "part:reason" for parts not scanned


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


# ── normalisation ──────────────────────────────────────────────────────────

_MAX_DECODE_ROUNDS = 3
_DOUBLE_ENCODING, _OVERLONG, _ESCAPES = 1, 2, 4
#: Not evidence: NFKC expanded the text past :data:`_MAX_FOLDED_CHARS` and the rest was dropped.
_CLIPPED = 8
#: NFKC can turn one character into eighteen (U+FDFA); 64 KiB of those would
#: take tens of milliseconds to fold and scan, so folding stops here.
_MAX_FOLDED_CHARS = 128 * 1024
_FOLD_CHUNK = 4096
_MARKER_NAMES = ((_DOUBLE_ENCODING, "double_encoding"), (_OVERLONG, "overlong_utf8"),
                 (_ESCAPES, "escape_obfuscation"))

#: ASCII text without these, without an HTML entity and without a double
#: space is already normal but for case: the fast path of every header.
_NEEDS_WORK = re.compile(r"[%\\\t-\r\x1c-\x1f]")
_NEEDS_WORK_FORM = re.compile(r"[%+\\\t-\r\x1c-\x1f]")
#: What ``html.unescape`` can decode: numeric references, ``&name;`` and the
#: legacy names it accepts without a semicolon (``&lt``, ``&copy``).  A Referer
#: with ``?a=1&page=2`` has none and skips the decoders.
_ENTITY = re.compile(
    "&(?:#|[a-z][a-z0-9]{1,31};|" + "|".join(sorted({k.lower() for k in html5 if not k.endswith(";")})) + ")",
    re.IGNORECASE,
)
#: Overlong UTF-8 for ASCII (two- and three-byte forms), e.g. %c0%af for "/".
_OVERLONG_RE = re.compile(r"%(c[01])%([89ab][0-9a-f])|%(e0)%([89][0-9a-f])%([89ab][0-9a-f])", re.IGNORECASE)
#: IIS-style %uXXXX.
_PERCENT_U = re.compile(r"%u([0-9a-f]{4})", re.IGNORECASE)
#: JavaScript/JSON/C escapes; a surrogate pair first so it becomes one character.
_ESCAPE_RE = re.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})|\\u([0-9a-f]{4})|\\x([0-9a-f]{2})",
                        re.IGNORECASE)
#: Characters an escape has no business hiding in ordinary text.
_METACHARACTERS = frozenset("<>'\"`;()|&$\\/\x00")
#: Unicode format characters (category Cf): zero-width spaces and joiners,
#: bidi controls, soft hyphen, BOM, tags.  Invisible, so used to split keywords.
_FORMAT_CHARS = re.compile(
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
)


def _fold_unicode(text: str) -> tuple[str, int]:
    """NFKC (fullwidth ``＜`` → ``<``) without invisible format characters.

    Long text is folded in chunks so that an expanding input stops at
    :data:`_MAX_FOLDED_CHARS` (returned with the ``_CLIPPED`` bit).
    """
    parts: list[str] = []
    size = 0
    for start in range(0, len(text), _FOLD_CHUNK):
        part = _FORMAT_CHARS.sub("", unicodedata.normalize("NFKC", text[start:start + _FOLD_CHUNK]))
        parts.append(part)
        size += len(part)
        if size > _MAX_FOLDED_CHARS:
            return "".join(parts)[:_MAX_FOLDED_CHARS], _CLIPPED
    return "".join(parts), 0


def _fix_overlong(match: re.Match[str]) -> str:
    """Re-encode an overlong sequence as the ASCII character it smuggles."""
    if match.group(1):
        code = ((int(match.group(1), 16) & 0x1F) << 6) | (int(match.group(2), 16) & 0x3F)
    else:
        code = ((int(match.group(3), 16) & 0x0F) << 12) | ((int(match.group(4), 16) & 0x3F) << 6) \
            | (int(match.group(5), 16) & 0x3F)
    return f"%{code:02x}"


def _decode_escapes(text: str, pattern: re.Pattern[str], flag_metachars: bool) -> tuple[str, int]:
    """Replace ``\\uXXXX``/``\\xXX`` (or ``%uXXXX``) escapes by their characters.

    An escape standing for a metacharacter in text that is not JSON is the
    trick itself (``\\u003cscript``), so it sets the ``escape_obfuscation``
    marker; JSON encoders escape ``<`` legitimately, so JSON text does not.
    """
    found = False

    def replace(match: re.Match[str]) -> str:
        nonlocal found
        groups = match.groups()
        if len(groups) == 1:                       # %uXXXX
            code = int(groups[0], 16)
        elif groups[0]:                            # surrogate pair
            high, low = int(groups[0], 16), int(groups[1], 16)
            return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
        else:
            code = int(groups[2] or groups[3], 16)
        if 0xD800 <= code <= 0xDFFF:               # lone surrogate: not text
            return "\ufffd"
        char = chr(code)
        if char in _METACHARACTERS:
            found = True
        return char

    decoded = pattern.sub(replace, text)
    return decoded, (_ESCAPES if found and flag_metachars else 0)


def _decode_once(text: str, *, plus: bool, json_text: bool) -> tuple[str, int]:
    """One round of URL, HTML-entity and escape decoding."""
    markers = 0
    if plus:
        text = text.replace("+", " ")
    if "%" in text:
        if _OVERLONG_RE.search(text):
            text = _OVERLONG_RE.sub(_fix_overlong, text)
            markers |= _OVERLONG
        if "%u" in text or "%U" in text:
            text, found = _decode_escapes(text, _PERCENT_U, flag_metachars=True)
            markers |= found
        text = unquote(text, errors="replace")
    if "&" in text:
        text = html.unescape(text)
    if "\\" in text:
        text, found = _decode_escapes(text, _ESCAPE_RE, flag_metachars=not json_text)
        markers |= found
    return text, markers


def _is_plain(text: str, form: bool) -> bool:
    """True when normalising ``text`` could only change its case."""
    return (
        text.isascii()
        and (_NEEDS_WORK_FORM if form else _NEEDS_WORK).search(text) is None
        and "  " not in text
        and ("&" not in text or _ENTITY.search(text) is None)
    )


def _normalise(text: str, *, form: bool = False, json_text: bool = False) -> tuple[str, int]:
    """The normalised text and a bit set of the encoding tricks seen.

    ``form``: ``+`` means a space (query strings, urlencoded bodies), in the
    first round only — after one decoding a ``+`` is a literal plus.
    ``json_text``: ``\\uXXXX`` escapes are JSON's own, not a trick.
    """
    if _is_plain(text, form):
        return text.lower(), 0
    markers = 0
    if not text.isascii():
        text, markers = _fold_unicode(text)
    changes = 0
    for round_ in range(_MAX_DECODE_ROUNDS):
        decoded, found = _decode_once(text, plus=form and round_ == 0, json_text=json_text)
        markers |= found
        if decoded == text:
            break
        changes += 1
        if decoded.isascii():
            text = decoded
        else:
            text, clipped = _fold_unicode(decoded)
            markers |= clipped
    if changes > 1:
        markers |= _DOUBLE_ENCODING
    return " ".join(text.split()).lower(), markers


def normalise(text: str) -> str:
    """The text signatures are matched against.

    Repeated URL-decoding (at most three rounds, until stable), HTML entities,
    ``\\uXXXX``/``\\xXX`` escapes, Unicode NFKC, invisible format characters
    removed, whitespace collapsed to single spaces, lower case.  ``+`` stays a
    plus here; the query-string and form scanners read it as a space.
    """
    try:
        return _normalise(_as_text(text))[0]
    except Exception:  # the contract: never raises
        return ""


# ── settings ───────────────────────────────────────────────────────────────

@dataclass(frozen=True, slots=True)
class ExtraPatterns:
    """``VALIDATOR_EXTRA_PATTERNS`` sorted out: what is used, and why the rest is not."""

    signatures: tuple[Signature, ...]               # valid and linear: matched on every request
    invalid: tuple[str, ...]                        # malformed entries (system check E007)
    unsafe: tuple[tuple[str, str, str], ...]        # (entry, pattern, why it can backtrack) (E012)


@derived
def extra_patterns() -> ExtraPatterns:
    """Compile and audit ``VALIDATOR_EXTRA_PATTERNS``, once per settings generation.

    Bad entries are left out rather than raised, so a typo in the settings
    cannot break requests; the system checks report them.  A pattern that
    :func:`smartlayer.detectors.payload.regex_safety.backtracking_risks` finds can take
    super-linear time is left out too: it would run on every request, on text
    the attacker writes (``(a|aa)+b`` took 760 ms on 30 characters).  Patterns
    are compiled with ``IGNORECASE`` because users write ``UNION`` as often as
    ``union``; they run on every non-empty part (they have no triggers).
    """
    try:
        entries = sl_settings.VALIDATOR_EXTRA_PATTERNS or []
    except Exception as exc:
        return ExtraPatterns((), (f"VALIDATOR_EXTRA_PATTERNS cannot be read: {exc}",), ())
    if not isinstance(entries, (list, tuple)):
        return ExtraPatterns((), ("VALIDATOR_EXTRA_PATTERNS must be a list of dicts",), ())
    compiled: list[Signature] = []
    errors: list[str] = []
    unsafe: list[tuple[str, str, str]] = []
    names = set(_BY_NAME)
    for index, entry in enumerate(entries):
        where = f"VALIDATOR_EXTRA_PATTERNS[{index}]"
        if not isinstance(entry, Mapping):
            errors.append(f"{where} must be a dict with 'name', 'pattern', 'weight' and 'family'")
            continue
        name, pattern, weight = entry.get("name"), entry.get("pattern"), entry.get("weight", 1)
        family = entry.get("family") or "custom"
        if not isinstance(name, str) or not name or "@" in name:
            errors.append(f"{where}: 'name' must be a non-empty string without '@'")
        elif name in names:
            errors.append(f"{where}: the name {name!r} is already taken")
        elif not isinstance(pattern, str) or not pattern:
            errors.append(f"{where} ({name}): 'pattern' must be a non-empty string")
        elif isinstance(weight, bool) or not isinstance(weight, int) or weight < 1:
            errors.append(f"{where} ({name}): 'weight' must be a positive integer")
        elif not isinstance(family, str):
            errors.append(f"{where} ({name}): 'family' must be a string")
        else:
            try:
                regex = re.compile(pattern, re.IGNORECASE)
            except (re.error, ValueError, OverflowError, RecursionError) as exc:
                errors.append(f"{where} ({name}): invalid regular expression: {exc}")
                continue
            risks = _audit(pattern)
            if risks:
                unsafe.append((f"{where} ({name})", pattern, "; ".join(risks)))
                continue
            names.add(name)
            compiled.append(Signature(name, family, weight, regex))
    return ExtraPatterns(tuple(compiled), tuple(errors), tuple(unsafe))


def _audit(pattern: str) -> list[str]:
    """Why ``pattern`` may backtrack; a failure of the audit itself counts too: what is not shown linear is not run."""
    from .regex_safety import backtracking_risks

    try:
        return backtracking_risks(pattern, re.IGNORECASE)
    except Exception as exc:  # a bug in the audit must break neither start-up nor requests
        return [f"it could not be checked ({type(exc).__name__}: {exc})"]


def compile_extra_patterns() -> tuple[list[Signature], list[str]]:
    """``VALIDATOR_EXTRA_PATTERNS``: (the signatures used, messages about malformed entries)."""
    loaded = extra_patterns()
    return list(loaded.signatures), list(loaded.invalid)


def _report_unused(loaded: ExtraPatterns) -> None:
    """Say once per settings generation which extra patterns are not used, and why."""
    from ...state.failures import report_failure

    problems = [f"{where}: {pattern!r} can backtrack ({why})" for where, pattern, why in loaded.unsafe]
    problems += list(loaded.invalid)
    if problems:
        report_failure("validator_extra_patterns", "not used: " + " | ".join(problems))


@dataclass(frozen=True, slots=True)
class _Config:
    max_bytes: int
    headers: dict[str, str]                 # lower-case header name → location label
    meta_keys: tuple[tuple[str, str], ...]  # (lower-case header name, request.META key)
    scan_cookies: bool
    extra: tuple[Signature, ...]
    #: header name as sent → label ("" = not scanned); saves a lower() per header per request
    header_labels: dict[Any, str] = field(default_factory=dict)

    def label_for(self, name: Any) -> str:
        label = self.headers.get(name.lower().replace("_", "-"), "") if isinstance(name, str) else ""
        if len(self.header_labels) < 512:     # bounded: clients choose header names
            self.header_labels[name] = label
        return label


def _meta_key(header: str) -> str:
    key = header.upper().replace("-", "_")
    return key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key


def _header_names(value: Any) -> list[str]:
    """``VALIDATOR_SCAN_HEADERS`` as lower-case names (a lone string is one name)."""
    if isinstance(value, str):
        value = [value]
    elif not isinstance(value, (list, tuple, set, frozenset)):
        return []
    return list(dict.fromkeys(str(n).strip().lower().replace("_", "-") for n in value))


@derived
def _config() -> _Config:
    """Everything read from the settings, once per settings generation.

    Values of the wrong type fall back to something sensible instead of
    raising on every request; the system checks report them.
    """
    try:
        max_bytes = max(0, int(sl_settings.VALIDATOR_MAX_BYTES))
    except (TypeError, ValueError):
        max_bytes = DEFAULTS["VALIDATOR_MAX_BYTES"]
    lower = _header_names(sl_settings.VALIDATOR_SCAN_HEADERS)
    extra = extra_patterns()
    _report_unused(extra)
    return _Config(
        max_bytes=max_bytes,
        headers={n: f"header:{n}" for n in lower},
        meta_keys=tuple((n, _meta_key(n)) for n in lower),
        scan_cookies=bool(sl_settings.VALIDATOR_SCAN_COOKIES),
        extra=extra.signatures,
    )


# ── the scan ───────────────────────────────────────────────────────────────

_EXCERPT_CHARS = 500
_EXCERPT_BEFORE = 120
#: Texts per part scanned one by one; the rest are joined into one text, so
#: a body of 30 000 one-letter fields costs 251 scans, not 30 000.
_MAX_TEXTS_PER_PART = 250
#: What one request may cost: this many parts' worth of ``VALIDATOR_MAX_BYTES``,
#: all parts together (query, body, headers, cookies).  Each part alone stops
#: at ``VALIDATOR_MAX_BYTES``; without a total, 64 KiB in the query, the body,
#: every scanned header and the cookies made a request cost ten times a part.
REQUEST_BUDGET_PARTS = 2


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", errors="replace")
    return "" if value is None else str(value)


def _wsgi_text(value: Any) -> str:
    """WSGI and ASGI hand Django the query string as bytes decoded as latin-1."""
    if not isinstance(value, str):
        return _as_text(value)
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:        # already real text (a caller passed str), keep it
        return value


def _parse_content_type(content_type: str) -> tuple[str, str]:
    """(media type, charset) of a Content-Type header, both lower-case."""
    media, _, params = content_type.partition(";")
    charset = ""
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    return media.strip().lower(), charset


def _decode_body(body: bytes, charset: str) -> str:
    if charset and charset not in ("utf-8", "utf8"):
        try:
            return body.decode(charset, errors="replace")
        except (LookupError, ValueError, TypeError):
            pass
    return body.decode("utf-8", errors="replace")


def _json_strings(text: str) -> list[str] | None:
    """Keys and string values of a JSON document, or None if it is not JSON."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return None
    strings: list[str] = []
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            strings.append(item)
        elif isinstance(item, dict):
            for key, value in item.items():
                strings.append(key)
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return strings


class _Scan:
    """Collects the evidence of one request, part by part."""

    __slots__ = ("cfg", "budget", "score", "seen", "labels", "hits", "excerpt", "truncated", "skipped")

    def __init__(self, cfg: _Config) -> None:
        self.cfg = cfg
        self.budget = cfg.max_bytes * REQUEST_BUDGET_PARTS   # characters left to scan in this request
        self.score = 0
        self.seen: set[str] = set()          # signature names: each counts once per request
        self.labels: set[str] = set()        # "name@location" already listed
        self.hits: list[tuple[int, str]] = []
        self.excerpt = ""
        self.truncated = False
        self.skipped: list[str] = []

    # evidence
    def _hit(self, sig: Signature, location: str, text: str, position: int) -> None:
        label = f"{sig.name}@{location}"
        if label in self.labels:
            return
        self.labels.add(label)
        self.hits.append((sig.weight, label))
        if sig.name not in self.seen:
            self.seen.add(sig.name)
            self.score += sig.weight
        if not self.excerpt:
            start = max(0, position - _EXCERPT_BEFORE)
            self.excerpt = text[start:start + _EXCERPT_CHARS]

    def text(self, raw: str, location: str, *, form: bool = False, json_text: bool = False) -> None:
        """Normalise one text and match every signature against it, within the request's budget.

        The budget is charged the longer of the raw and the normalised text:
        the first is what normalising costs, the second what matching costs.
        """
        if not raw:
            return
        if len(raw) > self.budget:
            raw = raw[:self.budget]
            self.truncated = True
            if not raw:
                return
        text, markers = _normalise(raw, form=form, json_text=json_text)
        if len(text) > self.budget:
            text = text[:self.budget]
            self.truncated = True
        self.budget -= max(len(raw), len(text))
        if markers:
            if markers & _CLIPPED:
                self.truncated = True
            for bit, name in _MARKER_NAMES:
                if markers & bit:
                    self._hit(_BY_NAME[name], location, text, 0)
        self.match(text, location)

    def match(self, text: str, location: str) -> None:
        """Match every signature against one normalised text."""
        if _GATE_SYMBOLS.search(text) is not None or _GATE_WORDS.search(text) is not None:
            for sig in _REGEX_SIGNATURES:
                match = sig.regex.search(text)  # type: ignore[union-attr]
                if match is not None:
                    self._hit(sig, location, text, match.start())
        for sig in self.cfg.extra:
            match = sig.regex.search(text)  # type: ignore[union-attr]
            if match is not None:
                self._hit(sig, location, text, match.start())

    def many(self, texts: Iterable[str], location: str, *, form: bool = False) -> None:
        """Scan texts one by one, ``VALIDATOR_MAX_BYTES`` characters in all."""
        budget = self.cfg.max_bytes
        rest: list[str] = []
        for index, raw in enumerate(texts):
            if len(raw) > budget:
                raw = raw[:budget]
                self.truncated = True
                if not raw:
                    break
            budget -= len(raw)
            if index < _MAX_TEXTS_PER_PART:
                self.text(raw, location, form=form)
            else:
                rest.append(raw)
        if rest:
            self.text(" ".join(rest), location, form=form)

    def clip(self, value: str | bytes) -> Any:
        if len(value) > self.cfg.max_bytes:
            self.truncated = True
            return value[:self.cfg.max_bytes]
        return value

    def skip(self, reason: str) -> None:
        if reason not in self.skipped:
            self.skipped.append(reason)

    # parts
    def query(self, query_string: str | bytes) -> None:
        text = _wsgi_text(self.clip(query_string))
        self.many((pair for pair in text.split("&") if pair), "query", form=True)

    def body(self, body: bytes, content_type: str) -> None:
        media, charset = _parse_content_type(content_type)
        if media.startswith("multipart/"):
            self.skip("multipart:body")     # raw multipart is not parsed here: pass form_fields
            return
        if media in BINARY_TYPES or media.startswith(BINARY_PREFIXES):
            self.skip("body:binary")
            return
        text = _decode_body(bytes(self.clip(body)), charset)
        if media == "application/x-www-form-urlencoded":
            self.many((pair for pair in text.split("&") if pair), "body", form=True)
            return
        is_json = media.endswith(("/json", "+json"))
        if is_json or text.lstrip()[:1] in ("{", "["):
            strings = _json_strings(text)
            if strings is not None:
                self.many(strings, "body")
                return
        self.text(text, "body", json_text=is_json)

    def form_fields(self, fields: Mapping[str, Any]) -> None:
        pairs = (
            f"{name}={_as_text(value)}"
            for name, values in fields.items()
            for value in (values if isinstance(values, (list, tuple)) else [values])
        )
        self.many(pairs, "body")

    def headers(self, headers: Mapping[str, Any]) -> None:
        labels = self.cfg.header_labels
        for name, value in headers.items():
            label = labels.get(name)
            if label is None:
                label = self.cfg.label_for(name)
            if label and value:
                self.text(self.clip(_as_text(value)), label)

    def cookies(self, cookies: Mapping[str, Any]) -> None:
        self.many((_as_text(v) for v in cookies.values() if v), "cookie")

    def run(self, *, query_string: Any, body: Any, content_type: Any, headers: Any, cookies: Any,
            form_fields: Any) -> None:
        if query_string:
            self.query(query_string)
        if body:
            raw = body if isinstance(body, bytes) else _as_text(body).encode("utf-8", "surrogatepass")
            self.body(raw, _as_text(content_type))
        if form_fields:
            self.form_fields(form_fields)
        if headers and self.cfg.headers:
            self.headers(headers)
        if cookies and self.cfg.scan_cookies:
            self.cookies(cookies)

    def fail(self, exc: BaseException) -> None:
        """A bug, not an attack: count and log it, keep what was found."""
        from ...state.failures import report_failure

        self.skip("error:internal")
        report_failure("payload_scan", f"{type(exc).__name__}: {exc}")

    def result(self) -> ScanResult:
        if not self.hits:
            return ScanResult(0, [], "", self.truncated, self.skipped)
        ordered = sorted(range(len(self.hits)), key=lambda i: -self.hits[i][0])
        return ScanResult(
            score=self.score,
            hits=[self.hits[i][1] for i in ordered],
            # lone surrogates (from JSON "\\ud800") would break a log write or an LLM call
            excerpt=self.excerpt.encode("utf-8", "replace").decode("utf-8"),
            truncated=self.truncated,
            skipped=self.skipped,
        )


def _new_scan() -> _Scan:
    try:
        return _Scan(_config())
    except Exception as exc:  # the contract: never raises (settings unreadable)
        scan = _Scan(_Config(DEFAULTS["VALIDATOR_MAX_BYTES"], {}, (), True, ()))
        scan.fail(exc)
        return scan


def scan_text(text: str, location: str = "text") -> ScanResult:
    """Scan one piece of text (a log line, a field the caller extracted)."""
    scan = _new_scan()
    try:
        scan.text(scan.clip(_as_text(text)), location)
    except Exception as exc:  # the contract: never raises
        scan.fail(exc)
    return scan.result()


def scan_parts(*, query_string: str | bytes = "", body: bytes | None = None, content_type: str = "",
               headers: Mapping[str, str] | None = None, cookies: Mapping[str, str] | None = None,
               form_fields: Mapping[str, list[str]] | None = None) -> ScanResult:
    """Scan the attacker-controlled parts of a request.

    ``query_string`` is the raw (still percent-encoded) query string;
    ``body`` the raw body, read as urlencoded pairs, JSON strings or text
    according to ``content_type`` (binary media types are skipped, raw
    multipart is not parsed: pass its text fields as ``form_fields``);
    ``headers`` any mapping, of which only ``VALIDATOR_SCAN_HEADERS`` are read
    (names compared case-insensitively); ``cookies`` name → value, values
    scanned when ``VALIDATOR_SCAN_COOKIES``.
    """
    scan = _new_scan()
    try:
        scan.run(query_string=query_string, body=body, content_type=content_type, headers=headers,
                 cookies=cookies, form_fields=form_fields)
    except Exception as exc:  # the contract: never raises
        scan.fail(exc)
    return scan.result()


# ── Django requests ────────────────────────────────────────────────────────

def scan_request(request: Any) -> ScanResult:
    """Scan a Django ``HttpRequest``: query string, body, headers, cookies.

    The body is read only when there is one worth scanning, at most
    ``VALIDATOR_MAX_BYTES`` of it, and left for the view to read in full
    (:mod:`smartlayer.detectors.payload.body`).
    """
    scan = _new_scan()
    try:
        meta = request.META
        content_type = _as_text(meta.get("CONTENT_TYPE", ""))
        headers = {name: meta[key] for name, key in scan.cfg.meta_keys if key in meta}
        cookies = request.COOKIES if scan.cfg.scan_cookies else None
        try:
            body = scannable_body(request, scan.cfg.max_bytes)
        except OSError:                                # the client went away mid-body
            scan.skip("body:unreadable")
            body = None
        if body is not None:
            for reason in body.skipped:
                scan.skip(reason)
            scan.truncated |= body.truncated
        scan.run(query_string=meta.get("QUERY_STRING", ""), body=body and body.raw, content_type=content_type,
                 headers=headers, cookies=cookies, form_fields=body and body.fields)
    except Exception as exc:  # the contract: never raises
        scan.fail(exc)
    return scan.result()
