"""System checks of VALIDATOR_EXTRA_PATTERNS: patterns that do not compile (E007) or can backtrack (E012).

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
