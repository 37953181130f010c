"""The static backtracking audit: every built-in signature passes, every known-bad shape is caught."""
from __future__ import annotations

import re

import pytest

from smartlayer.detectors.payload import scan as payload
from smartlayer.detectors.payload.regex_safety import backtracking_risks
from tests.scaling import growth

# the stdlib fallback runs these when RE2 is missing: each must be linear there too
BUILT_IN = [s.regex for s in payload.SIGNATURES if s.regex is not None]


@pytest.mark.parametrize("regex", BUILT_IN, ids=lambda r: r.pattern[:30])
def test_no_built_in_pattern_can_backtrack(regex):
    assert backtracking_risks(regex.pattern, regex.flags) == []


EXPONENTIAL = [
    r"(a|aa)+b",                                 # alternatives under a loop share a prefix
    r"(a+)+",                                    # a loop in a loop
    r"(\s|/\*.{0,40}?\*/){1,20}",                # the union/comment bomb of 0.2.0
    r"(?:\s|/\*.{0,40}?\*/|\(){1,20}",
    r"(.*a){10}",                                # a bounded count is no help
    r"(a|a)*",
    r"(x?y?)*z",                                 # one iteration "xy" or two
    r"(\w+\s?)+$",
    r"(?:a{1,3}){1,3}",
    r"^(([a-z])+.)+[A-Z]([a-z])+$",              # OWASP's examples
    r"^([a-zA-Z0-9])(([\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$",
    r"(?i)(ab|AB)+c",                            # the same text once case is ignored
    r"(?:\d\d|[0-9])+x",                         # classes that overlap
    r"(?:ab|\wb)+c",
]
POLYNOMIAL = [r"\d+\d+x", r".*a.*b", r"a\s*\s*b", r"x\w+\d+y"]
QUADRATIC_SEARCH = [r"\w+@", r"\s*x", r"<script[^>]*>", r"(?=.*x)", r"[a-z]{1,1000}@"]


@pytest.mark.parametrize("pattern", EXPONENTIAL)
def test_exponential_shapes_are_flagged(pattern):
    risks = backtracking_risks(pattern)
    assert risks and "exponential" in risks[0], risks


@pytest.mark.parametrize("pattern", POLYNOMIAL)
def test_polynomial_shapes_are_flagged(pattern):
    assert any("polynomial" in r for r in backtracking_risks(pattern))


@pytest.mark.parametrize("pattern", QUADRATIC_SEARCH)
def test_loops_searched_from_every_position_are_flagged(pattern):
    assert any("quadratic" in r for r in backtracking_risks(pattern))


SAFE = [
    r"\{\{\s*\d+\s*\*\s*\d+\s*\}\}",             # a loop after a literal its text cannot contain
    "XYZZY",
    r"^\w+@",                                    # one starting position only
    r"\A(?:a|b)+\Z",
    r"(?:-\S{1,20}\s){0,4}x",                    # iterations end on a character the body cannot read
    r"/\*[^*]{0,40}\*{1,10}(?:[^*/][^*]{0,40}\*{1,10}){0,3}/",
    r"x(?:ab|cd)+e",
    r"[a-z]{3,5}://",
    r"\w{1,64}@evil\.example",
    r"(?i)select\s(?:\w{1,30},\s?){0,10}\w{1,30}\sfrom",
]


@pytest.mark.parametrize("pattern", SAFE)
def test_linear_shapes_pass(pattern):
    assert backtracking_risks(pattern) == []


def test_the_message_names_the_loop_and_a_text_it_matches_two_ways():
    [risk] = backtracking_risks(r"(?:x|y)z(a+)+")
    assert "(a+)+" in risk and "'a'" in risk


def test_a_pattern_too_large_to_analyse_is_a_risk():
    huge = "(?:" + "|".join(f"w{i}x{i}" for i in range(3000)) + ")+"
    [risk] = backtracking_risks(huge)
    assert "too large" in risk


def test_an_invalid_pattern_raises_re_error():
    with pytest.raises(re.error):
        backtracking_risks("(unclosed")


@pytest.mark.parametrize("pattern", [r"(a|aa)+b", r"(a+)+b"])
def test_what_is_flagged_does_backtrack(pattern):
    """The audit's premise, measured by growth rather than a time limit: six more
    characters of 'a' cost 18× to 64× (exponential), not about 1.4× (linear)."""
    regex = re.compile(pattern)
    assert growth(lambda n: regex.search("a" * n), 14, 20) > 5


def test_what_passes_does_not():
    regex = re.compile(r"(?:-\S{1,20}\s){0,4}x")
    assert growth(lambda n: regex.search("-a " * n), 5000, 20000) < 4 * 2.5
