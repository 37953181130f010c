"""Where a hit is located: RE2's own search gives the character offset the ``re2`` module's wrapper gives."""
from __future__ import annotations

import pytest

from smartlayer.detectors.payload import engine as engine_module
from smartlayer.detectors.payload.engine import Engine

TEXTS = ["q=x' or 1=1--", "été déjà — q=x' or 1=1--", "日本語のテキスト <script>", "a\ud800b <script>", "nothing here"]


@pytest.mark.parametrize("text", TEXTS)
def test_the_offset_is_the_wrappers_whatever_the_characters(text, monkeypatch):
    compiled = Engine([r"or\s1=1", r"<script"])
    fast = [compiled.position(i, text) for i in range(2)]
    monkeypatch.setattr(engine_module, "_UNANCHORED", None)          # the wrapper's search
    wrapped = Engine([r"or\s1=1", r"<script"])
    assert fast == [wrapped.position(i, text) for i in range(2)]
    for start in fast:
        if start:
            assert text[start:start + 2] in ("or", "<s")
