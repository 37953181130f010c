"""Small inline SVG charts for the admin (no matplotlib on the server path).

The admin shows a model version's score histogram and its per-feature
training medians.  Those are a few dozen rectangles: generating the SVG text
directly costs microseconds, needs no plotting library in the web process,
and renders crisply at any zoom.  Every text that reaches the markup is
escaped; numbers are formatted by us.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

FONT = 'font-family="system-ui,-apple-system,sans-serif" font-size="11"'
BAR_COLOUR = "#417690"  # the admin's own blue
ACCENT = "#ba2121"      # the admin's delete red, for the threshold
MUTED = "#666"
_FONT, _BAR, _ACCENT, _MUTED = FONT, BAR_COLOUR, ACCENT, MUTED
_CHAR_W = 6.6  # px per character of the 11 px sans-serif above, generously: labels must not be clipped


def _open(width: int, height: int, title: str, fallback: str, *, title_x: float) -> list[str]:
    """The opening of a chart: the svg element, the visible title, the accessible one."""
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" {_FONT}>']
    if title:
        parts.append(f'<text x="{title_x}" y="14" font-weight="bold">{escape(title)}</text>')
    parts.append(f'<title>{escape(title or fallback)}</title>')
    return parts


def _num(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".") if v == v else "nan"


def histogram_svg(edges: Sequence[float], counts: Sequence[int], *, threshold: float | None = None,
                  width: int = 560, height: int = 200, title: str = "",
                  xlabel: str = "anomaly score (higher = more anomalous)", ylabel: str = "",
                  integer: bool = False) -> str:
    """Bars of ``counts`` over bins ``edges`` (len(edges) == len(counts) + 1),
    trimmed to the bins that hold data, with an optional threshold marker.

    ``integer``: the values are whole numbers and each bin holds one of them
    (edges at k ± 0.5) — ticks then sit under the bars, on whole numbers only.
    ``ylabel`` names what the bars count (e.g. "clients").
    """
    counts = [int(c) for c in counts]
    edges = [float(e) for e in edges]
    if len(edges) != len(counts) + 1 or not counts:
        return _empty(width, height, "no histogram")
    nonzero = [i for i, c in enumerate(counts) if c > 0]
    if not nonzero:
        return _empty(width, height, "no scores")
    lo, hi = max(0, nonzero[0] - 1), min(len(counts), nonzero[-1] + 2)
    if threshold is not None:  # keep the threshold in view
        while lo > 0 and edges[lo] > threshold:
            lo -= 1
        while hi < len(counts) and edges[hi] < threshold:
            hi += 1
    counts, edges = counts[lo:hi], edges[lo:hi + 1]
    left, right, top, bottom = 44 if not ylabel else 56, 24, 22 if title else 10, 30  # room for the last tick's label
    pw, ph = width - left - right, height - top - bottom
    peak = max(counts)
    x0, x1 = edges[0], edges[-1]
    span = (x1 - x0) or 1.0

    def x(v: float) -> float:
        return left + (v - x0) / span * pw

    parts = _open(width, height, title, "histogram", title_x=left)
    for i, c in enumerate(counts):
        if not c:
            continue
        bh = c / peak * ph
        bx = x(edges[i])
        bw = max(1.0, x(edges[i + 1]) - bx - 1)
        parts.append(f'<rect x="{bx:.1f}" y="{top + ph - bh:.1f}" width="{bw:.1f}" height="{bh:.1f}" '
                     f'fill="{_BAR}"><title>{_num(edges[i])}–{_num(edges[i + 1])}: {c}</title></rect>')
        if integer and len(counts) <= 24 and c != peak:  # a bar of 1 beside one of 175 must still be seen
            parts.append(f'<text x="{bx + bw / 2:.1f}" y="{top + ph - bh - 3:.1f}" text-anchor="middle" '
                         f'font-size="10">{c}</text>')
    base = top + ph
    parts.append(f'<line x1="{left}" y1="{base}" x2="{left + pw}" y2="{base}" stroke="{_MUTED}"/>')
    if integer:
        first, last = math.ceil(x0), math.floor(x1)
        step = max(1, math.ceil((last - first + 1) / 12))
        ticks = [float(v) for v in range(first, last + 1, step)]
    else:
        ticks = [x0 + span * k / 4 for k in range(5)]
    for v in ticks:
        label = str(int(v)) if integer else _num(v)
        parts.append(f'<text x="{x(v):.1f}" y="{base + 14}" text-anchor="middle" fill="{_MUTED}">{label}</text>')
    parts.append(f'<text x="{left - 4}" y="{top + 8}" text-anchor="end" fill="{_MUTED}">{peak}</text>')
    parts.append(f'<text x="{left - 4}" y="{base}" text-anchor="end" fill="{_MUTED}">0</text>')
    if ylabel:
        mid = top + ph / 2
        parts.append(f'<text x="12" y="{mid:.1f}" text-anchor="middle" fill="{_MUTED}" '
                     f'transform="rotate(-90 12 {mid:.1f})">{escape(ylabel)}</text>')
    parts.append(f'<text x="{left + pw / 2:.1f}" y="{height - 2}" text-anchor="middle" fill="{_MUTED}">'
                 f'{escape(xlabel)}</text>')
    if threshold is not None and x0 <= threshold <= x1:
        tx = x(threshold)
        parts.append(f'<line x1="{tx:.1f}" y1="{top}" x2="{tx:.1f}" y2="{base}" stroke="{_ACCENT}" '
                     'stroke-width="2" stroke-dasharray="4 3"/>')
        right_side = threshold < x0 + span * 0.75
        anchor, dx = ("start", 4) if right_side else ("end", -4)
        parts.append(f'<text x="{tx + dx:.1f}" y="{top + 10}" text-anchor="{anchor}" fill="{_ACCENT}">'
                     f'threshold {_num(threshold)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bars_svg(labels: Sequence[str], values: Sequence[float], *, width: int = 560, bar_height: int = 16,
             title: str = "", notes: Sequence[str] | None = None, log_scale: bool = False) -> str:
    """Horizontal bars, one per label (negative values grow left of the axis).

    ``notes`` (optional, one per label) are printed after the value, e.g. the IQR.
    ``log_scale``: bar lengths on log10(1 + |v|), for values of different units
    and sizes side by side (request counts next to shares): on a linear axis
    one large value leaves every other bar a pixel wide.  The printed numbers
    stay the values themselves.  Label and value columns are as wide as their
    longest text, so nothing is clipped.
    """
    values = [float(v) for v in values]
    if not labels or len(labels) != len(values):
        return _empty(width, 40, "no data")
    texts = [_num(v) + (f" ({notes[i]})" if notes and i < len(notes) and notes[i] else "")
             for i, v in enumerate(values)]
    label_w = 10 + _CHAR_W * max(len(str(lab)) for lab in labels)
    text_w = 10 + _CHAR_W * max(len(t) for t in texts)
    top = 22 if title else 6
    axis_h = 16 if log_scale else 0
    height = top + bar_height * len(labels) + 6 + axis_h
    width = max(width, int(label_w + text_w + 120))
    pw = width - label_w - text_w

    def scaled(v: float) -> float:
        if not log_scale:
            return v
        return math.copysign(math.log10(1.0 + abs(v)), v) if v == v else 0.0

    lo, hi = min(0.0, *map(scaled, values)), max(0.0, *map(scaled, values))
    span = (hi - lo) or 1.0

    def x(v: float) -> float:
        return label_w + (scaled(v) - lo) / span * pw

    parts = _open(width, height, title, "bars", title_x=4)
    zero = x(0.0)
    for i, (lab, v) in enumerate(zip(labels, values, strict=True)):
        y = top + i * bar_height
        a, b = sorted((zero, x(v)))
        parts.append(f'<text x="{label_w - 6:.0f}" y="{y + bar_height - 4}" text-anchor="end">'
                     f'{escape(str(lab))}</text>')
        if v:  # a zero has no bar: the axis and the printed 0 say it
            parts.append(f'<rect x="{a:.1f}" y="{y + 2}" width="{max(1.5, b - a):.1f}" height="{bar_height - 4}" '
                         f'fill="{_BAR}"/>')
        parts.append(f'<text x="{label_w + pw + 6:.0f}" y="{y + bar_height - 4}" fill="{_MUTED}">'
                     f'{escape(texts[i])}</text>')
    bottom = top + bar_height * len(labels) + 2
    parts.append(f'<line x1="{zero:.1f}" y1="{top}" x2="{zero:.1f}" y2="{bottom}" stroke="{_MUTED}"/>')
    if log_scale and hi > 0:
        for tick in [0.0] + [10.0 ** k for k in range(0, 12) if scaled(10.0 ** k) <= hi + 1e-9]:
            tx, label = x(tick), f"{tick:g}"
            parts.append(f'<line x1="{tx:.1f}" y1="{bottom}" x2="{tx:.1f}" y2="{bottom + 3}" stroke="{_MUTED}"/>')
            parts.append(f'<text x="{tx:.1f}" y="{bottom + 13}" text-anchor="middle" fill="{_MUTED}">{label}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _empty(width: int, height: int, text: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" {_FONT}>'
            f'<text x="8" y="{height // 2}" fill="{_MUTED}">{escape(text)}</text></svg>')
