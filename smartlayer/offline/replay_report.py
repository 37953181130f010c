"""The detection report of a replay: a printed summary, and on disk one
self-contained HTML page (:mod:`.replay_html`), a Markdown report with its
pictures (SVG) and a machine-readable per-client file.

Every count adds up: decisions are counted once per line (the deciding one),
so their total is the number of lines replayed; every time is ISO 8601 UTC;
every chart says what it counts and which clients it leaves out.

Pictures are SVG from :mod:`smartlayer.ml.plots` — no plotting library on a server."""
from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import IO, Any

from ..conf import sl_settings
from ..labels import BENIGN_LABELS
from .replay import ReplayResult, iso

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
    out.write(f"\ndecisions per component (the deciding one of each line; {result.replayed:,} lines):\n")
    for (component, action), n in result.outcome_rows():
        out.write(f"  {component:<10} {action:<9} {n:>9,}\n")
    out.write(f"  {'total':<20} {sum(result.outcomes.values()):>9,}\n")
    refused = result.refused_clients()
    out.write(f"\nclients: {len(result.clients):,}, refused at least once: {len(refused):,}\n")
    for c in refused[:top]:
        out.write(f"  {c.client:<28} {c.label or '':<20} {c.requests:>6} req, first refused at #"
                  f"{c.first_blocked_index} ({iso(c.first_blocked_at)}), {c.final_action}: {', '.join(c.reasons)}\n")
    if result.by_label():
        out.write("\nper scenario (clients):\n")
        for line in table_lines(result):
            out.write(line + "\n")
        out.write(f"precision (refused clients that were hostile): {_pct(result.precision())}\n")


# ── pictures (drawn by the one SVG chart module, which escapes every text) ──
def _shared_histograms(series: dict[str, list[float]], *, bins: int = 30, threshold: float | None = None,
                       integer: bool = False, xlabel: str) -> dict[str, str]:
    """One histogram per series over the same bins, so they compare at a glance.

    ``integer`` (rule scores): one bin per whole number, ticks on whole numbers."""
    from ..ml.plots import histogram_svg

    values = [v for vs in series.values() for v in vs]
    if threshold is not None:
        values.append(threshold)
    lo, hi = min(values), max(values)
    if integer:
        lo, hi = math.floor(lo) - 0.5, math.ceil(hi) + 0.5
        bins = int(hi - lo)
    elif hi == lo:
        hi = lo + 1.0
    step = (hi - lo) / bins
    edges = [lo + i * step for i in range(bins + 1)]
    charts = {}
    for name, vs in series.items():
        counts = [0] * bins
        for v in vs:
            counts[min(bins - 1, int((v - lo) / step))] += 1
        charts[name] = histogram_svg(edges, counts, threshold=threshold, integer=integer, xlabel=xlabel,
                                     ylabel="clients", title=f"{name}: {len(vs):,} clients")
    return charts


@dataclass
class Chart:
    caption: str
    file: str
    svg: str
    note: str = ""


