"""Payload detection: does this request carry an attack string?  (AIRequestValidator's core.)

* :mod:`.body` — which parts of a request are read, and how a body is read
  without taking it from the view;
* :mod:`.normalise` — decoding what attackers hide behind, once per text;
* :mod:`.sigbase` / :mod:`.families` — what a signature is (weight, family,
  paranoia level, scope) and the table, one module per group of families;
* :mod:`.engine` — RE2 (``re2.Set``): every signature in one pass, linear
  time; past a request's first ``SET_CHARS`` characters RE2's prefilter
  (same answer, no whole-table DFA to grow on diverse text); the audited
  stdlib fallback; every RE2 set sealed, so that a search stopping short
  (out of DFA memory: it answers nothing) is seen and its patterns searched
  alone (:mod:`.engine_sets`; the ``re2`` build's offer in :mod:`.engine_re2`);
* :mod:`.signatures` — the table joined and compiled per level and kind of
  location;
* :mod:`.parts` / :mod:`.config` / :mod:`.result` — reading parts as text,
  the settings as the scan reads them, what a scan returns (``Hit``);
* :mod:`.extra` — the site's own ``VALIDATOR_EXTRA_PATTERNS``;
* :mod:`.anomalies` — facts of the request itself (its method, a body unlike
  its declared type), recorded as ``protocol`` hits;
* :mod:`.regex_safety` / :mod:`.regex_automaton` — the backtracking audit
  every pattern passes;
* :mod:`.scan` — the scan of one request: parts → texts → hits → score;
* :mod:`.matching` / :mod:`.evidence` / :mod:`.held` — what is matched when, the hits credited once
  each and the result, what short attacking texts met before hold;
* :mod:`.validator` — from a scan to a decision (through the one
  enforcement step).

No cache, no database: the scan is pure; the validator asks the policy.
May import: conf, request, state (failures), policy (validator only).
"""
from .extra import ExtraPatterns, compile_extra_patterns, extra_patterns
from .normalise import normalise
from .result import Hit
from .scan import ScanResult, scan_parts, scan_request, scan_text
from .signatures import SIGNATURES, Signature

__all__ = ["SIGNATURES", "ExtraPatterns", "Hit", "ScanResult", "Signature", "compile_extra_patterns", "extra_patterns",
           "normalise", "scan_parts", "scan_request", "scan_text"]
