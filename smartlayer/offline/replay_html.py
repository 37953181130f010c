"""The replay's report as one HTML page: open it from disk, mail it, archive it.

Self-contained on purpose — the charts are inline SVG from
:mod:`smartlayer.ml.plots`, the style a few lines in the page; no script, no
font, no CDN, nothing fetched.  Every text that comes from the log (client
keys, labels, reasons) is escaped.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from html import escape
from typing import Any

from .replay import ReplayResult, iso

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,sans-serif;color:#222;max-width:1100px;margin:24px auto;padding:0 16px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0}th,td{padding:3px 10px;border-bottom:1px solid #eee;text-align:left}
th{background:#f4f6f8}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
tr.total td{font-weight:bold;border-top:2px solid #ccc}code{font-size:13px}
p.note{color:#555;max-width:760px}figure{margin:12px 0 20px}figcaption{font-weight:bold;margin-bottom:4px}
ul.facts{padding-left:18px}
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


def _table(head: Sequence[str], rows: Sequence[Sequence[Any]], numeric: set[int], total: Sequence[Any] | None = None
           ) -> str:
    def cells(values: Sequence[Any], tag: str) -> str:
        return "".join(f'<{tag}{" class=n" if i in numeric else ""}>{_e(v)}</{tag}>' for i, v in enumerate(values))

    out = ["<table><thead><tr>", cells(head, "th"), "</tr></thead><tbody>"]
    out += [f"<tr>{cells(r, 'td')}</tr>" for r in rows]
    if total is not None:
        out.append(f'<tr class="total">{cells(total, "td")}</tr>')
    out.append("</tbody></table>")
    return "".join(out)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def render_html(result: ReplayResult, charts: Sequence[Any], *, title: str, listed: int = 500) -> str:
    refused = result.refused_clients()
    when = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    span = f"{iso(result.started)} → {iso(result.ended)}" if result.started is not None else "unknown"
    parts = [f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{_e(title)}</title>",
             f"<meta name=viewport content='width=device-width,initial-scale=1'><style>{_STYLE}</style></head><body>",
             f"<h1>{_e(title)}</h1>",
             f"<p>Written {_e(when)}. Log span {_e(span)}. All times are UTC (ISO 8601).</p>",
             "<ul class=facts>",
             f"<li>lines {result.lines:,}: replayed {result.replayed:,}, malformed {result.malformed:,}</li>",
             f"<li>model: {_e(result.model_version or 'none (rules and payload checks only)')}</li>",
             f"<li>clients {len(result.clients):,}, refused at least once {len(refused):,}</li></ul>"]
    table = result.scenario_table()
    if table:
        parts.append("<h2>Per scenario</h2>")
        parts.append(_table(
            ["scenario", "clients", "requests", "caught", "recall", "FP rate", "median requests before block",
             "let through"],
            [[r["scenario"], f"{r['clients']:,}", f"{r['requests']:,}", f"{r['caught']:,}", _pct(r["recall"]),
              _pct(r["fp_rate"]), "—" if r["median_before_block"] is None else f"{r['median_before_block']:g}",
              f"{r['let_through']:,}"] for r in table],
            numeric={1, 2, 3, 4, 5, 6, 7}))
        parts.append(f"<p class=note>Precision (refused clients that were hostile): {_pct(result.precision())}. "
                     "A hostile client is caught when at least one of its requests was refused; the FP rate is the "
                     "share of benign clients refused at least once.</p>")
    parts.append("<h2>Decisions per component</h2>")
    parts.append(f"<p class=note>The deciding decision of each line, so the counts add up to the "
                 f"{result.replayed:,} lines replayed. <code>exempt</code>: an exempt path or allow-listed address, "
                 "never inspected; <code>none</code>: no component had anything to say.</p>")
    parts.append(_table(["component", "action", "lines"],
                        [[c, a, f"{n:,}"] for (c, a), n in result.outcome_rows()], numeric={2},
                        total=["total", "", f"{sum(result.outcomes.values()):,}"]))
    parts.append(f"<h2>Refused clients ({len(refused):,})</h2>")
    if refused:
        parts.append(_table(
            ["client", "label", "requests", "refused", "first refused at", "first refused", "final action",
             "reasons"],
            [[c.client, c.label or "", f"{c.requests:,}", f"{c.blocked_requests:,}", f"#{c.first_blocked_index}",
              iso(c.first_blocked_at), c.final_action,
              ", ".join(f"{r} ×{n}" for r, n in c.reasons.most_common(3))] for c in refused[:listed]],
            numeric={2, 3, 4}))
        if len(refused) > listed:
            parts.append(f"<p class=note>{len(refused) - listed:,} more in <code>clients.csv</code>.</p>")
    else:
        parts.append("<p>No client was refused.</p>")
    for chart in charts:
        parts.append(f"<h2>{_e(chart.caption)}</h2><figure>{chart.svg}"
                     f"<p class=note>{_e(chart.note)}</p></figure>")
    parts.append("<h2>Files</h2><p><code>clients.csv</code>, <code>clients.jsonl</code>: one row per client — "
                 "requests, first refusal (index and ISO time), final action, highest rule / model / payload "
                 "scores, label. <code>report.md</code>: this report in Markdown, with the pictures as SVG files."
                 "</p></body></html>")
    return "\n".join(parts)
