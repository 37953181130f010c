"""The worst per-request time of the payload validator on crafted 64 KiB inputs.

    python tests/benchmarks/validator_worst.py [--repeat 5] [--timeout 20] [--only NAME] [--src DIR] [--data DIR]
                                               [--warm N]

Each shape is an input built to make some signature work hard — the SQL
comment bomb after ``union`` (112 bytes took 32 s before it was fixed), quotes
and connectors, tags with attributes, ``../`` runs, separators and commands,
the same entity- or percent-encoded, characters NFKC expands eighteenfold —
placed where it costs most (query string, body, headers, cookies, JSON,
form fields, multipart text fields), up to a whole request of a 64 KiB body,
three 8 KiB headers, an 8 KiB query string and 4 KiB of cookies.

Those shapes repeat one unit, and an automaton meets the same few states over
and over.  The *diverse* shapes do not: about 60 KiB of different attack
strings, or of ordinary prose and code, a snippet a line, shuffled with a
fixed seed (:func:`diverse`).  The attack snippets are the rows of the
payload lists (``--data``, as ``payload_corpus.py`` reads them) when they are
there, else the attacks the tests write, each varied; the benign ones are
lines of this checkout's own sources and documents.  Each request of a
diverse shape carries a new shuffle (an engine meeting it for the first
time); the ``same text again`` shapes repeat one.  The ``query`` ones carry
only :data:`QUERY_DIVERSE_CHARS` characters of snippets, a parameter each:
short, but matched through the whole-table set, where diverse attacks cost
most.  Use ``--repeat 7`` or more: three shuffles can miss the dear ones.

The *random* shapes carry random characters, printable ASCII or from the whole of Unicode
(:func:`random_text`), new in each request: no snippet of anything, so every byte is a context the
automata have not met, and in ASCII a ``&`` or ``%`` every few dozen characters for the decoders.
What an attacker sends to make a scanner work, rather than attack text.

Every run scans a fresh Django request (``scan_request``), as
AIRequestValidator does; building the request is not timed.  Each shape runs
in a child process killed after ``--timeout`` seconds, so a shape that
backtracks exponentially is reported as such instead of hanging the
benchmark.  Prints a Markdown table: median and max ms per request over
``--repeat`` runs, and the median CPU ms (the cost on a shared machine).

``--warm N`` scans N requests of the shape, new ones, before the measured ones: the figure of a
process that has met that kind of input before (RE2 keeps the automaton states it built), where the
default measures a process's first requests of it, the coldest.

``--src DIR`` imports ``smartlayer`` from DIR instead of this checkout —
e.g. an export of an older commit, to compare before and after a change::

    git archive <commit> smartlayer | tar -x -C /tmp/before
    python tests/benchmarks/validator_worst.py --src /tmp/before
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = ROOT.parent / "shared" / "datasets" / "payload"
KIB = 1024
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


def fill(unit: str, size: int = 64 * KIB) -> str:
    """``unit`` repeated to ``size`` characters."""
    return (unit * (size // len(unit) + 1))[:size]


BOMB = "union" + "/**/" * 26 + "x"
#: name → text of about 64 KiB (or the literal attack, for the small bombs)
TEXTS: dict[str, str] = {
    "union comment bomb, 112 bytes": BOMB,
    "union all comment bomb": "union all" + "/**/" * 26 + "x",
    "union comment bombs, 64 KiB": fill(BOMB + " "),
    "union( runs": fill("union("),
    "quotes + connectors": fill("' or '"),
    "quotes + connectors, no spaces": fill("'or'"),
    "double quotes + double pipes": fill('" || "'),
    "quote + parens + or": fill("') or ((("),
    "many <": fill("<"),
    "tags with attributes": fill("<a b=1 "),
    "tags with on*": fill("<a onx "),
    "../ runs": fill("../"),
    "....// runs": fill("....//"),
    "separators + commands": fill(";cat "),
    "pipe + wget with options": fill("| wget -x -y -z "),
    "backticks": fill("`"),
    "$( runs": fill("$("),
    "${ runs": fill("${"),
    "prompt verbs": fill("ignore all previous "),
    "reveal verbs": fill("reveal your "),
    "entity-encoded tags": fill("&lt;a b=1 "),
    "entity-encoded quotes": fill("&#39; or "),
    "percent-encoded quotes": fill("%27%20or%20"),
    "double percent-encoded": fill("%2527%2520or"),
    "\\u escapes": fill("\\u0027 or "),
    "NFKC U+FDFA (18x)": fill("\ufdfa", 16 * KIB),
    "fullwidth tags": fill("＜ａ ｂ＝１ "),
    "zero-width split keywords": fill("un\u200bion sel\u200bect "),
}


#: Characters of snippets in the diverse query shapes: a long query string, under the share of a request
#: matched through the whole-table set (:data:`smartlayer.detectors.payload.engine.SET_CHARS`), whose automaton
#: meets a new state on nearly every byte of diverse attacks — the dearest place for them, not 64 KiB.
QUERY_DIVERSE_CHARS = 3000

#: name → whether its snippets are attacks (the diverse shapes; see :func:`diverse`)
DIVERSE = {"diverse attacks": True, "diverse benign": False}


def _snippets(attack: bool, data: Path) -> list[str]:
    """Many different one-line snippets: attack strings, or ordinary prose and code."""
    rows: list[str] = []
    for file in sorted(data.glob(("attack" if attack else "benign") + "_*.jsonl")) if data.is_dir() else ():
        with file.open(encoding="utf-8") as handle:
            rows += [json.loads(line)["value"] for line in handle if line.strip()]
    if rows:
        return rows
    if attack:
        sys.path.insert(0, str(ROOT))
        from tests.test_payload import FAMILY_CASES, OBVIOUS_ATTACKS

        seeds = OBVIOUS_ATTACKS + [text for text, *_ in FAMILY_CASES]
        vary = random.Random(7)          # each attack a few ways: other numbers, names, spacing
        return [seed.replace("1", str(vary.randint(2, 9999))).replace(" ", " " * vary.randint(1, 2))
                + f" {vary.choice(['id', 'q', 'user', 'x'])}{n}" for n in range(40) for seed in seeds]
    lines = []
    for file in sorted([*ROOT.glob("smartlayer/**/*.py"), *ROOT.glob("docs/**/*.md"), ROOT / "README.md"]):
        lines += [line.strip() for line in file.read_text(encoding="utf-8").splitlines() if len(line.strip()) > 20]
    return lines


def diverse(attack: bool, seed: int, data: Path = DEFAULT_DATA, size: int = 60 * KIB) -> str:
    """About ``size`` characters of different snippets, a snippet a line, shuffled by ``seed``."""
    snippets = _snippets(attack, data)
    random.Random(seed).shuffle(snippets)
    out, total = [], 0
    for snippet in snippets:
        out.append(snippet.replace("\n", " "))
        total += len(snippet) + 1
        if total > size:
            break
    return "\n".join(out)[:size]


def random_text(unicode: bool, seed: int, size: int = 60 * KIB) -> str:
    """About ``size`` bytes (UTF-8) of random characters, new for each ``seed``: printable ASCII, or
    characters from the whole of Unicode but the surrogates (a third ASCII, a third the rest of the
    BMP, a third astral).  No snippet of anything: every byte a context an automaton has not met, and
    in ASCII a ``&`` or ``%`` every few dozen characters for the decoders to try."""
    rng = random.Random(seed)
    if not unicode:
        return "".join(map(chr, rng.choices(range(32, 127), k=size)))
    out: list[str] = []
    total = 0
    while total < size:
        kind = rng.randrange(3)
        if kind == 0:
            code = rng.randrange(32, 127)
        elif kind == 1:                                  # the rest of the BMP, either side of the surrogates
            below, above = rng.randrange(0xA0, 0xD800), rng.randrange(0xE000, 0xFFFE)
            code = rng.choice((below, above))
        else:
            code = rng.randrange(0x10000, 0x10FFFF)
        out.append(chr(code))
        total += len(out[-1].encode("utf-8"))
    return "".join(out)


#: name → whether its random characters span Unicode (see :func:`random_text`); a new text each request.
RANDOM = {"random printable ASCII": False, "random characters": True}


def make_requests(shape: str, count: int, data: Path = DEFAULT_DATA) -> list[Any]:
    """``count`` fresh requests carrying the shape where it costs most."""
    from urllib.parse import quote

    from django.test import RequestFactory

    rf = RequestFactory()
    kind, _, name = shape.partition(": ")
    text = TEXTS.get(name, "")
    worst = TEXTS["quotes + connectors"]
    diverse_name, _, again = name.partition(", ")
    seeds = iter(range(count)) if not again else iter([0] * count)

    def wsgi(value: str) -> str:
        """As a WSGI server hands a header or the query string to Django: UTF-8 bytes read as latin-1."""
        return value.encode("utf-8").decode("latin-1")

    def carried(blob: str, query: str, items: list[str]) -> Any:
        """A generated text where ``kind`` puts it: ``query`` as the query string, ``items`` as a JSON list."""
        if kind == "query":
            return rf.get("/", QUERY_STRING=wsgi(query), HTTP_USER_AGENT=UA)
        if kind == "form field":                         # one field of a comment box, as a browser posts it
            return rf.post("/", data=("c=" + quote(blob)).encode(),
                           content_type="application/x-www-form-urlencoded", HTTP_USER_AGENT=UA)
        if kind == "body":
            return rf.post("/", data=blob.encode(), content_type="text/plain", HTTP_USER_AGENT=UA)
        if kind == "json":
            return rf.post("/", data=json.dumps(items).encode(), content_type="application/json", HTTP_USER_AGENT=UA)
        if kind == "multipart":
            fields = {f"f{i}": blob[i * 1000:(i + 1) * 1000] for i in range(60)}
            return rf.post("/", data=fields, HTTP_USER_AGENT=UA)
        raise ValueError(shape)

    def build() -> Any:
        if name in RANDOM:                              # new random characters per request
            blob = random_text(RANDOM[name], next(seeds))
            # a query string's worth, one parameter; the JSON list's items 1,000 characters each
            return carried(blob, "q=" + quote(blob[:QUERY_DIVERSE_CHARS]),
                           [blob[i:i + 1000] for i in range(0, len(blob), 1000)])
        if diverse_name in DIVERSE:                     # a new shuffle per request, or the same again
            blob = diverse(DIVERSE[diverse_name], next(seeds), data)
            # a query string's worth, each snippet a parameter; the JSON list's items a snippet each
            lines = blob[:QUERY_DIVERSE_CHARS].split("\n")
            return carried(blob, "&".join(f"p{i}={quote(line)}" for i, line in enumerate(lines)), blob.split("\n"))
        if kind == "query":
            return rf.get("/", QUERY_STRING=wsgi("q=" + text), HTTP_USER_AGENT=UA)
        if kind == "body":
            return rf.post("/", data=text.encode(), content_type="text/plain", HTTP_USER_AGENT=UA)
        if kind == "form":
            return rf.post("/", data=fill("a=" + text[:30] + "&").encode(),
                           content_type="application/x-www-form-urlencoded", HTTP_USER_AGENT=UA)
        if kind == "json":
            items = json.dumps([text[:30]] * (64 * KIB // 36))
            return rf.post("/", data=items.encode(), content_type="application/json", HTTP_USER_AGENT=UA)
        if kind == "multipart":
            fields = {f"f{i}": text[:1000] for i in range(60)}
            return rf.post("/", data=fields, HTTP_USER_AGENT=UA)
        if kind == "headers":
            value = wsgi(text[:8 * KIB])
            return rf.get("/", HTTP_USER_AGENT=value, HTTP_REFERER=value, HTTP_X_FORWARDED_HOST=value,
                          HTTP_COOKIE=wsgi("; ".join(f"c{i}={text[:500]}" for i in range(8))))
        if kind == "whole request":
            value = worst[:8 * KIB]
            return rf.post("/?" + "q=" + worst[:8 * KIB], data=worst.encode(), content_type="text/plain",
                           HTTP_USER_AGENT=value, HTTP_REFERER=value, HTTP_X_FORWARDED_HOST=value,
                           HTTP_COOKIE="; ".join(f"c{i}={worst[:500]}" for i in range(8)))
        raise ValueError(shape)

    return [build() for _ in range(count)]


SHAPES = (
    [f"query: {name}" for name in TEXTS]
    + [f"body: {name}" for name in TEXTS if len(TEXTS[name]) > 1000]
    + [f"{kind}: {name}" for kind in ("form", "json", "multipart", "headers")
       for name in ("union comment bombs, 64 KiB", "quotes + connectors", "tags with attributes", "NFKC U+FDFA (18x)")]
    + ["whole request: 64 KiB body + 8 KiB query + 3 × 8 KiB headers + 4 KiB cookies"]
    + [f"{kind}: {name}{again}" for name in DIVERSE for kind in ("query", "form field", "body", "json", "multipart")
       for again in ("", ", same text again")]
    + [f"{kind}: {name}" for name in RANDOM for kind in ("query", "form field", "body", "json")]
)


def _child(src: str | None, shape: str, repeat: int, out: Any, data: Path = DEFAULT_DATA, warm: int = 0) -> None:
    if src:
        sys.path.insert(0, str(ROOT))
        sys.path.insert(0, src)
    else:
        sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    import django

    django.setup()
    import smartlayer.detectors.payload.scan as payload

    try:
        requests = make_requests(shape, repeat + 1 + warm, data)
        payload.scan_request(requests.pop())          # warm up: settings, compiled patterns
        for _ in range(warm):                          # --warm: the shape met before, untimed
            payload.scan_request(requests.pop())
        times, cpu = [], []
        for request in requests:
            start, start_cpu = time.perf_counter(), time.thread_time()
            payload.scan_request(request)
            cpu.append((time.thread_time() - start_cpu) * 1000)
            times.append((time.perf_counter() - start) * 1000)
        out.send(((times, cpu), payload.__file__))
    except Exception as exc:
        out.send((f"{type(exc).__name__}: {exc}", payload.__file__))


def measure(src: str | None, shape: str, repeat: int, timeout: float,
            data: Path = DEFAULT_DATA, warm: int = 0) -> tuple[tuple[list[float], list[float]] | str | None, str]:
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(src, shape, repeat, child, data, warm), daemon=True)
    proc.start()
    if parent.poll(timeout):
        times, where = parent.recv()
        proc.join(5)
        return times, where
    proc.kill()
    proc.join()
    return None, ""


def main(argv: list[str] | None = None, say: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per shape before it is killed")
    parser.add_argument("--only", default="", help="run the shapes whose name contains this")
    parser.add_argument("--src", default=None, help="import smartlayer from this directory")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="payload lists for the diverse shapes (the tests' own attacks when absent)")
    parser.add_argument("--warm", type=int, default=0, help="requests of the shape scanned, untimed, before the measured")
    args = parser.parse_args(argv)
    shapes = [s for s in SHAPES if args.only.lower() in s.lower()]
    say(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        + (f"; each shape met {args.warm} times before it is measured" if args.warm else ""))
    say("| shape | median ms | max ms | median CPU ms |")
    say("|---|---:|---:|---:|")
    worst = 0.0
    where = ""
    for shape in shapes:
        measured, where_now = measure(args.src, shape, args.repeat, args.timeout, args.data, args.warm)
        where = where_now or where
        if measured is None:
            say(f"| {shape} | > {args.timeout * 1000:,.0f} (killed) | | |")
            worst = float("inf")
            continue
        if isinstance(measured, str):
            say(f"| {shape} | error: {measured} | | |")
            continue
        times, cpu = measured
        worst = max(worst, max(times))
        say(f"| {shape} | {statistics.median(times):,.1f} | {max(times):,.1f} | {statistics.median(cpu):,.1f} |")
    say(f"\nworst request: {worst:,.1f} ms; smartlayer from {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
