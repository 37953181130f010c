"""Time charts for the overview page: counts per hour, as inline SVG.

Like :mod:`smartlayer.ml.plots`: a few hundred rectangles written as text —
no plotting library in the web process, no script, no CDN.  Stacked bars,
integer ticks on a "nice" scale (1, 2, 5 × 10ⁿ), hour or day labels that never
overlap, a legend, and a tooltip per bar.  Every text is escaped.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from html import escape

from ..ml.plots import BAR_COLOUR, FONT, MUTED

#: Colours for stacked series (the admin's blue first; distinguishable in grey scale too).
PALETTE = (BAR_COLOUR, "#ba2121", "#e0a030", "#5b8c3a", "#7a5ba6", "#999999")


def nice_ticks(peak: float, count: int = 4) -> list[int]:
    """Integer ticks from 0 up to at least ``peak``, on a 1-2-5 step."""
    if peak <= 0:
        return [0, 1]
    raw = peak / count
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next((m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw), 10 * magnitude)
    step = max(1, int(step))
    top = int(math.ceil(peak / step) * step)
    return list(range(0, top + 1, step))


def timeline_svg(hours: Sequence[datetime], series: Sequence[tuple[str, Sequence[int]]], *, title: str,
                 width: int = 1000, height: int = 220, colours: Sequence[str] = PALETTE) -> str:
    """Stacked bars, one per hour in ``hours``; ``series`` is ``[(label, counts per hour), …]``."""
    n = len(hours)
    if not n or not series:
        return _empty(width, 60, "no requests in this period")
    totals = [sum(int(values[i]) for _, values in series) for i in range(n)]
    ticks = nice_ticks(max(totals))
    top_value = ticks[-1]
    left, right, top, bottom = 48, 12, 40, 34
    pw, ph = width - left - right, height - top - bottom
    slot = pw / n
    gap = 1.0 if slot >= 4 else 0.0

    def y(v: float) -> float:
        return top + ph - v / top_value * ph

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" {FONT}>',
             f'<title>{escape(title)}</title>',
             f'<text x="{left}" y="14" font-weight="bold">{escape(title)}</text>']
    # legend, right-aligned on the title line
    lx = width - right
    for k in range(len(series) - 1, -1, -1):
        label = series[k][0]
        text_w = 7 * len(label) + 4
        lx -= text_w
        parts.append(f'<text x="{lx:.0f}" y="30">{escape(label)}</text>')
        lx -= 14
        parts.append(f'<rect x="{lx:.0f}" y="21" width="10" height="10" fill="{colours[k % len(colours)]}"/>')
        lx -= 10
    for t in ticks:
        ty = y(t)
        parts.append(f'<line x1="{left}" y1="{ty:.1f}" x2="{left + pw}" y2="{ty:.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end" fill="{MUTED}">{t}</text>')
    for i, hour in enumerate(hours):
        base = 0
        x = left + i * slot
        tip = [f"{hour:%Y-%m-%d %H:00}"]
        for k, (label, values) in enumerate(series):
            v = int(values[i])
            tip.append(f"{label}: {v}")
            if v <= 0:
                continue
            y0, y1 = y(base + v), y(base)
            h = max(1.0, y1 - y0)  # a single request stays visible
            parts.append(f'<rect x="{x + gap / 2:.1f}" y="{y1 - h:.1f}" width="{max(1.0, slot - gap):.1f}" '
                         f'height="{h:.1f}" fill="{colours[k % len(colours)]}"/>')
            base += v
        # one invisible full-height bar per hour carries the tooltip
        parts.append(f'<rect x="{x:.1f}" y="{top}" width="{slot:.1f}" height="{ph}" fill="transparent">'
                     f'<title>{escape(", ".join(tip))}</title></rect>')
    axis_y = top + ph
    parts.append(f'<line x1="{left}" y1="{axis_y}" x2="{left + pw}" y2="{axis_y}" stroke="{MUTED}"/>')
    parts.extend(_time_labels(hours, left, slot, axis_y))
    parts.append("</svg>")
    return "".join(parts)


def panels_svg(hours: Sequence[datetime], series: Sequence[tuple[str, Sequence[int]]], *, title: str,
               width: int = 1000, panel_height: int = 64, colours: Sequence[str] = PALETTE) -> str:
    """One band of bars per series, each on its own scale (its peak printed at its left).

    Stacked, a component with 3 500 refusals leaves one with 70 a sliver no
    one sees; side by side on their own scales, both show when they happened.
    """
    n = len(hours)
    if not n or not series:
        return _empty(width, 60, "nothing refused in this period")
    left, right, top, gap, bottom = 120, 12, 24, 8, 24
    pw = width - left - right
    height = top + len(series) * (panel_height + gap) + bottom
    slot = pw / n
    bar_gap = 1.0 if slot >= 4 else 0.0
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" {FONT}>',
             f'<title>{escape(title)}</title>',
             f'<text x="4" y="14" font-weight="bold">{escape(title)}</text>']
    for k, (label, values) in enumerate(series):
        y0 = top + k * (panel_height + gap)
        base = y0 + panel_height
        colour = colours[k % len(colours)]
        counts = [int(v) for v in values]
        peak = max(counts) or 1
        total = sum(counts)
        parts.append(f'<rect x="{left - 112}" y="{y0 + 6}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{left - 98}" y="{y0 + 15}">{escape(label)}</text>')
        parts.append(f'<text x="{left - 98}" y="{y0 + 29}" fill="{MUTED}">{total} in all</text>')
        parts.append(f'<text x="{left - 6}" y="{y0 + 9}" text-anchor="end" fill="{MUTED}">{peak}/h</text>')
        parts.append(f'<line x1="{left}" y1="{y0}" x2="{left + pw}" y2="{y0}" stroke="#eee"/>')
        for i, v in enumerate(counts):
            if v <= 0:
                continue
            h = max(1.5, v / peak * (panel_height - 4))
            parts.append(f'<rect x="{left + i * slot + bar_gap / 2:.1f}" y="{base - h:.1f}" '
                         f'width="{max(1.0, slot - bar_gap):.1f}" height="{h:.1f}" fill="{colour}">'
                         f'<title>{escape(f"{hours[i]:%Y-%m-%d %H:00}, {label}: {v}")}</title></rect>')
        parts.append(f'<line x1="{left}" y1="{base}" x2="{left + pw}" y2="{base}" stroke="{MUTED}"/>')
    axis_y = top + len(series) * (panel_height + gap) - gap
    parts.extend(_time_labels(hours, left, slot, axis_y))
    parts.append("</svg>")
    return "".join(parts)


def _time_labels(hours: Sequence[datetime], left: float, slot: float, axis_y: float) -> list[str]:
    """Hour labels (every 3 h) for a day, day labels (at midnight) for longer spans; never overlapping."""
    n = len(hours)
    out: list[str] = []
    if n <= 48:
        every = max(1, math.ceil(40 / slot))
        every = next(s for s in (1, 2, 3, 4, 6, 12, 24) if s >= every)
        marks = [(i, f"{h:%H}:00") for i, h in enumerate(hours) if h.hour % every == 0]
    else:
        marks = [(i, f"{h:%a %d}") for i, h in enumerate(hours) if h.hour == 0]
    for i, text in marks:
        x = left + i * slot
        out.append(f'<line x1="{x:.1f}" y1="{axis_y}" x2="{x:.1f}" y2="{axis_y + 4}" stroke="{MUTED}"/>')
        out.append(f'<text x="{x:.1f}" y="{axis_y + 16}" text-anchor="middle" fill="{MUTED}">{escape(text)}</text>')
    return out


def _empty(width: int, height: int, text: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" {FONT}>'
            f'<text x="8" y="{height // 2}" fill="{MUTED}">{escape(text)}</text></svg>')