def charts(result: ReplayResult, threshold: float | None) -> list[Chart]:
    """The report's pictures, each with the sentence that says what it shows (and what it leaves out)."""
    from ..ml.plots import bars_svg

    out: list[Chart] = []
    clients = list(result.clients.values())
    groups = {
        "benign clients": [c for c in clients if (c.label or "human") in BENIGN_LABELS],
        "hostile clients": [c for c in clients if c.label and c.label not in BENIGN_LABELS],
    }
    grace = int(sl_settings.grey_grace_requests)
    model = {k: [c.max_model_score for c in g if c.max_model_score is not None] for k, g in groups.items()}
    if any(model.values()):
        svgs = _shared_histograms({k: v for k, v in model.items() if v}, threshold=threshold,
                                  xlabel="highest anomaly score of the client (higher = more anomalous)")
        for name, svg in svgs.items():
            members = groups[name]
            unscored = [c for c in members if c.max_model_score is None]
            short = sum(1 for c in unscored if c.requests <= grace)
            note = (f"{len(model[name]):,} of {len(members):,} {name} have a model score. The model scores a client "
                    f"only after its first {grace} requests (the grace period) and while it is not refused: "
                    f"{short:,} sent no more than that, {len(unscored) - short:,} were refused by the rules "
                    "or a ban before the model saw them."
                    + (" The dashed line is the model's threshold." if threshold is not None else ""))
            out.append(Chart(f"Model anomaly scores, {name}", f"model_scores_{name.split()[0]}.svg", svg, note))
    rules = {k: [float(c.max_rule_score) for c in g] for k, g in groups.items()}
    if any(rules.values()):
        hard = int(sl_settings.grey_hard_block_score)
        grey = int(sl_settings.grey_suspicion_threshold)
        svgs = _shared_histograms({k: v for k, v in rules.items() if v}, integer=True,
                                  xlabel="highest rule score of the client (behaviour rules, whole points)")
        for name, svg in svgs.items():
            note = (f"Every {name[:-1]} is counted once, at its highest rule score. From {grey} a client is in the "
                    f"grey zone (recorded, or asked to the LLM), from {hard} a request is blocked. A client's first "
                    f"{grace} requests are not scored (the grace period), so a client that sent no more, or was "
                    "refused by a BLACK rule, a payload or a ban first, stays at 0. Rule scores are points of the "
                    "documented rules, not the model's anomaly score.")
            out.append(Chart(f"Rule scores, {name}", f"rule_scores_{name.split()[0]}.svg", svg, note))
    rows = [(r["scenario"], float(r["median_before_block"])) for r in result.scenario_table()
            if not r["benign"] and r["median_before_block"] is not None]
    if rows:
        svg = bars_svg([name for name, _ in rows], [v for _, v in rows],
                       title="requests let through before the first refusal (median per scenario)")
        out.append(Chart("Time to first refusal", "time_to_block.svg", svg,
                         "For each hostile scenario, the median number of requests its caught clients sent "
                         "before the first one was refused (clients never caught are not in it)."))
    return out


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
    """Write report.html (self-contained), report.md with its SVG files, and the per-client files;
    returns the Markdown report's path."""
    from .replay_html import render_html

    out_dir.mkdir(parents=True, exist_ok=True)
    write_clients(result, out_dir)
    if threshold is None and result.model_version:
        from ..detectors.behaviour.detector import _active_model

        threshold = getattr(_active_model(), "threshold", None)
    pictures = charts(result, threshold)
    for chart in pictures:
        (out_dir / chart.file).write_text(chart.svg)
    (out_dir / "report.html").write_text(render_html(result, pictures, title=title), encoding="utf-8")
    table = result.scenario_table()

    when = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    span = f"{iso(result.started)} → {iso(result.ended)}" if result.started is not None else "unknown"
    refused = result.refused_clients()
    md = [f"# {title}", "", f"Written {when}. Log span: {span}. Times are UTC (ISO 8601).", "",
          f"* lines: {result.lines:,}, replayed: {result.replayed:,}, malformed: {result.malformed:,}",
          f"* model: {result.model_version or 'none (rules and payload checks only)'}",
          f"* clients: {len(result.clients):,}, refused at least once: {len(refused):,}", ""]
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
    md += ["## Decisions per component", "",
           f"The deciding decision of each line, so the counts add up to the {result.replayed:,} lines replayed "
           "(`exempt`: an exempt path or allow-listed address, never inspected; `none`: nothing to say).", "",
           "| component | action | lines |", "|---|---|---:|"]
    md += [f"| {c} | {a} | {n:,} |" for (c, a), n in result.outcome_rows()]
    md += [f"| **total** | | **{sum(result.outcomes.values()):,}** |", ""]
    md += [f"## Refused clients ({len(refused):,})", "",
           "| client | label | requests | refused | first refused at | first refused | final action | reasons |",
           "|---|---|---:|---:|---:|---|---|---|"]
    for c in refused[:REFUSED_LISTED]:
        md.append(f"| `{_md(c.client)}` | {_md(c.label or '')} | {c.requests:,} | {c.blocked_requests:,} | "
                  f"#{c.first_blocked_index} | {iso(c.first_blocked_at)} | {c.final_action} | "
                  f"{_md(', '.join(f'{r} ×{n}' for r, n in c.reasons.most_common(3)))} |")
    if len(refused) > REFUSED_LISTED:
        md.append(f"\n{len(refused) - REFUSED_LISTED:,} more in `clients.csv`.")
    md.append("")
    for chart in pictures:
        md += [f"## {chart.caption}", "", f"![{chart.caption}]({chart.file})", "", chart.note, ""]
    md += ["## Files", "", "* `report.html` — this report as one page, pictures included.",
           "* `clients.csv`, `clients.jsonl` — one row per client: requests, first refusal "
           "(index and ISO time), final action, highest rule / model / payload scores, label.", ""]
    path = out_dir / "report.md"
    path.write_text("\n".join(md))
    return path


#: refused clients listed in the reports (all of them are in clients.csv)
REFUSED_LISTED = 500


def _md(text: str) -> str:
    """Text from the log inside a Markdown table cell: no pipes, no markup."""
    return escape(str(text)).replace("|", "\\|").replace("`", "'")
