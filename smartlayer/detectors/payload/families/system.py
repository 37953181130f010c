"""Reaching the server itself: traversal and file inclusion, remote inclusion and SSRF, commands.

A file path is ordinary text; climbing out of a directory (``../``) towards a
system file, a URL whose scheme only an attacker asks a server to fetch
(``gopher:``, ``jar:``, ``php://filter``), a command after a shell separator,
are not.  Code for an interpreter (PHP, Java, Node.js, serialised objects) is in
:mod:`.code`.
"""
from __future__ import annotations

import re

from ..sigbase import BODY, HEADER, PATH, QUERY, START, VALUES, sig

# ── commands ──
_SHELL_SEPARATORS = (";", "|", "&", "`", "$(")
#: ``\n`` written out: what a value that is pasted into a script, a log line or a shell prompt reads as a line break.
_SEP = "(?:" + "|".join(re.escape(s) for s in _SHELL_SEPARATORS) + r"|\\[nr]|\\(?:033|x1b|e)\[\d{0,4}[a-z]?)\s?"
#: A separator as a shell reads it when sent as itself (or decoded from an escape), not written out as ``\\n``.
_SENT_SEP = r"(?:[;|&`\n]|\$\()\s?"
#: Commands that after a separator (or alone at the start of a value) mean an attack.
_SHELL_STRONG = {
    "rm": r"\s-[a-z]{0,4}[rf]",
    # (``cat</etc/passwd``: the file given as the command's input, no space needed)
    "cat": r"(?:\s(?:-[a-z]{1,4}\s)?|\s?<\s?)(?:[/~]|\.\./|\$)",
    "head": r"(?:\s(?:-[a-z0-9]{1,4}\s)?|\s?<\s?)[/~]", "tail": r"(?:\s(?:-[a-z0-9]{1,4}\s)?|\s?<\s?)[/~]",
    "more": r"\s[/~]", "less": r"\s[/~]", "nl": r"\s[/~]", "tac": r"\s[/~]",
    # options, some with an argument (``curl -o /tmp/a http://…``), then the address
    "wget": r"\s(?:-\S{1,20}\s(?:[/~.$]\S{0,100}\s)?){0,4}(?:[a-z]{3,5}://|[\w-]{1,63}\.[\w-]{2,}|\d{1,3}\.\d)",
    "curl": r"\s(?:-\S{1,20}\s(?:[/~.$]\S{0,100}\s)?){0,4}(?:[a-z]{3,5}://|[\w-]{1,63}\.[\w-]{2,}|\d{1,3}\.\d)",
    "sh": r"(?:\s-[a-z]{0,3}[ci]|$)", "bash": r"(?:\s-[a-z]{0,3}[ci]|$)", "zsh": r"(?:\s-[a-z]{0,3}[ci]|$)",
    "/bin/": r"(?:ba|z|k|da|c|tc)?sh\b|(?:cat|ls|nc|id|uname|echo|ping|sleep)\b|[a-z]{0,6}\?{1,4}[a-z?]{0,6}(?:\s|$)",
    "/???/": r"[a-z?]{1,8}(?:\s|$)",           # a command's path globbed whole (``/???/??t``): no name for a filter
    "/usr/bin/": r"(?:env\s)?(?:(?:ba|z|k|da|c|tc)?sh|python[23]?|perl|ruby|php|nc|wget|curl|id|whoami)\b",
    "nc": r"\s(?:-[a-z]{1,4}\s\S{1,40}\s){0,4}[\w.-]{1,253}\s\d{1,5}\b", "ncat": r"\s", "netcat": r"\s",
    "socat": r"\s", "python": r"[23]?\s-[a-z]{0,3}c\s", "perl": r"\s-[a-z]{0,3}e\s", "ruby": r"\s-[a-z]{0,3}e\s",
    "php": r"\s-[a-z]{0,3}r\s", "node": r"\s-[a-z]{0,3}e\s", "chmod": r"\s(?:[+][rwxs]|[0-7]{3,4}\b)",
    "cmd": r"(?:\.exe)?\s?/[ck]\b", "powershell": r"(?:\.exe)?\s-", "mkfifo": r"\b",
    "telnet": r"\s[\w.-]{1,253}\s\d{1,5}\b",
    "type": r"\s[a-z]:\\", "dir": r"\s(?:/[a-z]\s)?[a-z]:", "copy": r"\s[a-z]:\\", "del": r"\s[a-z]:\\",
    "certutil": r"(?:\.exe)?\s-", "bitsadmin": r"(?:\.exe)?\s/", "wmic": r"\s", "reg": r"\squery\b",
    "net": r"\s(?:user|localgroup|share|view)\b", "echo": r"\s[^|;&]{0,80}(?:>|\|)\s?(?:/|[a-z]:\\|sh\b|bash\b)",
}
#: Commands that after a separator are a probe rather than damage.
_SHELL_PROBES = (
    r"id(?:$|[;|&`)'\"#<>\\]|\s[;|&#])", "whoami", r"uname(?:\s-[a-z]{1,4})?", "ifconfig", "ipconfig", "hostname", "pwd", r"ls(?:\s-[a-z]{1,5})?",
    "env", "printenv", "systeminfo", r"sleep\s\d{1,5}", r"ping\s(?:-[cn]\s?\d{1,3}\s)?[\w.-]{1,253}",
    r"ps\s(?:-ef|-?aux)", r"netstat\s-[a-z]{1,5}",
    # a name to resolve: how an out-of-band probe learns that a command ran (a collaborator's domain)
    r"nslookup\s(?:-\S{1,20}\s)?[\w.-]{1,253}", r"dig\s(?:@[\w.:-]{1,60}\s)?(?:[\w-]{1,63}\.){1,8}[a-z]{2,20}",
    "tasklist", "uptime", r"cat\s\S",
    # a delay or a help text: how a prober tells that Windows' shell or PowerShell ran its input
    r"timeout\s/t\s\d{1,5}", r"start-sleep\s(?:-s(?:econds)?\s)?\d{1,5}", "get-help",
    # a sum the prober looks for in the page, as commix writes it
    r"expr\s\d{1,6}\s[-+*/]\s\d{1,6}",
    r"dir\s?/\w", r"nc\s-\w", "ver", "dir", "sysinfo", r"netsh\s\w{1,20}\s\w{1,20}", r"netstat(?:\s-[a-z]{1,5})?", r"ipconfig\s/\w{1,10}",
)
#: Commands that are also English words: probes at paranoia 2.
_SHELL_WORDS = ("set", "echo", "time", "who", "w", "last", "find", "date", "help", "type", "more", "sleep", "exit")
_SUBSTITUTION_COMMANDS = "|".join((
    "rm", "cat", "id", "whoami", "uname", "ls", "curl", "wget", "bash", "sh", "nc", "python", "perl",
    "php", "ping", "sleep", "echo", "touch", "chmod", "base64", "env", "printenv", "hostname", "nslookup",
    "dig", "pwd", "ifconfig", "mkfifo", "telnet", "nslookup", "whoami",
))
#: What a shell drops from inside a word: an empty pair of quotes, ``$@``, a backslash.
_WORD_BREAK = r"""(?:''|""|\$@|\\)"""
#: Commands an attacker spells broken up to pass a filter that looks for their names.
_BROKEN_COMMANDS = (
    "whoami", "id", "cat", "ls", "uname", "wget", "curl", "nc", "ncat", "bash", "sh", "python", "perl", "php", "ping",
    "sleep", "echo", "touch", "chmod", "base64", "env", "printenv", "hostname", "nslookup", "dig", "pwd", "ifconfig",
    "ipconfig", "netstat", "ps", "rm", "head", "tail", "more", "less", "find", "type", "dir", "net", "powershell",
    "cmd", "systeminfo", "tasklist", "passwd", "telnet", "socat", "busybox", "sudo",
)


