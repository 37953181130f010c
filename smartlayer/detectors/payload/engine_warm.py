"""Warming a long-text engine's automata when it is built, on ordinary text, rather than on the first requests.

Why: RE2 builds its DFAs lazily, a state (and a transition) the first time a
byte context is met, at the cost of simulating the patterns' NFA there.  The
prefiltered path of :class:`.engine.Engine` runs a dozen small sets and a few
patterns alone over a long text; on a process's first requests of 60 KiB of
diverse benign text (prose, code, a snippet a line) most of that work was
building states — about 1 M new transitions a request, half of all its
instructions — where the same sets on text of the same kind a few requests
later cost a pass over states they hold (0.09 ms a set over 60 KiB).  The
states that ordinary text needs are largely the same from one text to the next
(quotes, brackets, ``=``, ``or``, ``from``, ``select`` in prose and code), so
they are built here, once, on text of that kind that no request sent: the
standard library's own modules (docstrings and code), shuffled a line at a time
with a fixed seed, normalised as a body is.  Where those sources are not there
(a build without them), nothing is warmed: the engine is the same, only its
first long requests cost what they did before.

What it costs: the engine's build takes :data:`WARM_TEXTS` passes of the
prefiltered path more (~0.1 s of CPU, once per engine of the body kind, at
start-up), and the states built stay in RE2's DFA caches (tens of MiB, within
each program's own memory budget: a cache that fills is reset by RE2 and
rebuilt as before, so the answers never change — only how soon they come).
Offline work (:data:`.signatures.PREFILTER_LATER`) warms nothing: its texts
are short.
"""
from __future__ import annotations

import random
import sysconfig
from functools import lru_cache
from pathlib import Path
from typing import Any

#: Texts matched at build time, and their size: about what one long body is.
WARM_TEXTS = 5
WARM_CHARS = 60 * 1024
#: A long text's prefix matched alone (:func:`.early.prefix_blocks`, :func:`.early.first_block`): its
#: patterns are searched one by one there, each with its own automaton, which the long passes do not warm.
_PREFIX_CHARS = 1536
#: Modules of the standard library read for the warm text (sorted by name; a few hundred KiB are enough).
_MAX_FILES = 150


def warm_lines(limit: int = WARM_TEXTS * WARM_CHARS) -> list[str]:
    """Lines of ordinary prose and code (the standard library's modules), shuffled with a fixed seed, about
    ``limit`` characters in all; empty when the sources cannot be read."""
    return list(_read_lines(limit))


@lru_cache(maxsize=2)
def _read_lines(limit: int) -> tuple[str, ...]:
    """:func:`warm_lines`, read from disk once a process: an engine of the body kind is built again at every
    settings generation (and many times in a test run), and reading the modules cost 0.05 s of CPU, a quarter of building and
    warming the engine (0.18 s)."""
    try:
        folder = Path(sysconfig.get_paths()["stdlib"])
        files = sorted(folder.glob("*.py"))[:_MAX_FILES]
    except Exception:                                     # noqa: BLE001 - no sources: nothing to warm with
        return ()
    lines: list[str] = []
    for file in files:
        try:
            text = file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        lines += [line.strip() for line in text.splitlines() if len(line.strip()) > 20]
    random.Random(0).shuffle(lines)
    kept, total = [], 0
    for line in lines:
        if total >= limit:
            break
        kept.append(line)
        total += len(line) + 1
    return tuple(kept)


def warm(engine: Any, lines: list[str] | None = None) -> int:
    """Match :data:`WARM_TEXTS` texts of ``lines`` (default :func:`warm_lines`) through ``engine``'s
    prefiltered path, each whole and its prefix; the number of texts matched.  Never raises: a fault
    leaves the engine as it was built (its caches are only caches)."""
    from .normalise import _normalise  # here: the normaliser imports the engine module

    try:
        lines = warm_lines() if lines is None else lines
        blob = "\n".join(lines)
        done = 0
        for number in range(WARM_TEXTS):
            raw = blob[number * WARM_CHARS:(number + 1) * WARM_CHARS]
            if not raw:
                break
            # a body or a form field is read as one line, many fields (JSON, a long form) a field a line
            text = _normalise(raw, keep_lines=bool(number % 2))[0]
            engine.matches(text, filtered=True)
            engine.matches(text[:_PREFIX_CHARS], filtered=True)
            done += 1
        return done
    except Exception:                                     # noqa: BLE001 - only caches were touched
        return 0
    finally:
        engine._last = (None, b"")          # the last long text and its spans: not the warm text's
        engine._spans = (None, b"", {})
