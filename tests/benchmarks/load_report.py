"""What ``load.py`` prints after its rounds, and its verdict: the per-round table, refusals and their
reasons, replication, the median ratio against issue 17's target, 5xx and log rows against responses.

Kept apart from ``load.py`` (which starts the servers and drives wrk) so that each stays short.
"""
from __future__ import annotations

import argparse

#: smartlayer's requests/s over bare Django's (issue 17; the wave's first target was 0.6)
TARGET_RATIO = 0.85


def rows_match(run: dict) -> bool:
    """Every answered request has its row.  Under gunicorn nothing is cancelled and
    rows == responses exactly; under ASGI a request whose client left is cancelled
    and has a row (499) only if it had reached smartlayer by then."""
    gone = run["served"].get("cancelled", 0)
    answered = run["responses"] - gone
    return answered <= run["rows"] <= answered + gone


def report(rounds: list[dict], args: argparse.Namespace) -> int:
    """Print the rounds' figures and the verdict; the exit status (0 when every target is met)."""
    print(f"{'round':<6}{'stack':<12}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'wrk reqs':>10}{'responses':>11}"
          f"{'2xx':>9}{'4xx':>6}{'5xx':>6}{'log rows':>10}{'CPU µs/req: workers':>21}{'threads':>9}{'redis':>7}{'pg':>6}{'busiest':>9}")
    for n, results in enumerate(rounds, 1):
        for stack, r in results.items():
            s = r["served"]
            rows = r["rows"] if stack == "smartlayer" else "-"
            print(f"{n:<6}{stack:<12}{r['rps']:>10.0f}{r.get('p50_ms', 0):>9.2f}{r.get('p99_ms', 0):>9.2f}"
                  f"{r['requests']:>10}{r['responses']:>11}{s.get('2xx', 0):>9}{s.get('4xx', 0):>6}"
                  f"{s.get('5xx', 0):>6}{rows:>10}{r['cpu_us']['workers']:>21.0f}{r['cpu_us'].get('threads', 0):>9.0f}"
                  f"{r['cpu_us']['redis']:>7.0f}{r['cpu_us'].get('postgres', 0):>6.0f}{r.get('busiest', 1.0):>9.0%}")
            if r["socket_errors"]:
                print(f"  {stack}: wrk socket errors: {r['socket_errors']}")
            if r["non_2xx_3xx"]:
                print(f"  {stack}: wrk saw {r['non_2xx_3xx']} non-2xx/3xx responses")

    lopsided = [f"{n} {stack}" for n, results in enumerate(rounds, 1) for stack, r in results.items()
                if args.workers > 1 and r.get("busiest", 0) > 0.9]
    if lopsided:
        print(f"one worker used over 90 % of the workers' CPU in: {', '.join(lopsided)} — it accepted nearly "
              f"every connection (an asyncio server accepts all the pending ones in the worker that wakes "
              f"first), so that run measured one worker, not {args.workers}")

    for n, results in enumerate(rounds, 1):
        full = results["smartlayer"]
        pace = f"; mean dwell {args.clients * args.burst / full['rps']:.1f} s between a client's page views" if args.burst else ""
        print(f"\nround {n} smartlayer: {full['served'].get('2xx', 0)} served (2xx, warm-up included); measured "
              f"part: {sum(c for _, c in full['reasons'])} refused; "
              f"{full['past_grace']:.0%} of its inspected requests from clients past the grace period{pace}")
        for reason, count in full["reasons"][:8]:
            print(f"  refused {count:>7}  {reason}")
        m = full["metrics"]
        if m.get("bus.sent"):
            print(f"\nround {n} replication: {m['bus.sent']} window events published, {m.get('bus.received', 0)} "
                  f"merged from the other worker(s), {m.get('bus.dropped', 0)} dropped")
        trouble = {k: v for k, v in m.items() if k.startswith("failure.") or k.endswith("dropped")}
        if any(trouble.values()):
            print(f"round {n}: smartlayer failures/drops in the workers: {trouble}")

    ratios = sorted(r["smartlayer"]["rps"] / r["bare"]["rps"] for r in rounds)
    ratio = ratios[len(ratios) // 2] if len(ratios) % 2 else sum(ratios[len(ratios) // 2 - 1:][:2]) / 2
    five = sum(r["served"].get("5xx", 0) for results in rounds for r in results.values())
    rows_ok = all(rows_match(r["smartlayer"]) for r in rounds)
    if len(rounds) > 1:
        print(f"\nratios per round: {', '.join(f'{x:.2f}' for x in ratios)} (sorted); median {ratio:.2f}")
    print(f"\nratio smartlayer / bare: {ratio:.2f}   (target ≥ {TARGET_RATIO}: {'MET' if ratio >= TARGET_RATIO else 'NOT MET'})")
    print(f"5xx responses: {five}   (target 0: {'MET' if five == 0 else 'NOT MET'})")
    for n, results in enumerate(rounds, 1):
        full = results["smartlayer"]
        label = f"round {n}: " if len(rounds) > 1 else ""
        gone = full["served"].get("cancelled", 0)
        answered = full["responses"] - gone
        if gone:
            detail = (f"RequestLog rows {full['rows']} vs {answered} requests answered + {gone} whose client left "
                      "before the answer (logged as 499 when they had reached smartlayer; cancelled in Django's "
                      "own middleware before it, they never did)")
        else:
            detail = f"RequestLog rows {full['rows']} vs responses sent {full['responses']}"
        print(f"{label}{detail} (wrk counted {full['requests']} in the measured run; the rest are the warm-up "
              f"and requests in flight at wrk's end): {'as it must be' if rows_match(full) else 'ROWS MISSING'}")
        print(f"graceful stop took {full['stop_s']:.1f} s (exit status {full['exit_status']})")
    return 0 if ratio >= TARGET_RATIO and five == 0 and rows_ok else 1

