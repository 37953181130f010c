"""The detection report of a replay: a printed summary, and on disk a Markdown
report with pictures (SVG) plus a machine-readable per-client file.

Pictures are SVG from :mod:`smartlayer.ml.plots` — no plotting library on a server."""
from __future__ import annotations

import csv
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from .replay import BENIGN_LABELS, ReplayResult

CLIENT_FIELDS = ["client", "label", "requests", "first_blocked_index", "first_blocked_at", "blocked_requests",
                 "final_action", "max_rule_score", "max_model_score", "max_payload_score", "reasons"]


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _num(value: Any) -> str:
    if value is None:
        return "—"
    return f"{value:g}" if isinstance(value, float) else str(value)


def table_lines(result: ReplayResult) -> list[str]:
    """The per-scenario table as aligned text lines."""
    head = f"{'scenario':<22}{'clients':>8}{'requests':>10}{'caught':>8}{'recall':>8}{'FP rate':>9}" \
           f"{'median before block':>21}{'let through':>12}"
    lines = [head, "-" * len(head)]
    for row in result.scenario_table():
        lines.append(
            f"{row['scenario']:<22}{row['clients']:>8}{row['requests']:>10}{row['caught']:>8}"
            f"{_pct(row['recall']):>8}{_pct(row['fp_rate']):>9}{_num(row['median_before_block']):>21}"
            f"{row['let_through']:>12}")
    return lines


def print_summary(result: ReplayResult, out: IO[str], *, seconds: float, top: int = 15) -> None:
    rate = result.replayed / seconds if seconds > 0 else 0.0
    out.write(f"lines: {result.lines:,}  replayed: {result.replayed:,}  malformed: {result.malformed:,}  "
              f"in {seconds:.1f} s ({rate:,.0f} lines/s)\n")
    for err in result.first_errors:
        out.write(f"  malformed: {err}\n")
    out.write(f"model: {result.model_version or 'none (rules and payload checks only)'}\n")
    out.write("\ndecisions per component:\n")
    for (component, action), n in sorted(result.decisions.items()):
        out.write(f"  {component:<10} {action:<9} {n:>9,}\n")
    refused = sorted((c for c in result.clients.values() if c.caught), key=lambda c: -c.blocked_requests)
    out.write(f"\nclients: {len(result.clients):,}, refused at least once: {len(refused):,}\n")
    for c in refused[:top]:
        out.write(f"  {c.client:<28} {c.label or '':<20} {c.requests:>6} req, first refused at #"
                  f"{c.first_blocked_index}, {c.final_action}: {', '.join(c.reasons)}\n")
    if result.by_label():
        out.write("\nper scenario (clients):\n")
        for line in table_lines(result):
            out.write(line + "\n")
        out.write(f"precision (refused clients that were hostile): {_pct(result.precision())}\n")


# ── pictures (drawn by the one SVG chart module, which escapes every text) ──
def _shared_histograms(series: dict[str, list[float]], *, bins: int = 30, threshold: float | None = None,
                       title: str) -> dict[str, str]:
    """One histogram per series over the same bins, so they compare at a glance."""
    from ..ml.plots import histogram_svg

    values = [v for vs in series.values() for v in vs]
    if threshold is not None:
        values.append(threshold)
    lo, hi = min(values), max(values)
    if hi == lo:
        hi = lo + 1.0
    step = (hi - lo) / bins
    edges = [lo + i * step for i in range(bins + 1)]
    charts = {}
    for name, vs in series.items():
        counts = [0] * bins
        for v in vs:
            counts[min(bins - 1, int((v - lo) / step))] += 1
        charts[name] = histogram_svg(edges, counts, threshold=threshold, title=f"{title}: {name} ({len(vs)})")
    return charts


