"""The detection report of a replay: a printed summary, and on disk a Markdown
report with pictures (SVG) plus a machine-readable per-client file.

Pictures are SVG written by hand — no plotting library on a server."""
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


# ── pictures ────────────────────────────────────────────────────────────────
def histogram_svg(series: dict[str, list[float]], *, threshold: float | None = None, bins: int = 30,
                  title: str = "", xlabel: str = "") -> str:
    """Overlaid histograms (share of each series per bin) with an optional threshold line."""
    values = [v for vs in series.values() for v in vs]
    width, height, pad = 640, 300, 40
    if not values:
        return f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="60"><text x="10" y="30">' \
               f'{title}: no data</text></svg>'
    lo, hi = min(values), max(values)
    if threshold is not None:
        lo, hi = min(lo, threshold), max(hi, threshold)
    if hi == lo:
        hi = lo + 1.0
    step = (hi - lo) / bins
    colours = ["#3b7dd8", "#d8553b", "#3bd87d", "#9b59b6"]
    shares = {}
    for name, vs in series.items():
        counts = [0] * bins
        for v in vs:
            counts[min(bins - 1, int((v - lo) / step))] += 1
        shares[name] = [c / len(vs) if vs else 0.0 for c in counts]
    top = max(max(s) for s in shares.values()) or 1.0
    plot_w, plot_h = width - 2 * pad, height - 2 * pad
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
             f'font-size="11">', f'<text x="{pad}" y="20" font-size="13">{title}</text>',
             f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#333"/>']
    bar_w = plot_w / bins
    for i, (name, s) in enumerate(shares.items()):
        colour = colours[i % len(colours)]
        for b, share in enumerate(s):
            if share <= 0:
                continue
            h = plot_h * share / top
            parts.append(f'<rect x="{pad + b * bar_w:.1f}" y="{height - pad - h:.1f}" width="{bar_w:.1f}" '
                         f'height="{h:.1f}" fill="{colour}" fill-opacity="0.55"/>')
        parts.append(f'<rect x="{width - pad - 150}" y="{30 + 16 * i}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{width - pad - 135}" y="{39 + 16 * i}">{name} ({len(series[name])})</text>')
    if threshold is not None:
        x = pad + plot_w * (threshold - lo) / (hi - lo)
        parts.append(f'<line x1="{x:.1f}" y1="{pad}" x2="{x:.1f}" y2="{height - pad}" stroke="#000" '
                     f'stroke-dasharray="4 3"/><text x="{x + 4:.1f}" y="{pad + 10}">threshold {threshold:.3f}</text>')
    parts.append(f'<text x="{pad}" y="{height - 12}">{lo:.3g}</text>'
                 f'<text x="{width - pad - 30}" y="{height - 12}">{hi:.3g}</text>'
                 f'<text x="{width / 2 - 40:.0f}" y="{height - 12}">{xlabel}</text></svg>')
    return "\n".join(parts)


def bars_svg(rows: list[tuple[str, float]], *, title: str, unit: str = "") -> str:
    """Horizontal bars, one per label."""
    width, row_h, pad = 640, 22, 170
    height = 40 + row_h * max(1, len(rows))
    top = max((v for _, v in rows), default=1.0) or 1.0
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
             f'font-size="11"><text x="10" y="20" font-size="13">{title}</text>']
    for i, (name, value) in enumerate(rows):
        y = 32 + i * row_h
        w = (width - pad - 60) * value / top
        parts.append(f'<text x="10" y="{y + 13}">{name}</text><rect x="{pad}" y="{y}" width="{w:.1f}" '
                     f'height="{row_h - 6}" fill="#3b7dd8"/><text x="{pad + w + 4:.1f}" y="{y + 13}">'
                     f'{value:g}{unit}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


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
    benign = [c.max_model_score for c in result.clients.values()
              if c.max_model_score is not None and (c.label or "human") in BENIGN_LABELS]
    hostile = [c.max_model_score for c in result.clients.values()
               if c.max_model_score is not None and c.label and c.label not in BENIGN_LABELS]
    if threshold is None:
        from .detector import _active_model

        model = _active_model() if result.model_version else None
        threshold = getattr(model, "threshold", None)
    pictures = []
    if benign or hostile:
        (out_dir / "model_scores.svg").write_text(histogram_svg(
            {"benign clients": benign, "hostile clients": hostile}, threshold=threshold,
            title="Highest anomaly score per client", xlabel="anomaly score (higher = more anomalous)"))
        pictures.append(("Anomaly scores of benign and hostile clients", "model_scores.svg"))
    table = result.scenario_table()
    hostile_rows = [(r["scenario"], float(r["median_before_block"])) for r in table
                    if not r["benign"] and r["median_before_block"] is not None]
    if hostile_rows:
        (out_dir / "time_to_block.svg").write_text(bars_svg(
            hostile_rows, title="Requests let through before the first block (median per scenario)"))
        pictures.append(("Time to first block", "time_to_block.svg"))
    rules = [c.max_rule_score for c in result.clients.values()]
    if rules:
        (out_dir / "rule_scores.svg").write_text(histogram_svg(
            {"benign clients": [c.max_rule_score for c in result.clients.values()
                                if (c.label or "human") in BENIGN_LABELS],
             "hostile clients": [c.max_rule_score for c in result.clients.values()
                                 if c.label and c.label not in BENIGN_LABELS]},
            bins=16, title="Highest rule score per client", xlabel="rule score"))
        pictures.append(("Rule scores", "rule_scores.svg"))

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
