"""Payload detection on public attack lists and hard benign text, per family and paranoia level.

    python tests/benchmarks/payload_corpus.py [--data DIR] [--levels 1,2,3] [--misses FAMILY] [--dump FILE]

Reads the JSONL files of ``--data`` (default ``../shared/datasets/payload``
next to the checkout): ``attack_*.jsonl`` rows are attacks of a family,
``benign_*.jsonl`` rows ordinary text.  Each row becomes the request a client
would send (``scan_parts``, the pure core of ``scan_request``):

* ``query_value`` — ``?q=<value>`` with the value written the way attack tools
  write it: already-percent-encoded text left as it is, only what would end
  the value (space, ``&``, ``#``, line breaks, non-ASCII) encoded; benign
  values are encoded fully, as a browser does;
* ``path`` — the value is a URL path, with its own query string if it has one;
* ``body`` — attacks as the raw body (XML ones as ``application/xml``), benign
  text as a form field (``application/x-www-form-urlencoded``), as a comment
  box posts it.

Prints, per family and level, the share of rows blocked (score ≥ 3) and
borderline (1–2), the benign rows blocked and borderline, and the scan cost
per row.  Rows of the ``other`` family are split by their list (open
redirects, server-side includes, XPath).  Bare file paths (no traversal, no
encoding: ``/etc/logrotate.d/httpd``) are counted apart, as they are text a
benign form can carry too.  ``--misses FAMILY`` lists the rows not blocked.

``--dump FILE`` writes every row's result (level, row, score, hits, each hit in
full with its excerpt, ``skipped``, ``truncated``) as JSON lines, so that two
trees can be compared row for row: a change to the engine must not change them.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = ROOT.parent / "shared" / "datasets" / "payload"
BLOCK = 3
#: What a tool must encode in a query value: it would end the value or the line.
_TOOL_ENCODE = re.compile(r"[\s&#\x00-\x1f\x7f-\U0010ffff]")
#: In a URL's own query string ``&`` separates the pairs: only what would end the line is encoded.
_QUERY_ENCODE = re.compile(r"[\s#\x00-\x1f\x7f-\U0010ffff]")
#: A file path or file name with no traversal, no encoding, no scheme (``/etc/logrotate.d/httpd``,
#: ``C:/Program Files/MySQL/my.ini``, ``/.bashrc``, ``wp-config.php``): text a benign form can carry too.
_BARE_PATH = re.compile(r"^(?:[a-z]:)?[\\/]?(?:[\w.~ ()-]*[\\/])*[\w.~ ()<>-]*[\w~)][\\/]?\s?$", re.IGNORECASE)
#: The families where a bare path is the attack's own shape (elsewhere it is only a fragment of a list).
_FILE_FAMILIES = frozenset(("lfi", "traversal"))
_FILE_LIKE = re.compile(r"[\\/]|\.[a-z0-9]{1,8}$", re.IGNORECASE)


def _setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()


def tool_encoded(value: str, pattern: re.Pattern[str] = _TOOL_ENCODE) -> str:
    return pattern.sub(lambda m: quote(m.group(0), safe=""), value)


def is_bare_path(value: str) -> bool:
    """A file path (or name) as such, with no climb out of a directory."""
    value = value.strip()
    return bool(_BARE_PATH.match(value)) and bool(_FILE_LIKE.search(value)) and ".." not in value


def family_of(row: dict) -> str:
    family = row["family"]
    if family == "other":
        source = row["source"].lower()
        return "redirect" if "redirect" in source else "ssi" if "include" in source else "xpath"
    return family


def request_of(row: dict) -> dict:
    value, location, attack = row["value"], row["location"], row["label"] == 1
    if location == "path":
        path, _, query = value.partition("?")
        return {"path": tool_encoded(path), "query_string": tool_encoded(query, _QUERY_ENCODE)}
    if location == "body":
        if attack:
            xml = value.lstrip().startswith("<")
            return {"body": value.encode("utf-8", "surrogatepass"),
                    "content_type": "application/xml" if xml else "text/plain"}
        return {"body": urlencode({"comment": value}).encode(), "content_type": "application/x-www-form-urlencoded"}
    return {"query_string": "q=" + (tool_encoded(value) if attack else quote(value, safe=""))}


def load(data: Path) -> list[dict]:
    rows = []
    for file in sorted(data.glob("*.jsonl")):
        with file.open(encoding="utf-8") as handle:
            rows += [json.loads(line) for line in handle if line.strip()]
    return rows


def run(rows: list[dict], level: int) -> tuple[list[tuple[dict, int, list[str]]], list[float]]:
    from django.conf import settings
    from django.test import override_settings

    from smartlayer.detectors.payload import scan_parts

    results, costs = [], []
    # through Django's settings, as a site sets it: the engines are rebuilt for the level on setting_changed
    with override_settings(SMART_MIDDLEWARE={**getattr(settings, "SMART_MIDDLEWARE", {}), "VALIDATOR_PARANOIA": level}):
        for row in rows:
            request = request_of(row)
            started = time.perf_counter()
            result = scan_parts(**request)
            costs.append(time.perf_counter() - started)
            results.append((row, result.score, result.hits, result))
    return results, costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--levels", default="1,2,3")
    parser.add_argument("--misses", default="", help="list the rows of this family not blocked (or 'benign')")
    parser.add_argument("--limit", type=int, default=60)
    parser.add_argument("--dump", type=Path, help="write each row's result here, a JSON line each")
    args = parser.parse_args()
    _setup()
    from django.test import override_settings

    rows = load(args.data)
    levels = [int(x) for x in args.levels.split(",")]
    table: dict[str, dict[int, tuple[int, int, int, int]]] = defaultdict(dict)
    cost_by_level = {}
    dump = args.dump.open("w", encoding="utf-8") if args.dump else None
    for level in levels:
        with override_settings(SMART_MIDDLEWARE={"VALIDATOR_PARANOIA": level}):
            results, costs = run(rows, level)
        cost_by_level[level] = costs
        counts: dict[str, Counter] = defaultdict(Counter)
        for number, (row, score, hits, result) in enumerate(results):
            if dump is not None:
                dump.write(json.dumps({"level": level, "row": number, "score": score, "hits": hits,
                                       "details": [list(hit) for hit in result.details], "excerpt": result.excerpt,
                                       "skipped": result.skipped, "truncated": result.truncated}) + "\n")
            family = "benign" if row["label"] == 0 else family_of(row)
            c = counts[family]
            c["rows"] += 1
            c["blocked"] += score >= BLOCK
            c["borderline"] += 0 < score < BLOCK
            if family in _FILE_FAMILIES and score < BLOCK and is_bare_path(row["value"]):
                c["bare"] += 1
            if args.misses and level == levels[0] and (
                    (args.misses == family != "benign" and score < BLOCK) or (args.misses == "benign" == family and score > 0)):
                if c["listed"] < args.limit:
                    c["listed"] += 1
                    print(f"  {score} {hits[:4]} {row['value'][:160]!r}")
        for family, c in counts.items():
            table[family][level] = (c["rows"], c["blocked"], c["borderline"], c["bare"])
    if dump is not None:
        dump.close()
    header = "| family | rows | " + " | ".join(f"PL{lv} blocked | PL{lv} borderline" for lv in levels) + " |"
    print(header)
    print("|" + "---|" * (2 + 2 * len(levels)))
    for family in sorted(table, key=lambda f: (f == "benign", f)):
        cells = []
        for level in levels:
            n, blocked, border, bare = table[family][level]
            extra = f" (bare paths {bare})" if bare and family != "benign" else ""
            cells.append(f"{100 * blocked / n:.1f} % ({blocked})")
            cells.append(f"{100 * border / n:.1f} % ({border}){extra}")
        print(f"| {family} | {table[family][levels[0]][0]} | " + " | ".join(cells) + " |")
    for level, costs in cost_by_level.items():
        print(f"PL{level}: {len(costs)} rows, median {statistics.median(costs) * 1e6:.1f} µs, "
              f"p99 {sorted(costs)[int(len(costs) * 0.99)] * 1e6:.1f} µs, max {max(costs) * 1e3:.2f} ms per row")


if __name__ == "__main__":
    main()