def _broken(word: str) -> str:
    """``word`` as a shell still reads it, but not as itself: with at least one :data:`_WORD_BREAK` between its
    letters (``wh''oami``, ``c\\at``), or with some of its letters in double quotes (``w"h"oami``; not all of them:
    prose quotes a whole word, and a lone quote is no break but a string left open)."""
    spelt = []
    for first in range(1, len(word)):
        rest = "".join(letter + _WORD_BREAK + "?" for letter in word[first:-1]) + word[-1]
        spelt.append(word[:first] + _WORD_BREAK + rest)
    spelt += [f'{word[:start]}"{word[start:end]}"{word[end:]}' for start in range(len(word))
              for end in range(start + 1, len(word) + 1) if end - start < len(word)]
    return "|".join(spelt)


# A whole value that is only ``id``, ``pwd``, ``uname``, ``route`` or ``sysinfo`` is no probe here: it is a sort key, a
# field's or a tab's name (``?ordering=id``, ``?focus=pwd``) far more often than a command; quoted, after cmd's escape
# or a redirection (``'id'``, ``^id``, ``<id``), after a separator, or followed by one (``id;``), it still is one.
_PROBE_RES = [rf"{_SEP}(?:{'|'.join(_SHELL_PROBES[1:])})(?:$|[\s;|&`)'\"#<>\\])", _SEP + _SHELL_PROBES[0],
              START + r"[<^]?id\s?[;|&\\]", START + r"(?:[<^]|['\"`]{1,2})\s?(?:id|pwd|uname|sysinfo)['\"`]{0,2}$", START + r"[<^]?['\"`]{0,2}\s?(?:whoami|uname\s-a|ifconfig|ipconfig|systeminfo|route\sprint"
              r"|ls\s-[a-z]{1,5}(?:\s[/~.]\S{0,100})?|sleep\s\d{1,5}|ping(?:\.exe)?\s-[cnit]\s?\d{1,5}\s\S{1,100}"
              r"|which\s(?:gcc|cc|nc|ncat|netcat|python\d?|perl|ruby|php|wget|curl|bash|sh|telnet|socat)"
              r"|netsh\s\w{1,20}\s\w{1,20}(?:\s\w{1,20}){0,4}|net\suser|cat\s/\S{1,100}|echo\s\S{1,40}\s?\|\s?\w{1,20}|netstat(?:\s-[a-z]{1,5})?"
              r"|ipconfig(?:\s/\w{1,10})?)['\"`]{0,2}$",
              rf"(?:{_SEP}|{START})reg(?:\.exe)?\s(?:add|delete|query|save|export|import)\s['\"]?hk"]
