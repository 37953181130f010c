"""The plain-line shortcut of the log parser gives exactly the regex's groups, or steps aside.

:func:`smartlayer.offline.accesslog._plain_fields` splits a plain combined
line on its quotes instead of matching :data:`~smartlayer.offline.accesslog._LINE`.
The regex is the definition: for every line the shortcut accepts, the regex
must match it too and give the same nine groups.  Checked on the lines a log
writer produces and on random lines built from the characters that could
fool a split — quotes, brackets, tabs, spaces, digits, dashes — placed
anywhere in an otherwise well-formed line.
"""
from __future__ import annotations

import random

import pytest

from smartlayer.offline import accesslog
from smartlayer.offline.accesslog import _LINE, _plain_fields, format_combined, parse_line
from smartlayer.sim import TrafficRecord

GOOD = ('203.0.113.7 - 42 [01/Jan/2024:12:00:00 +0000] "GET /p?q=1 HTTP/1.1" 200 512 '
        '"https://shop.example/a" "Mozilla/5.0 (X11; Linux x86_64)" "crawler"\n')
NOISE = ['"', "[", "]", "\t", " ", "  ", "x", "7", "-", "\\", "\u00a0", "\u0663", "\n", "rt=0.1", '""']


def _same_as_regex(line: str) -> bool:
    fields = _plain_fields(line)
    if fields is None:
        return True   # stepped aside: the regex decides
    m = _LINE.match(line)
    assert m is not None, f"the shortcut took a line the regex refuses: {line!r}"
    assert fields == m.groups(), line
    return False


def test_plain_lines_take_the_shortcut_and_agree():
    lines = [GOOD, GOOD.rstrip("\n"), GOOD.replace(' "crawler"', ""), GOOD.replace(" 512 ", " - "),
             GOOD.replace('"https://shop.example/a"', '"-"'), GOOD.replace('"Mozilla', '"'),
             GOOD.replace("\n", " \r\n")]
    for line in lines:
        assert not _same_as_regex(line), f"a plain line missed the shortcut: {line!r}"


@pytest.mark.parametrize("seed", range(20))
def test_random_damage_never_makes_the_shortcut_disagree(seed):
    rng = random.Random(seed)
    taken = 0
    for _ in range(3000):
        chars = list(GOOD if rng.random() < 0.7 else GOOD.replace(' "crawler"', ""))
        for _ in range(rng.choice([1, 1, 2, 3])):
            i = rng.randrange(len(chars) + 1)
            if rng.random() < 0.5 and i < len(chars):
                chars[i] = rng.choice(NOISE)   # replace
            else:
                chars.insert(i, rng.choice(NOISE))
        taken += not _same_as_regex("".join(chars))
    assert taken > 100   # damage inside a field (its text) keeps many lines plain


def test_lines_a_log_writer_produces_parse_as_through_the_regex(monkeypatch):
    rng = random.Random(3)
    lines = []
    for i in range(500):
        rec = TrafficRecord(ts=1_700_000_000.0 + i * 7.3, ip=f"198.51.100.{i % 250}", method=rng.choice(["GET", "POST"]),
                            path=rng.choice(["/", "/p/1", "/a b", '/q"x', "/s\\t"]), query=rng.choice(["", "a=1", 'b="2"']),
                            status=rng.choice([200, 404, 500]), bytes_sent=i, referer=rng.choice(["", "https://x/", 'r"ef']),
                            user_agent=rng.choice(["", "curl/8", 'ua "quoted"', "tab\there"]), user_id=rng.choice([None, "7"]),
                            label=rng.choice(["human", "scraper"]), response_ms=12.0)
        line = format_combined(rec, with_label=rng.random() < 0.5, with_request_time=rng.random() < 0.3)
        _same_as_regex(line)
        lines.append(line)
    parsed = [parse_line(line) for line in lines]
    assert sum(p is not None for p in parsed) > 300
    monkeypatch.setattr(accesslog, "_plain_fields", lambda line: None)   # the regex alone
    assert [parse_line(line) for line in lines] == parsed


def test_a_time_spaced_otherwise_still_takes_the_shortcut_and_agrees():
    """What the brackets hold is the time whole (the regex's ``[^\\]]+``): two spaces, none, or a tab
    before the offset give the regex's groups without it."""
    for stamp in ("[01/Jan/2024:12:00:00  +0000]", "[01/Jan/2024:12:00:00]", "[01/Jan/2024:12:00:00\t+0000]",
                  "[01/Jan/2024 12:00:00 +0000]"):
        line = GOOD.replace("[01/Jan/2024:12:00:00 +0000]", stamp)
        if "\t" in stamp:
            assert _same_as_regex(line), "a tab in the head is left to the regex"
        else:
            assert not _same_as_regex(line), f"a plain line missed the shortcut: {line!r}"


def test_whitespace_other_than_one_space_between_the_first_fields_steps_aside():
    for head in ("203.0.113.7  - 42 ", "203.0.113.7 -\t42 ", "203.0.113.7 - 42\u00a0", " 203.0.113.7 - 42 ",
                 "203.0.113.7\u2003- 42 ", "203.0.113.7 - \x0b42 "):
        line = GOOD.replace("203.0.113.7 - 42 ", head)
        assert _plain_fields(line) is None, repr(line)
        assert _same_as_regex(line)
