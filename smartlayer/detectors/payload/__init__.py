"""Payload detection: does this request carry an attack string?  (AIRequestValidator's core.)

* :mod:`.body` — which parts of a request are read, and how a body is read
  without taking it from the view;
* :mod:`.normalise` — decoding what attackers hide behind, once per text;
* :mod:`.signatures` — the weighted signature table and its pre-filter;
* :mod:`.extra` — the site's own ``VALIDATOR_EXTRA_PATTERNS``;
* :mod:`.regex_safety` / :mod:`.regex_automaton` — the backtracking audit
  every pattern passes;
* :mod:`.scan` — the scan of one request: parts → texts → hits → score;
* :mod:`.validator` — from a scan to a decision (through the one
  enforcement step).

No cache, no database: the scan is pure; the validator asks the policy.
May import: conf, request, state (failures), policy (validator only).
"""
from .extra import ExtraPatterns, compile_extra_patterns, extra_patterns
from .normalise import normalise
from .scan import ScanResult, scan_parts, scan_request, scan_text
from .signatures import SIGNATURES, Signature

__all__ = ["SIGNATURES", "ExtraPatterns", "ScanResult", "Signature", "compile_extra_patterns", "extra_patterns",
           "normalise", "scan_parts", "scan_request", "scan_text"]