def _write_pictures(result: ReplayResult, out_dir: Path, threshold: float | None) -> list[tuple[str, str]]:
    from ..ml.plots import bars_svg

    pictures = []
    clients = list(result.clients.values())
    groups = {
        "benign clients": [c for c in clients if (c.label or "human") in BENIGN_LABELS],
        "hostile clients": [c for c in clients if c.label and c.label not in BENIGN_LABELS],
    }
    model = {k: [c.max_model_score for c in g if c.max_model_score is not None] for k, g in groups.items()}
    if any(model.values()):
        for name, svg in _shared_histograms({k: v for k, v in model.items() if v}, threshold=threshold,
                                            title="highest anomaly score per client").items():
            file = f"model_scores_{name.split()[0]}.svg"
            (out_dir / file).write_text(svg)
            pictures.append((f"Anomaly scores, {name} (higher = more anomalous)", file))
    rules = {k: [float(c.max_rule_score) for c in g] for k, g in groups.items()}
    if any(rules.values()):
        for name, svg in _shared_histograms({k: v for k, v in rules.items() if v}, bins=16,
                                            title="highest rule score per client").items():
            file = f"rule_scores_{name.split()[0]}.svg"
            (out_dir / file).write_text(svg)
            pictures.append((f"Rule scores, {name}", file))
    rows = [(r["scenario"], float(r["median_before_block"])) for r in result.scenario_table()
            if not r["benign"] and r["median_before_block"] is not None]
    if rows:
        (out_dir / "time_to_block.svg").write_text(bars_svg(
            [name for name, _ in rows], [v for _, v in rows],
            title="requests let through before the first block (median per scenario)"))
        pictures.append(("Time to first block", "time_to_block.svg"))
    return pictures


# ── files ───────────────────────────────────────────────────────────────────
def write_clients(result: ReplayResult, out_dir: Path) -> None:
    rows = [c.as_row() for c in result.clients.values()]
    with (out_dir / "clients.csv").open("w", newline="") as fp:
        writer = csv.DictWriter(fp, fieldnames=CLIENT_FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k) for k in CLIENT_FIELDS})
    with (out_dir / "clients.jsonl").open("w") as fp:
        for row in rows:
            fp.write(json.dumps({k: row.get(k) for k in CLIENT_FIELDS}) + "\n")


def write_report(result: ReplayResult, out_dir: Path, *, title: str = "Replay",
                 threshold: float | None = None) -> Path:
    """Write report.md, the pictures and the per-client files; returns the report's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    write_clients(result, out_dir)
    if threshold is None and result.model_version:
        from ..detectors.behaviour.detector import _active_model

        threshold = getattr(_active_model(), "threshold", None)
    pictures = _write_pictures(result, out_dir, threshold)
    table = result.scenario_table()

    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    span = ""
    if result.started is not None and result.ended is not None:
        fmt = "%Y-%m-%d %H:%M"
        span = (f"{datetime.fromtimestamp(result.started, timezone.utc).strftime(fmt)} → "
                f"{datetime.fromtimestamp(result.ended, timezone.utc).strftime(fmt)} UTC")
    md = [f"# {title}", "", f"Written {when}. Log span: {span or 'unknown'}.", "",
          f"* lines: {result.lines:,}, replayed: {result.replayed:,}, malformed: {result.malformed:,}",
          f"* model: {result.model_version or 'none (rules and payload checks only)'}",
          f"* clients: {len(result.clients):,}, refused at least once: "
          f"{sum(1 for c in result.clients.values() if c.caught):,}", ""]
    if table:
        md += ["## Per scenario", "",
               "| scenario | clients | requests | caught | recall | FP rate | median requests before block | let through |",
               "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for r in table:
            md.append(f"| {r['scenario']} | {r['clients']} | {r['requests']} | {r['caught']} | {_pct(r['recall'])} | "
                      f"{_pct(r['fp_rate'])} | {_num(r['median_before_block'])} | {r['let_through']} |")
        md += ["", f"Precision (refused clients that were hostile): {_pct(result.precision())}.", "",
               "Recall counts a hostile client as caught when at least one of its requests was refused; "
               "FP rate is the share of benign clients refused at least once.", ""]
    md += ["## Decisions per component", "", "| component | action | count |", "|---|---|---:|"]
    md += [f"| {c} | {a} | {n:,} |" for (c, a), n in sorted(result.decisions.items())]
    md.append("")
    for caption, name in pictures:
        md += [f"## {caption}", "", f"![{caption}]({name})", ""]
    md += ["## Files", "", "* `clients.csv`, `clients.jsonl` — one row per client: requests, first refusal "
           "(index and time), final action, highest rule / model / payload scores, label.", ""]
    path = out_dir / "report.md"
    path.write_text("\n".join(md))
    return path
