"""The extractor's work on the request path, counted: Python-level calls (frames entered and
C functions called) for one vector of a typical visit — a reader's page views five seconds apart,
every one of them finished with a 200, a window of 30 requests.

What it guards (issue #17): the recent paths are counted by ``Counter``'s C loop without its
Python ``__init__``/``update`` (and their ``isinstance(..., Mapping)``), a window without any error
status skips the per-status pass (a set and a comprehension frame), and the even page gaps are
counted in the sorted ratios by two bisections instead of two method calls a ratio.  The values
themselves are held by the parity tests (``test_ml_features_reference.py``)."""
from __future__ import annotations

import sys

from smartlayer.ml.features import extract
from smartlayer.request.facts import arrival_flags
from smartlayer.state.windows.window import ClientWindow

T0 = 1_700_000_000.0
UA = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"
PAGES = ["/", "/cart/", "/blog/", "/contact/", "/category/hats/"]


def _window(n: int = 30):
    win = ClientWindow(200)
    snap = None
    for i in range(n):
        ts = T0 + 5.0 * i + (0.37 * i) % 1.3   # a reader's uneven pace
        path = PAGES[i % len(PAGES)]
        snap = win.arrive((ts, "GET", path, arrival_flags(authenticated=False, user_agent=UA, path=path)), 600)
        if i < n - 1:
            win.complete((ts, 200, 20.0, False))
    return snap


def _calls(snap) -> tuple[int, int]:
    """(Python frames entered, C functions called) by one extract."""
    frames = c_calls = 0

    def profile(frame, event, arg):
        nonlocal frames, c_calls
        if event == "call":
            frames += 1
        elif event == "c_call":
            c_calls += 1

    sys.setprofile(profile)
    try:
        extract(snap, True)
    finally:
        sys.setprofile(None)
    return frames - 1, c_calls - 1   # neither extract's own frame nor setprofile(None)


def test_a_typical_visit_is_extracted_in_few_calls():
    snap = _window()
    vector = extract(snap, True)   # memos warm, as on a serving worker
    frames, c_calls = _calls(snap)
    assert extract(snap, True) == vector
    # counted when written: 4 frames (the two count helpers, the snapshot's day count, the id run)
    # and 46 C calls; before, 8 frames (Counter.__init__ and .update, the ABC instance check, the
    # error statuses' comprehension) and 48 C calls
    assert frames <= 4, frames
    assert frames + c_calls <= 50, (frames, c_calls)
