"""The empty SQL comment ``/**/`` replaced in C reads exactly as the comment patterns read it."""
from __future__ import annotations

import random

from smartlayer.detectors.payload.normalise import _SQL_COMMENT, _SQL_COMMENT_MARK, without_sql_comments


def _by_patterns(text: str) -> str:
    """The reading before the shortcut: the two patterns over the text, whitespace collapsed a line at a time."""
    if "*" not in text or ("/*" not in text and "*/" not in text):
        return text
    bare = _SQL_COMMENT_MARK.sub(" ", _SQL_COMMENT.sub(" ", text))
    if "\n" not in text:
        return " ".join(bare.split())
    return "\n".join(" ".join(line.split()) for line in bare.split("\n"))


def test_random_texts_of_comment_characters_read_the_same():
    rng = random.Random(5)
    pieces = ["/**/", "/*", "*/", "/", "*", "!", "12", "union", "select", " ", "\n", "' or 1=1", "/*!50000", "x"]
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        assert without_sql_comments(text) == _by_patterns(text), repr(text)


def test_a_comment_holding_an_empty_one_is_removed_whole():
    text = "/*' or 1=1 /**/ and x"
    assert without_sql_comments(text) == _by_patterns(text) == "and x"
    assert without_sql_comments("union/**/select/**/1") == "union select 1"
