"""What cleaning text for the database costs on the request path.

    python tests/benchmarks/log_text.py [--number 100000]

Prints µs per call of :func:`smartlayer.request.context.log_row` for a benign request
(no decision: no details) and for a refused one (one decision with details),
of :func:`smartlayer.dbtext.db_text` on an ordinary path, and of
:func:`smartlayer.dbtext.db_json` on those details next to ``json.dumps`` of
the same value (the dump the writer does anyway) as the yardstick.  The best
of five repeats: the figures are for comparing, on one machine, at one time.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--number", type=int, default=100_000)
    args = parser.parse_args()

    import django

    django.setup()
    from smartlayer.dbtext import db_json, db_text
    from smartlayer.request.client import Client
    from smartlayer.request.context import RequestContext, log_row
    from smartlayer.request.decision import Action, Decision

    def context(refused: bool) -> RequestContext:
        ctx = RequestContext(client=Client("ip:203.0.113.9", "203.0.113.9", None, False), method="GET",
                             path="/products/12345/reviews", user_agent=UA, started=time.time(),
                             t0=time.perf_counter())
        if refused:
            ctx.add(Decision(Action.BLOCK, "validator", reason="payload:sqli", reasons=["sqli:union", "sqli:comment"],
                             details={"payload_score": 9, "payload_hits": ["sqli:union", "sqli:comment"],
                                      "rule_score": 3, "rules": ["burst", "sequential_ids"]}))
        return ctx

    benign, refused = context(False), context(True)
    details = log_row(refused, 403, 1.0)["details"]
    path = benign.path

    def best(fn) -> float:
        return min(timeit.repeat(fn, number=args.number, repeat=5)) / args.number * 1e6

    print(f"log_row, benign request      {best(lambda: log_row(benign, 200, 1.0)):7.2f} µs")
    print(f"log_row, refused request     {best(lambda: log_row(refused, 403, 1.0)):7.2f} µs")
    print(f"db_text, ordinary path       {best(lambda: db_text(path, 500)):7.2f} µs")
    print(f"db_json, refused's details   {best(lambda: db_json(details)):7.2f} µs")
    print(f"json.dumps, same details     {best(lambda: json.dumps(details)):7.2f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