#: A body field's start, the form's own value (a word, an address), perhaps a quote or a bracket closing it, then
#: a shell separator: where a scanner appends its command to what the field held.
_FIELD_SEP = START + r"[\w.@+-]{0,64}['\")]{0,2}[&|]?" + _SEP
_STRONG = "|".join(re.escape(head) + f"(?:{rest})" for head, rest in _SHELL_STRONG.items())
#: The same where a value starts, but for a shell's bare name: after a separator ``|sh`` pipes into a shell, yet
#: a value that is only ``bash`` or ``sh`` is a search for it, a snippet's language, a tag (``?q=bash``); a shell
#: named there counts with the option that makes it run a command or a session (``bash -c``, ``sh -i``).
_SHELL_NAMED = ("sh", "bash", "zsh")
_STRONG_AT_START = "|".join(
    re.escape(head) + (r"(?:\s-[a-z]{0,3}[ci])" if head in _SHELL_NAMED else f"(?:{rest})")
    for head, rest in _SHELL_STRONG.items())
_PROBES = "|".join(_SHELL_PROBES)

# ── files ──
_UNIX_FILES = (r"etc\W{1,12}(?:passwd|shadow|group|hosts|issue|crontab|sudoers|hostname|resolv\.conf|motd|fstab|"
               r"mtab|inittab|profile|bashrc|my\.cnf|httpd|apache2?|nginx|mysql|php|ssh|security|redhat-release|"
               r"lsb-release|os-release|master\.passwd|aliases|environment|exports|ftpusers|logrotate|init\.d|rc\.d|"
               r"network|syslog|cron|pam\.d|passwd-|sysconfig|x11|xinetd|shells|netplan|httpd|lighttpd)")
_SENSITIVE_DOTFILES = ("ssh", "aws", "git", "env", "htpasswd", "htaccess", "bash_history", "docker", "svn", "hg",
                       "npmrc", "pgpass", "my.cnf", "netrc", "kube", "gnupg", "mysql_history", "viminfo",
                       # shells' start-up files and histories, remote-login trust files, stored credentials
                       "bashrc", "bash_profile", "bash_logout", "profile", "cshrc", "tcshrc", "zshrc", "zsh_history",
                       "sh_history", "history", "login", "logout", "forward", "rhosts", "shosts", "xauthority",
                       "k5login", "psql_history", "python_history", "rediscli_history", "lesshst", "git-credentials",
                       "gitconfig", "s3cfg", "boto", "dockercfg", "passwd")
