"""What a long or diverse request costs the payload scan, counted in work (passes, characters, texts), never in time.

The whole-table RE2 set builds a DFA state for each new byte context, at a
cost that grows with the table: diverse text (many different snippets) is its
worst case.  Past :data:`engine.SET_CHARS` characters a request goes through
the prefilter instead, which must find exactly what the set finds; a long
request is matched as it is read and not read further once it blocks.
"""
from __future__ import annotations

import random
from urllib.parse import quote

import pytest

from smartlayer.detectors.payload import engine, normalise, scan_parts
from smartlayer.detectors.payload import scan as payload
from smartlayer.detectors.payload.signatures import engine_for
from tests.helpers import spy_engine_matches
from tests.test_payload import BENIGN_TEXTS, FAMILY_CASES, OBVIOUS_ATTACKS

BLOCK = 3
ATTACKS = OBVIOUS_ATTACKS + [text for text, *_ in FAMILY_CASES]
PROSE = BENIGN_TEXTS + [
    "Add the helper to views.py, then run the migrations before starting the server.",
    "for item in items: total += item.price * item.quantity  # VAT is added at checkout",
    "The meeting moved to Thursday; bring the quarterly figures (and the Q3 draft).",
    "SELECT a seat on the map, then choose 'continue' to pay - your booking is held 15 min.",
    "She said: \"it's fine\" - but the parcel was left at number 12, not 21.",
]


def diverse(snippets: list[str], seed: int, size: int) -> str:
    """About ``size`` characters of the snippets, varied (numbers, names) and shuffled: few lines alike."""
    rng = random.Random(seed)
    lines, total = [], 0
    while total < size:
        line = rng.choice(snippets).replace("1", str(rng.randint(2, 99999))) + f" v{rng.randint(0, 10 ** 6)}"
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines)[:size]


@pytest.fixture
def engine_calls(monkeypatch):
    """(characters, through the prefilter?) of every whole-engine match the scan asks for."""
    calls: list[tuple[int, bool]] = []
    monkeypatch.setattr(payload, "_CLEAN", {})
    spy_engine_matches(monkeypatch, lambda text, filtered: calls.append((len(text), filtered)))
    return calls


@pytest.mark.parametrize("level", [1, 2, 3])
@pytest.mark.parametrize("kind", ["path", "query", "body", "header"])
def test_the_prefilter_finds_what_the_set_finds(level, kind):
    compiled, _ = engine_for(level, kind)
    texts = [normalise(t) for t in ATTACKS + PROSE]
    texts += [normalise(diverse(ATTACKS, 1, 6000)), normalise(diverse(PROSE, 2, 6000)), "\n".join(texts)]
    for text in texts:
        assert compiled.matches(text, filtered=True) == compiled.matches(text), text[:80]


def test_a_text_with_a_lone_surrogate_goes_through_the_prefilter():
    compiled, _ = engine_for(1, "body")
    text = "a\ud800b <script>alert(1)</script>"
    assert compiled.matches(text, filtered=True) == compiled.matches(text) != []


def test_a_long_diverse_field_sends_at_most_set_chars_to_the_set(engine_calls):
    """60 KiB of different attacks in one form field: the set sees at most SET_CHARS of it."""
    body = ("c=" + quote(diverse(ATTACKS, 3, 60_000))).encode()
    result = scan_parts(body=body, content_type="application/x-www-form-urlencoded")
    assert result.score >= BLOCK
    assert sum(size for size, filtered in engine_calls if not filtered) <= engine.SET_CHARS
    assert any(filtered for _, filtered in engine_calls)


def test_many_diverse_fields_send_at_most_set_chars_to_the_set(engine_calls):
    """Split into 60 fields of 1 KiB, the same text costs the set no more (the fields are matched again)."""
    text = diverse(PROSE, 4, 60_000)
    fields = {f"f{i}": [text[i * 1000:(i + 1) * 1000]] for i in range(60)}
    scan_parts(form_fields=fields)
    assert sum(size for size, filtered in engine_calls if not filtered) <= engine.SET_CHARS


def test_a_typical_request_goes_through_the_set_alone(engine_calls):
    """Five query values, a 1 KiB form and a browser's headers: every pass through the set, as before."""
    comment = ("I ordered the blue pair last week and they fit well; delivery took 3 days. " * 12)[:880]
    form = f"name=Jane+O%27Reilly&email=jane%40example.co.uk&rating=4&comment={quote(comment)}&next=%2Faccount"
    headers = {"User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0 Safari/537.36",
               "Referer": "https://shop.example.com/search?q=running+shoes&page=2",
               "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    result = scan_parts(query_string="q=trail+running+shoes&page=2&sort=price_asc&size=44.5&colour=dark+blue",
                        body=form.encode(), content_type="application/x-www-form-urlencoded", headers=headers,
                        cookies={"sessionid": "k2j9d0s7a6q5w4e3r2t1y0u9i8o7", "theme": "dark"})
    assert result.score == 0 and engine_calls and not any(filtered for _, filtered in engine_calls)


