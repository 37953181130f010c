"""VALIDATOR_EXTRA_PATTERNS: the site's own signatures, compiled and audited once per settings.

An extra pattern runs on every request over text an attacker writes, in the
same RE2 pass as the built-in table (:mod:`.engine`).  One RE2 cannot compile
(look-around, back-references) is never run (system check E030), nor is one
the audit (:mod:`.regex_safety`) finds can backtrack (E012): that audit is
what keeps the stdlib fallback linear on a platform without RE2.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from ...conf import derived, sl_settings
from .engine import unsupported
from .signatures import _BY_NAME, Signature

# ── settings ───────────────────────────────────────────────────────────────

@dataclass(frozen=True, slots=True)
class ExtraPatterns:
    """``VALIDATOR_EXTRA_PATTERNS`` sorted out: what is used, and why the rest is not."""

    signatures: tuple[Signature, ...]               # valid and linear: matched on every request
    invalid: tuple[str, ...]                        # malformed entries (system check E007)
    unsafe: tuple[tuple[str, str, str], ...]        # (entry, pattern, why it can backtrack) (E012)
    unsupported: tuple[tuple[str, str, str], ...] = ()  # (entry, pattern, why the engine refuses it) (E030)


@derived
def extra_patterns() -> ExtraPatterns:
    """Compile and audit ``VALIDATOR_EXTRA_PATTERNS``, once per settings generation.

    Bad entries are left out rather than raised, so a typo in the settings
    cannot break requests; the system checks report them.  A pattern that
    :func:`smartlayer.detectors.payload.regex_safety.backtracking_risks` finds can take
    super-linear time is left out too: it would run on every request, on text
    the attacker writes (``(a|aa)+b`` took 760 ms on 30 characters).  Patterns
    are compiled with ``IGNORECASE`` because users write ``UNION`` as often as
    ``union``, and multi-line, as the built-ins: the fields of a part are matched one a line.
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
    refused: list[tuple[str, str, str]] = []
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
                regex = re.compile(pattern, re.IGNORECASE | re.MULTILINE)
            except (re.error, ValueError, OverflowError, RecursionError) as exc:
                errors.append(f"{where} ({name}): invalid regular expression: {exc}")
                continue
            why = unsupported(pattern, ignore_case=True)
            if why:
                refused.append((f"{where} ({name})", pattern, why))
                continue
            risks = _audit(pattern)
            if risks:
                unsafe.append((f"{where} ({name})", pattern, "; ".join(risks)))
                continue
            names.add(name)
            compiled.append(Signature(name, family, weight, regex))
    return ExtraPatterns(tuple(compiled), tuple(errors), tuple(unsafe), tuple(refused))


def _audit(pattern: str) -> list[str]:
    """Why ``pattern`` may backtrack; a failure of the audit itself counts too: what is not shown linear is not run."""
    from .regex_safety import backtracking_risks

    try:
        return backtracking_risks(pattern, re.IGNORECASE | re.MULTILINE)
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
    problems += [f"{where}: {pattern!r} is not supported by the matching engine ({why})"
                 for where, pattern, why in loaded.unsupported]
    problems += list(loaded.invalid)
    if problems:
        report_failure("validator_extra_patterns", "not used: " + " | ".join(problems))