_SENSITIVE = [
    r"\b" + _UNIX_FILES + r"\b",
    r"\bproc\W{1,6}(?:self|\d{1,7}|version|cmdline|mounts|net)\W{1,6}(?:environ|cmdline|maps|mem|fd|status|root|cwd"
    r"|exe|stat|tcp|arp|route|\d)?",
    r"\b(?:boot|win|system|php|my|desktop)\.ini\b",
    r"\b[a-z]:\W{1,6}(?:windows|winnt|boot\.ini|inetpub|program\sfiles|users|documents\sand|xampp|wamp|apache)\b",
    r"\b(?:windows|winnt)\W{1,6}(?:system32|repair|win\.ini|system\.ini|debug|panther|php\.ini)",
    r"\bsystem32\W{1,6}(?:drivers|config|inetsrv|cmd\.exe|logfiles)",
    r"[/\\](?:\.(?:" + "|".join(re.escape(d) for d in _SENSITIVE_DOTFILES) + r"))\b",
    r"\bweb\.config\b|\bwp-config\.php\b|\bconfiguration\.php\b|\blocalsettings\.php\b|\bconfig\.inc\.php\b",
    r"\bid_(?:rsa|dsa|ecdsa|ed25519)\b|\bauthorized_keys\b|\bknown_hosts\b|\bmaster\.passwd\b",
    r"\b(?:unattend(?:ed)?\.(?:xml|txt)|sysprep\.(?:inf|xml)|ntuser\.dat|sam\.bak)\b",
    r"\bvar\W{1,6}(?:log|www|lib|mail|spool|run|adm|backups|opt|cache)\W{1,6}\w",
    r"\busr\W{1,6}(?:local\W{1,6})?(?:apache2?|etc|lib|share|pkg|bin|sbin|nginx|php)\W",
    r"\b(?:opt|srv|home|root)\W{1,6}\w[\w.-]{0,40}\W{1,6}\.\w",
    r"\b(?:apache2?|httpd|nginx|tomcat\d?)\W{1,6}(?:logs?|conf|access_log|error_log|access\.log|error\.log)\b",
    r"\b(?:access|error)[_.]log\b",
    # any configuration or credentials file under /etc (``/etc/proftpd/modules.conf``, ``/etc/pureftpd.pdb``)
    r"\betc[/\\](?:[\w.-]{1,40}[/\\]){0,3}[\w.-]{1,40}\.(?:conf|cfg|ini|cnf|pdb|db|passwd|secrets?|keys?)\b",
    r"\bweb-inf\W{1,6}(?:web\.xml|classes|lib|config)|\bglobal\.asa\b|\bboot\.ini\b",
]
#: A value (or a field) that is nothing but a path into the system's own directories or a drive, a dotfile, or
#: a site's configuration script (server-side code or a dump, not a settings file an app documents): what a
#: file-inclusion probe sends as is.  A hint (``traversal_sensitive_file``), not a block: a reader may ask
#: about ``/etc/apt/sources.list`` too; from level 2 ``lfi_system_path`` blocks the files :data:`_SENSITIVE` names.
_SYSTEM_PATH_VALUES = [
    START + r"(?:[a-z]:)?[/\\]{1,2}(?:etc|proc|boot|var|usr|opt|srv|root|bin|sbin|lib(?:64)?|windows|winnt|inetpub"
    r"|xampp|wamp|program\s?files(?:\s?\(x86\))?|programdata|private/etc|private/var|tmp)[/\\][^\s][^\n]{0,99}$",
    START + r"[a-z]:[/\\][^\s<>|][^\n<>|]{0,99}$",
    START + r"[/\\]?\.(?:" + "|".join(re.escape(d) for d in _SENSITIVE_DOTFILES) + r")$",
    START + r"[\w./\\-]{0,99}\b(?:config|configuration|settings|database|db|wp-config|secrets?|credentials|passwords?"
    r"|localsettings)\.(?:php\d?|inc|asp|aspx|jsp|bak|old|sql|db)$",
]
#: What a traversal or an encoding trick is written with, just before the file it reaches.
_OBFUSCATED_PREFIX = r"(?:\.\.|[?\\%]|[\x00-\x1f]|[^\x00-\x7f]|0x[0-9a-f]{2}|/{2}|\./|li4v)[^\w\s]{0,12}"

#: What is left of an escape no decoder accepts (``%c0%qf``, ``%%32%%66`` read once): after normalising, a
#: ``%`` still followed by letters or digits stands where a separator was meant.
_RESIDUE = r"(?:[^\w\s%]{0,4}%\w{1,2}){1,6}[^\w\s%]{0,4}"
#: What old servers read as a slash: Unicode's division and set-minus slashes, fullwidth ones, the private-use
#: code points ``%uEFC8``/``%uF025`` that IIS mapped to ``/`` and ``\``.
_KANA_SLASHES = "\u3031\u3035\u309d\u30fc"
_ODD_SLASHES = "\u2215\u2216\u29f5\u29f8\uff0f\uff3c\ue000-\uf8ff"

