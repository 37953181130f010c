"""Read-only tables for the admin: figures as rows an operator reads, not JSON.

A model version's metrics and parameters and a daily report's figures are
nested dicts; shown as JSON they are hard to read and impossible to scan.
Every cell is escaped.
"""
from __future__ import annotations

from typing import Any

from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe


def _format(key: str, value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "—" if value is None else ("yes" if value else "no")
    if isinstance(value, float):
        if key.startswith("share") or key in ("recall", "precision", "false_positive_rate", "fpr", "tpr"):
            return f"{value:.2%}"
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_format(str(k), v)}" for k, v in list(value.items())[:12])
    if isinstance(value, (list, tuple)):
        sep = "; " if any(isinstance(v, dict) for v in value) else ", "
        return sep.join(_format(key, v) for v in value[:30]) + (" …" if len(value) > 30 else "")
    return str(value)


def _is_matrix(value: Any) -> bool:
    """A dict of several dicts (one per label, say): one table with a column per inner key reads better."""
    return (isinstance(value, dict) and len(value) >= 2
            and all(isinstance(v, dict) and v and not any(isinstance(x, dict) for x in v.values())
                    for v in value.values()))


def _is_records(value: Any) -> bool:
    """A list of flat dicts (the top reasons, the busiest endpoints): a table with a row per item."""
    return (isinstance(value, list) and bool(value)
            and all(isinstance(v, dict) and not any(isinstance(x, (dict, list)) for x in v.values()) for v in value))


def _matrix(value: dict[Any, dict[str, Any]], *, index: bool = True) -> str:
    """Rows of ``value`` (named by their key, unless ``index`` is off), a column per inner key."""
    columns: list[str] = []
    for inner in value.values():
        columns.extend(k for k in inner if k not in columns)
    head = format_html_join("", "<th>{}</th>", ((c,) for c in columns))
    cells = (format_html_join("", "<td>{}</td>", ((_format(c, inner.get(c)),) for c in columns))
             for inner in (value[k] for k in sorted(value)))
    names = [format_html("<th>{}</th>", k) if index else "" for k in sorted(value)]
    body = format_html_join("", "<tr>{}{}</tr>", zip(names, cells, strict=True))
    corner = "<th></th>" if index else ""
    return format_html('<table class="sl-matrix"><thead><tr>{}{}</tr></thead><tbody>{}</tbody></table>',
                       mark_safe(corner), head, body)


def key_value_table(data: dict[str, Any], css_class: str) -> str:
    """A nested dict as a two-column table; a nested level is indented under its key."""
    rows: list[str] = []

    def walk(d: dict[str, Any], depth: int) -> None:
        for key in sorted(d):
            value = d[key]
            pad = f"padding-left:{8 + 16 * depth}px"
            if _is_matrix(value) or _is_records(value):
                table = _matrix(value) if isinstance(value, dict) else _matrix(dict(enumerate(value, 1)), index=False)
                rows.append(format_html('<tr><th style="{}" colspan="2">{}</th></tr>', pad, key))
                rows.append(format_html('<tr><td colspan="2" style="{}">{}</td></tr>', pad, table))
            elif isinstance(value, dict) and depth < 3:
                rows.append(format_html('<tr><th style="{}" colspan="2">{}</th></tr>', pad, key))
                walk(value, depth + 1)
            else:
                rows.append(format_html('<tr><th style="{}">{}</th><td>{}</td></tr>', pad, key,
                                        _format(str(key), value)))

    walk(data, 0)
    if not rows:
        return "—"
    return mark_safe(f'<table class="{css_class}" style="width:auto">{"".join(rows)}</table>')  # cells escaped