def test_fields_matched_again_are_searched_only_for_what_their_pass_found(engine_calls, monkeypatch):
    """After a pass over joined fields finds a hit, the fields past the set's share of the request are
    searched only for the patterns it found, never through the whole table."""
    finds = []
    original = engine.Engine.find

    def counting(self, index, text):
        finds.append(index)
        return original(self, index, text)

    monkeypatch.setattr(engine.Engine, "find", counting)
    fields = {f"f{i}": [diverse(PROSE, 30 + i, 600)] for i in range(20)}      # 12 KB: past SET_CHARS
    fields["f3"] = ["1 UNION SELECT username, password FROM users"]
    result = scan_parts(form_fields=fields)
    assert result.score >= BLOCK and {d.location for d in result.details} == {"body"}
    assert sum(size for size, filtered in engine_calls if not filtered) <= engine.SET_CHARS
    assert sum(1 for _, filtered in engine_calls if filtered) <= 3    # the joined passes, 8 KiB at a time
    assert finds and len(finds) <= len(set(finds)) * len(fields)


def test_a_short_request_matches_its_fields_again_through_the_set(engine_calls):
    """Under the set's share, a field is matched again in one pass of the set, as before (cheaper than a
    search per pattern found)."""
    result = scan_parts(form_fields={"a": ["' OR 1=1--"], "b": ["<script>alert(1)</script>"], "c": ["hello"]})
    assert result.score >= BLOCK and not any(filtered for _, filtered in engine_calls)
    assert len(engine_calls) == 1 + 3                       # the joined pass, then each field through the set


def test_an_engine_with_a_pattern_anchored_to_the_whole_text_is_not_line_local():
    assert engine.Engine([r"or\s1=1", r"^admin$"]).line_local
    assert not engine.Engine([r"or\s1=1", r"\Aadmin"]).line_local
    assert not engine.Engine([r"admin\z"]).line_local


def test_a_long_request_of_attacking_fields_stops_reading_once_it_blocks(monkeypatch):
    normalised = []
    original = payload._normalise

    def counting(raw, **kwargs):
        normalised.append(len(raw))
        return original(raw, **kwargs)

    monkeypatch.setattr(payload, "_normalise", counting)
    monkeypatch.setattr(payload, "_CLEAN", {})
    fields = {f"f{i}": [diverse(ATTACKS, 10 + i, 400)] for i in range(50)}     # 20 KB, each field decoded
    result = scan_parts(form_fields=fields)
    assert result.score >= BLOCK and "scan:stopped_at_block" in result.skipped
    assert 0 < len(normalised) < 40                    # read up to the first 8 KiB or so, not all 50 fields


def test_a_short_blocked_request_is_read_in_full(monkeypatch):
    fields = {f"f{i}": [ATTACKS[i]] for i in range(6)}
    result = scan_parts(form_fields=fields)
    assert result.score >= BLOCK and "scan:stopped_at_block" not in result.skipped
    assert len({d.location for d in result.details}) == 1 and len(result.details) >= 6


def test_a_long_benign_request_is_read_in_full(engine_calls):
    fields = {f"f{i}": [diverse(PROSE, 20 + i, 400)] for i in range(50)}
    result = scan_parts(form_fields=fields)
    assert "scan:stopped_at_block" not in result.skipped
    assert sum(size for size, _ in engine_calls) >= 50 * 300       # every field matched


def test_matching_as_it_reads_never_remembers_a_query_clean_on_part_of_it(monkeypatch):
    """A long path then a short query: the query's pairs are matched together, so that a clean first pair
    cannot get the whole query string remembered as clean before its attacking pair is read."""
    query = "page=2&id=1%27%20or%20%271%27=%271"
    for size in range(8150, 8200):          # the flush size falls after the path, or inside the query
        monkeypatch.setattr(payload, "_CLEAN", {})
        for _ in range(2):
            result = scan_parts(path="/" + "a" * size, query_string=query)
            assert result.score >= BLOCK and any(d.location == "query" for d in result.details), size


def test_the_stop_follows_the_block_score(settings):
    """VALIDATOR_BLOCK_SCORE set very high (a site recording only): a request is never cut short."""
    settings.SMART_MIDDLEWARE = {**getattr(settings, "SMART_MIDDLEWARE", {}), "VALIDATOR_BLOCK_SCORE": 10_000}
    fields = {f"f{i}": [diverse(ATTACKS, 40 + i, 400)] for i in range(50)}
    result = scan_parts(form_fields=fields)
    assert result.score >= BLOCK and "scan:stopped_at_block" not in result.skipped


def test_without_re2s_own_search_the_prefilter_alone_finds_the_same(monkeypatch):
    """A build whose internals the engine cannot reach: the prefilter runs every pattern itself."""
    patterns = [s.regex.pattern for s in engine_for(1, "body")[1]]
    grouped = engine.Engine(patterns)
    monkeypatch.setattr(engine, "_UNANCHORED", None)
    alone = engine.Engine(patterns)
    monkeypatch.undo()
    assert grouped._groups and alone._groups is None
    for text in [normalise(diverse(ATTACKS, 5, 6000)), normalise(diverse(PROSE, 6, 6000))]:
        assert alone.matches(text, filtered=True) == grouped.matches(text, filtered=True) == grouped.matches(text)