#: A URL to the server's own host, its loopback or link-local network, a cloud's metadata service, or a name that
#: resolves there (``127.0.0.1.nip.io``), however the address is written.
_INTERNAL_URL = (
    r"\b(?:https?|ftps?|gopher|dict|ldap|tftp|file|ws|wss)://(?:[^/@\s]{0,100}@)?\[?(?:127\.\d|0\.0\.0\.0|0:|localhost\b"
    r"|169\.254\.|::1?\b|::ffff|\[[0:]{1,40}1?\]|\[[0:]{1,40}ffff:|\$\{\w|0x[0-9a-f]{1,8}\b|0{1,4}\d{1,3}\.|\d{8,10}(?:[/:?]|$)|metadata\b"
    r"|metadata\.google\.internal|100\.100\.100\.200|192\.0\.0\.192|instance-data|\w{0,30}\.?nip\.io"
    r"|\w{0,30}\.?xip\.io|localtest\.me|\d{1,3}-\d{1,3}-\d{1,3}-\d{1,3}\.|0\b|\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\.)"
)

SIGNATURES = (
    # ── path traversal and local file inclusion ──
    sig("traversal_sequence", "traversal", 2, [
        r"\.\.\.{0,2}[/\\]{1,4}\.{2,4}[/\\]",
        r"\.{2,4}(?:[/\\]{1,4}|;/)\.{2,4}",
        r"[/\\=]\.{2,4}(?:[/\\]{1,4}|\?{1,4})[^\s/\\]",
        r"(?:^|[/\\=])(?:\.{1,4}[/\\]{1,4}){2}",
        r"\.{2,4}[/\\]{1,2}\.?[/\\]\.{2}",
        r"(?:\.[\\/]){2}\.\.",
        r"(?:0x2e){2}(?:0x2f|0x5c)|\.\.(?:0x2f|0x5c)|(?:0x2e){2}[/\\]",
        r"\bli4vli4v|\bli4uxc|\bli5c",
        r"\.\.[^\w\s.]{1,6}\.\.[^\w\s.]",
        r"(?:^|[/\\=])\.{2,4}[/\\]$",
    ]),
    # a system file reached through escapes no decoder accepts: the generators' spellings for old servers
    sig("traversal_encoded_target", "traversal", 3,
        _RESIDUE + r"(?:etc" + _RESIDUE + r"(?:passwd|shadow|issue|hosts|group)|(?:boot|win|system)\.ini|windows"
        + _RESIDUE + r"system32|web-inf" + _RESIDUE + r"web\.xml|inetpub" + _RESIDUE + r"wwwroot)\b"),
    # two climbs, whatever separates them: ``..%c0%af``, ``..;/``, an escape no decoder accepts (``..%2%f``)
    sig("traversal_repeated", "traversal", 3, r"(?:\.{2,4}(?:[^\w\s.]|0x[0-9a-f]{2}|%[0-9a-f]{1,2}){1,8}){2}"),
    # what nested escapes (``..%%32%%66``) leave once decoded: a climb before an escape no decoder accepts, or
    # such escapes in pairs (``%2%f``); a hint, that the double decoding it took adds to
    sig("traversal_escape_residue", "traversal", 2,
        [r"\.\.[\x00-\x1f]?%[0-9a-f]", r"(?:%[0-9a-f]%[0-9a-f][^%\s]{0,12}){2}"], scope=VALUES),
    # the escapes' percent signs lost on the way (``..2f..2fetc2fpasswd``): no text writes ``..2f``
    sig("traversal_stripped_escape", "traversal", 3, [
        r"\.\.(?:2f|5c)\.\.(?:2f|5c)",
        r"(?:^|[=/\\\s])\.\.(?:2f|5c)(?:etc|var|usr|proc|home|root|windows|winnt|boot|inetpub|apache|web-inf)",
    ]),
    # a short value that *is* a climb out of the directory, or starts with one written as no path is
    sig("traversal_value", "traversal", 3, [
        START + r"[/\\]{0,4}(?:\.{1,4}[/\\]{1,4}){0,8}\.{2,4}(?:[/\\]{1,4}|;/)$",
        START + r"[/\\]{0,4}\.{2,4}(?:[/\\]{2,4}|\\|;/|0x(?:2f|5c)|[" + _ODD_SLASHES + "])",
        START + r"[/\\]{0,4}\.{5,99}[/\\]",
        START + r"[/\\]{0,4}(?:\.{1,4}[/\\]{1,4}){2,60}\.{0,4}$",        # ``/./\/./``: nothing but dots and slashes
    ], scope=VALUES),
    # a file path sent base64-encoded, for an application that decodes it (``L2V0Yy9wYXNzd2Q=`` is /etc/passwd):
    # at least seven characters of the encoding of a climb or a system root, so that a random token (a session
    # cookie) starts with one about once in 10^10
    sig("lfi_base64_path", "traversal", 3,
        START + r"(?:li4v(?:li4v|li5c|zxrj)|li5cli5c|l2v0yy[89+/]|zxrjl[23w]|l3byb2mv|l3zhci[89+/]|l3vzci[89+/]"
        r"|l2jpbi[89+/]|[yq]z(?:pc|ov)(?:[dv]2lu|[yq]m9v|[cu]hjv|[dv]xnl|[as]w5l))[a-z0-9+/]{2}",
        scope=VALUES),
    sig("traversal_sensitive_file", "traversal", 2, [*_SENSITIVE, *_SYSTEM_PATH_VALUES]),
    sig("lfi_obfuscated_file", "traversal", 3,
        _OBFUSCATED_PREFIX + "(?:" + "|".join([_UNIX_FILES, *_SENSITIVE[1:7], _SENSITIVE[-1]]) + ")"),
    sig("traversal_to_file", "traversal", 3, [
        r"\.\.[/\\]{1,4}(?:[\w.-]{1,40}[/\\]{1,4}){0,12}(?:" + "|".join(a for a in _SENSITIVE[:6]) + ")",
        r"\.\.[/\\]{1,4}(?:[\w.-]{1,40}[/\\]{1,4}){0,12}[\w.-]{1,60}\.(?:php|ini|conf|cfg|config|log|xml|txt|inc|"
        r"yml|yaml|env|json|properties|jsp|asp|aspx|sh|py|rb|pl|bak|sql|db|key|pem)\b",
        r"\.\.[/\\]{1,4}\.\.[/\\]{1,4}[\w.-]",
        r"(?:^|[=/\\])(?:\.{2,4}[/\\]{1,4}){2}",
        r"\.\.[/\\]{1,4}(?:\.[/\\]{1,4}){1,4}\.\.[/\\]",
    ]),
    sig("traversal_in_path", "traversal", 3, [
        r"/@fs/", r"^/{0,4}\.{2,4}/", r"/\.{2,4}(?:/|$)", r"\.\.[\\;]",
        r"\b" + _UNIX_FILES + r"\b", r"\b(?:boot|win|system)\.ini\b", r"/proc/self/",
    ], scope=frozenset((PATH,))),
    # paranoia 2: a system file named in a short value is blocked even without a climb to it
    sig("lfi_system_path", "traversal", 3, _SENSITIVE, paranoia=2, scope=VALUES),
    sig("redirect_absolute_url", "redirect", 2, START + r"\s?(?:https?:)?/{2}[^/\s]", paranoia=2,
        scope=frozenset((QUERY,))),
    sig("lfi_file_uri", "traversal", 3, r"\bfile:/{1,3}(?:[a-z]:|/?(?:etc|proc|var|usr|home|root|windows|c:|tmp))",
        scope=frozenset((PATH, QUERY, HEADER))),
    # ── remote file inclusion and request forgery ──
    sig("rfi_dangerous_scheme", "rfi", 3,
        r"\b(?:gopher|dict|jar|ldaps?|rmi|iiop|corba|expect|phar|netdoc|tftp|ssh2(?:\.\w{1,10})?|glob|ogg|rar"
        r"|compress\.(?:zlib|bzip2)|zlib|bzip2|php|sftp|smb|nntp|telnet|mailto:.{0,60}%0a)://"),
    sig("rfi_jar_url", "rfi", 3, r"\b(?:jar|mhtml):(?:https?|file|ftp):"),
    sig("rfi_url_trailing_question", "rfi", 3,
        r"(?:https?|ftps?|file)://[^\s?#]{1,60}(?:\?{1,4}['\"]?\s?(?:$|&)|\?{2,4})",
        scope=frozenset((PATH, QUERY, HEADER))),
    sig("rfi_include_param", "rfi", 2,
        r"(?:_path|_dir|_root|_url|root_?path|include|inc|file|page|template|module|conf|lang)\w{0,20}"
        r"(?:\]\w{0,20}\])?=\s?(?:https?|ftps?)://", scope=frozenset((PATH, QUERY))),
    sig("ssrf_internal_host", "ssrf", 3, _INTERNAL_URL, scope=frozenset((PATH, QUERY, HEADER))),
    # in a body, a field that is only such a URL (``url=http://127.0.0.1:2375/containers/json``, a webhook, an avatar
    # to fetch): prose and docs name ``http://127.0.0.1:8000`` among other words
    # (the rest of the URL at most 99 characters: a run to the field's end that the stdlib fallback may try from every
    # ``=`` of a long text stays a constant factor, as the audit in tests/test_regex_safety.py asks)
    sig("ssrf_internal_field", "ssrf", 3, START + _INTERNAL_URL + r"\S{0,99}$", scope=frozenset((BODY,))),
    sig("ssrf_metadata_path", "ssrf", 3,
        r"\b169\.254\.169\.254\b|/latest/(?:meta-data|user-data|api/token)|/computemetadata/v1|/metadata/(?:v1|instance)"
        r"|\b(?:metadata\.google\.internal|100\.100\.100\.200)\b"),
    sig("ssrf_private_url", "ssrf", 3,
        r"\b(?:https?|ftps?)://(?:[^/@\s]{0,100}@)?(?:10\.\d{1,3}|192\.168|172\.(?:1[6-9]|2\d|3[01]))\.\d{1,3}\.",
        scope=frozenset((PATH, QUERY, HEADER))),
    sig("open_redirect", "redirect", 1, [
        START + r"(?:/{2}|/\\|\\{2}|/%09|/\t|https?:/{0,3}[^/\s]{0,60}@|https?:\\)[\w\[]",
        START + r"\w{2,10}://[^/?\s]{0,60}@[\w\[]",
        # a scheme-relative URL however many slashes, backslashes, tabs or ``;@`` a browser skips
        START + r"(?:https?:)?[/\\]{2,8}[\s/\\;@]{1,8}[\w\[]",
        START + r"[/\\]\s{1,4}[/\\]{1,4}[\w\[]",                    # /%09/elsewhere
        START + r"[/\\]\s?https?:",                               # /https://elsewhere
        START + r"https?:(?:[^/\s]|/[^/]|//[\s\\]|/{3})",          # https:elsewhere, http:/x, https:///x
        START + r"[/\\]?<>\s?[/\\]{2}",                            # <>//elsewhere: what a filter strips joins it
        START + r"https?://[^/\s\\?#]{1,100}\\",                   # http://elsewhere\trusted: a browser reads / there
        START + r"(?:https?:)?[/\\]{2,8}\S{1,99}[/\\]\.\.$",       # //elsewhere/%2f..: ends climbing out of its path
        # a host after a character old browsers read as a slash (kana iteration and prolonged-sound marks)
        START + r"[/\\]?[" + _KANA_SLASHES + r"][a-z0-9-]{1,63}\.[a-z]{2,}",
    ], scope=frozenset((QUERY,))),
    # a host written as one number, in hex or octal: what only a filter bypass writes
    sig("url_obfuscated_host", "ssrf", 2,
        r"\b(?:https?|ftp|gopher):/{0,3}(?:[^/@\s]{0,60}@)?\[?(?:0x[0-9a-f]{1,8}\b|\d{8,10}\b|0[0-7]{10,11}\b|0\d{1,4}\.\d|\d{1,3}\.0x"
        r"|::(?:ffff:)?\d{1,3}\.|\d{1,3}\.\d{1,3}\.\d{4,}"
        # a dotted address with a part past 255 (``472.314.470.462``): some parsers wrap it round to a real one
        r"|(?:\d{1,3}\.){0,3}(?:25[6-9]|2[6-9]\d|[3-9]\d\d)(?:\.\d{1,3}){1,3}(?:[/:?#]|$)"
        r"|(?:\d{1,3}\.){3}(?:25[6-9]|2[6-9]\d|[3-9]\d\d)(?:[/:?#]|$))", scope=frozenset((PATH, QUERY, HEADER))),
    # ── operating-system commands ──
    sig("shell_command", "shell", 3, [rf"{_SEP}(?:{_STRONG})", rf"{START}(?:{_STRONG_AT_START})"]),
    # a probe between separators is an attack in a short value, a hint in free text
    sig("shell_probe", "shell", 3, _PROBE_RES, scope=VALUES),
    sig("shell_probe_text", "shell", 2, _PROBE_RES, scope=frozenset((BODY,))),
    # in a body, a field that is only a value and a probe after a separator (``ana;ls -la``, ``|dir``, ``x&&whoami``):
    # a scanner's probe appended to a form's own value; prose has a space before a separator, or more after the command
    sig("shell_probe_field", "shell", 3,
        _FIELD_SEP + "(?:" + "|".join(_SHELL_PROBES) + r")[\s;|&`)'\"#]{0,4}$",
        scope=frozenset((BODY,))),
    # a short value that closes a quoted string and runs a command that prints (``'; echo VULN``, ``"; expr 5 + 5``), or a
    # sum in the shell's arithmetic expansion (``echo $((3*4))``): what command-injection tools look for in the page
    sig("shell_output_probe", "shell", 3, [
        r"['\"`]\s?(?:;|\|\|?|&&?)\s?(?:echo|printf|expr|print|timeout|sleep)\s",
        r"\$\(\(\s?\d{1,6}\s?[-+*/%]\s?\d{1,6}\s?\)\)",
    ], scope=VALUES),
    # in a body, a whole field that starts a command whose spaces are the field separator (``;sleep${IFS}5``); a script
    # pasted into a comment may join words with it, but not as a field that opens with a separator
    sig("shell_ifs_field", "shell", 3,
        _FIELD_SEP + r"[a-z]{1,12}\$\{?ifs\}?\S{0,99}$", scope=frozenset((BODY,))),
    sig("shell_probe_word", "shell", 1, rf"{_SEP}(?:{'|'.join(_SHELL_WORDS)})(?:$|[\s;|&`)'\"#<>])", paranoia=2),
    sig("shell_substitution", "shell", 2, [
        rf"\$\(\s?(?:{_SUBSTITUTION_COMMANDS})\b",
        # (a backtick not next to another: ```python opens a Markdown code block, it runs nothing)
        rf"(?:^|[^`])`\s?(?:{_SUBSTITUTION_COMMANDS})\b[^`]{{0,100}}`",
        r"\$\{?ifs\b",
        r"\$\{\w{0,20}:?-?\w{0,20}\}\w{0,10}(?:/|\\)",
    ]),
    # the field separator written where a space would be (``cat${IFS}/etc/passwd``, ``curl$IFS$9http://…``): a
    # shell splits there, a filter looking for a command and a space does not; never between two quotes, as a
    # script quotes it (``"$IFS"``), nor after a space, as prose names it; in a short value only: a script pasted
    # into a body may join words with it (bash's completions: ``"configure${IFS}build${IFS}test"``)
    sig("shell_ifs_spacing", "shell", 3, r"""[^\s"']\$(?:\{ifs\}|ifs\b)(?:\$\d|\$\{\d\})?[^\s"']""",
        scope=VALUES),
    # a command spelt so that a filter reading words does not see it, as a shell still runs it: broken by empty quotes,
    # a quoted letter or a backslash after a separator (``;wh''oami``, ``;w"h"oami``, ``;c\at``, ``who$@ami``), a
    # system path globbed (``/etc/pa??wd``, ``/???/??t``), brace expansion (``{cat,/etc/passwd}``).  The separator as
    # sent, not written out (``c:\new\sam`` is a path), and the word a command's name once the shell has dropped the
    # breaks: any word with a backslash in it blocked one random password with symbols in 700 (``&\gX``)
    sig("shell_obfuscated_command", "shell", 3, [
        _SENT_SEP + "(?:" + "|".join(_broken(word) for word in _BROKEN_COMMANDS) + r")(?:\s|$|[`);|&])",
        r"/(?:bin|sbin|usr/s?bin|etc|proc|dev)/[a-z0-9]{0,10}\?{1,4}[a-z0-9]|/\?{2,4}/\?{0,4}[a-z]{0,4}\?",
        r"\{\s?(?:" + _SUBSTITUTION_COMMANDS + r"),\s?[-/~$.\w]",
    ]),
    # the same with single-quoted letters (``;c'a't``): a hint, as prose writes ``; rock'n'roll``
    sig("shell_quoted_command", "shell", 2,
        _SENT_SEP + r"[a-z]{0,8}(?:'[a-z]{1,3}'[a-z]{0,8}){1,6}(?:\s|$)"),
    sig("shell_variable_exec", "shell", 3, r"\w{1,20}=\$?\\?['\"][^'\"]{1,40}['\"]\s?;\s?\$\{?\w{1,20}", scope=VALUES),
    sig("shell_shellshock", "shell", 3, [r"\(\s?\)\s?\{\s?(?::|_|\w{1,20})\s?;\s?\}\s?;", START + r"\(\s?\)\s?\{"]),
    sig("shell_windows_path_command", "shell", 3,
        r"(?:^|[|&;=])\s?(?:type|dir|copy|del|more|start|cmd|call|echo)\s(?:[a-z]:\\|%\w{2,30}%)"),
    sig("shell_windows_variable", "shell", 2,
        r"%(?:systemroot|windir|comspec|userprofile|programfiles|appdata|computername|username|homepath"
        r"|systemdrive|allusersprofile)%"),
    sig("shell_reverse_shell", "shell", 3,
        r"/dev/(?:tcp|udp)/|\bsocket\s?\.\s?socket\s?\(|\bfsockopen\s?\(|\bnew-object\s(?:system\.)?net\.(?:sockets|webclient)"
        r"|\binvoke-(?:expression|webrequest)\b|\biex\s?\(|\bdownloadstring\s?\(|-encodedcommand\b|\bpowershell\s-e(?:nc)?\s"),
)

__all__ = ["BODY", "SIGNATURES"]
