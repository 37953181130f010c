"""System checks of the payload validator's settings.

VALIDATOR_EXTRA_PATTERNS: patterns that do not compile (E007), can backtrack
(E012) or use syntax the RE2 engine does not support (E030);
VALIDATOR_PARANOIA outside 1–3 (E031).

An extra pattern runs on every request over text an attacker writes, so one
that the regex engine can be made to backtrack on is never used at run time;
these checks name it, with why, at start-up.
"""
from __future__ import annotations

from typing import Any

from django.core.checks import Error, Tags, register

from .settings import _user


@register(Tags.security)
def check_extra_patterns(app_configs: Any = None, **kwargs: Any) -> list:
    """E007: an extra pattern that is not a valid signature (bad regex, missing keys)."""
    cfg = _user()
    if not isinstance(cfg, dict):
        return []
    if not cfg.get("VALIDATOR_EXTRA_PATTERNS"):
        return []
    from ..detectors.payload.scan import compile_extra_patterns

    return [Error(problem, hint="Fix or remove the pattern.", id="smartlayer.E007")
            for problem in compile_extra_patterns()[1]]


_BACKTRACK_HINT = (
    "Make it match any text one way only: bound repetitions ({1,64} rather than + or *), let the "
    "alternatives under a quantifier start differently ((?:ab|cd)+, not (?:a|ab)+), and end a repeated "
    "part with a character its body cannot match ([^x]{0,64}x, not .*x). Split a pattern too large to "
    "check into several."
)


@register(Tags.security)
def check_extra_pattern_safety(app_configs: Any = None, **kwargs: Any) -> list:
    """An extra pattern runs on every request over text the attacker writes; one that can
    backtrack super-linearly is left out at run time, and named here with the reason."""
    cfg = _user()
    if not isinstance(cfg, dict) or not cfg.get("VALIDATOR_EXTRA_PATTERNS"):
        return []
    from ..detectors.payload.scan import extra_patterns

    return [Error(f"{where}: the pattern {pattern!r} can backtrack: {why}. It is not used.",
                  hint=_BACKTRACK_HINT, id="smartlayer.E012")
            for where, pattern, why in extra_patterns().unsafe]


_ENGINE_HINT = (
    "Patterns run in one RE2 pass with the built-in signatures: no look-around ((?=…), (?!…), (?<=…), "
    "(?<!…)), no back-references (\\1), no possessive quantifiers or atomic groups. Use \\b for word "
    "boundaries and write the alternatives out instead of referring back."
)


@register(Tags.security)
def check_extra_pattern_engine(app_configs: Any = None, **kwargs: Any) -> list:
    """E030: an extra pattern the matching engine cannot compile is never run; name it, with the engine's reason."""
    cfg = _user()
    if not isinstance(cfg, dict) or not cfg.get("VALIDATOR_EXTRA_PATTERNS"):
        return []
    from ..detectors.payload.scan import extra_patterns

    return [Error(f"{where}: the pattern {pattern!r} is not supported by the matching engine ({why}). "
                  "It is not used.", hint=_ENGINE_HINT, id="smartlayer.E030")
            for where, pattern, why in extra_patterns().unsupported]


@register(Tags.security)
def check_paranoia(app_configs: Any = None, **kwargs: Any) -> list:
    """E031: VALIDATOR_PARANOIA is 1, 2 or 3; anything else runs as 1, which may not be what was meant."""
    cfg = _user()
    if not isinstance(cfg, dict) or "VALIDATOR_PARANOIA" not in cfg:
        return []
    value = cfg["VALIDATOR_PARANOIA"]
    if not isinstance(value, bool) and isinstance(value, int) and value in (1, 2, 3):
        return []
    return [Error(f"VALIDATOR_PARANOIA is {value!r}; it must be 1, 2 or 3. Level 1 is used.",
                  hint="1: near-zero false positives (default); 2 and 3 add signatures that also fire on "
                       "technical prose (SQL tutorials, shell snippets).", id="smartlayer.E031")]
