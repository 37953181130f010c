"""The daily report behind ``manage.py analyse_logs`` (and the scheduler).

The work is split into small functions so each can be tested on its own and
the command stays thin:

* :func:`build_summary` — the day's figures, as a JSON-serialisable dict
  (saved in ``DailyReport.summary``).  Every figure is one aggregate query;
  the p95 uses a count and one ``ORDER BY … OFFSET`` row (:func:`percentile`),
  which works the same on SQLite and PostgreSQL and never loads the day
  into memory.
* :func:`ai_summary` — plain-English text from the LLM, from a view of the
  figures without client identities (:func:`figures_for_ai`): an IP address
  or user id has no business leaving the site for a summary.  Paths are
  attacker-chosen, so they travel inside the prompt's data block.
* :func:`render` — the saved text: the LLM's summary on top (or why there is
  none), the raw figures below, always.
* :func:`save` and :func:`purge_old_logs`.
* :func:`run` — all of the above, in that order, for one date.

"The day" is the calendar day in the site's timezone (``TIME_ZONE``).
Error figures leave out requests smartlayer itself refused, so that blocking
an attack does not read as the application failing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings as django_settings
from django.db.models import Avg, Count, Max, Q, QuerySet
from django.utils import timezone

from ..conf import sl_settings
from ..llm import prompts
from ..llm.client import LLMError, get_client, missing_settings

TOP_N = 5
TOP_REASONS = 10
RETENTION_BATCH = 5000
MAX_AI_TEXT = 6000
REPORT_MAX_TOKENS = 700
#: A long answer takes a while and nobody waits on it: more patience than a verdict gets.
REPORT_READ_TIMEOUT = 60.0


@dataclass(slots=True)
class ReportResult:
    date: date
    created: bool
    report: str
    summary: dict[str, Any]
    ai_status: str
    deleted: int
    retention_days: int | None

    def status_line(self) -> str:
        """One line for cron mail and logs."""
        t = self.summary["totals"]
        kept = (f"deleted {self.deleted} log rows older than {self.retention_days} days"
                if self.retention_days else "log retention off")
        return (f"smartlayer: report for {self.date} {'created' if self.created else 'updated'} "
                f"({t['requests']} requests, {t['blocked']} blocked; AI: {self.ai_status}); {kept}.")


# ── dates ──────────────────────────────────────────────────────────────────

def default_date() -> date:
    """Yesterday, in the site's timezone."""
    return timezone.localdate() - timedelta(days=1)


def parse_date(value: str | None) -> date:
    """``YYYY-MM-DD`` → date; None → :func:`default_date`.  Raises ValueError."""
    if value is None:
        return default_date()
    try:
        return date.fromisoformat(value.strip())
    except (AttributeError, ValueError):
        raise ValueError(f"invalid date {value!r}: expected YYYY-MM-DD") from None


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of ``day`` in the site's timezone (DST days included)."""
    start = datetime.combine(day, time.min)
    end = datetime.combine(day + timedelta(days=1), time.min)
    if django_settings.USE_TZ:
        tz = timezone.get_current_timezone()
        start, end = timezone.make_aware(start, tz), timezone.make_aware(end, tz)
    return start, end


# ── figures ────────────────────────────────────────────────────────────────

def percentile(qs: QuerySet, field: str, fraction: float, count: int | None = None) -> float | None:
    """Nearest-rank percentile of ``field`` over ``qs``: one ordered row at an offset."""
    n = qs.count() if count is None else count
    if n == 0:
        return None
    rank = min(n, max(1, math.ceil(fraction * n)))
    try:
        return qs.order_by(field).values_list(field, flat=True)[rank - 1]
    except IndexError:  # rows deleted since the count
        return None


def _r(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(float(value), digits)


def _rate(part: int, whole: int) -> float:
    return round(part * 100.0 / whole, 2) if whole else 0.0


def _totals(logs: QuerySet) -> dict[str, Any]:
    served = Q(was_blocked=False)
    agg = logs.aggregate(
        requests=Count("id"),
        blocked=Count("id", filter=Q(was_blocked=True)),
        monitor_only=Count("id", filter=Q(monitor_only=True)),
        errors_4xx=Count("id", filter=served & Q(status_code__gte=400, status_code__lt=500)),
        errors_5xx=Count("id", filter=served & Q(status_code__gte=500, status_code__lt=600)),
        clients=Count("client_key", distinct=True),
        mean_ms=Avg("response_time_ms"),
    )
    n = agg["requests"]
    return {
        "requests": n,
        "blocked": agg["blocked"],
        "monitor_only": agg["monitor_only"],
        "clients": agg["clients"],
        "errors_4xx": agg["errors_4xx"],
        "errors_4xx_rate": _rate(agg["errors_4xx"], n),
        "errors_5xx": agg["errors_5xx"],
        "errors_5xx_rate": _rate(agg["errors_5xx"], n),
        "mean_ms": _r(agg["mean_ms"]),
        "p95_ms": _r(percentile(logs, "response_time_ms", 0.95, count=n)),
    }


def _endpoint_rows(qs: QuerySet) -> list[dict[str, Any]]:
    return [{"path": r["path"], "requests": r["requests"], "mean_ms": _r(r["mean_ms"]), "max_ms": _r(r["max_ms"])}
            for r in qs]


def _endpoints(logs: QuerySet) -> dict[str, list[dict[str, Any]]]:
    by_path = logs.values("path").annotate(requests=Count("id"), mean_ms=Avg("response_time_ms"),
                                           max_ms=Max("response_time_ms"))
    return {
        "slowest": _endpoint_rows(by_path.order_by("-mean_ms", "path")[:TOP_N]),
        "busiest": _endpoint_rows(by_path.order_by("-requests", "path")[:TOP_N]),
    }


def _counts(qs: QuerySet, field: str, limit: int | None = None, label: str | None = None) -> list[dict[str, Any]]:
    """``[{label: value, "count": n}, …]`` grouped by ``field``, largest first."""
    grouped = qs.values(field).annotate(count=Count("id")).order_by("-count", field)
    if limit:
        grouped = grouped[:limit]
    return [{label or field: r[field], "count": r["count"]} for r in grouped]


def _blocks(logs: QuerySet) -> dict[str, Any]:
    blocked = logs.filter(was_blocked=True)
    offenders = (blocked.values("client_key").annotate(blocks=Count("id"))
                 .order_by("-blocks", "client_key")[:TOP_N])
    return {
        "by_component": _counts(blocked, "blocked_by", label="component"),
        "by_reason": _counts(blocked, "reason", limit=TOP_REASONS),
        "top_clients": [{"client_key": r["client_key"], "blocks": r["blocks"]} for r in offenders],
    }


def _anomaly_scores(logs: QuerySet) -> dict[str, Any]:
    agg = logs.filter(model_score__isnull=False).aggregate(n=Count("model_score"), mean=Avg("model_score"),
                                                           max=Max("model_score"))
    return {"count": agg["n"], "mean": _r(agg["mean"], 4), "max": _r(agg["max"], 4)}


def _active_model() -> dict[str, Any] | None:
    from ..models import ModelVersion

    mv = ModelVersion.objects.filter(status="active").first()
    if mv is None:
        return None
    return {
        "version": mv.version,
        "activated_at": mv.activated_at.isoformat(timespec="seconds") if mv.activated_at else None,
        "threshold": mv.threshold,
        "samples": mv.samples,
    }


def _verdicts(start: datetime, end: datetime) -> list[dict[str, Any]]:
    from ..models import Verdict

    qs = Verdict.objects.filter(created_at__gte=start, created_at__lt=end)
    grouped = qs.values("kind", "verdict").annotate(count=Count("id")).order_by("kind", "verdict")
    return [{"kind": r["kind"], "verdict": r["verdict"] or "none", "count": r["count"]} for r in grouped]


def build_summary(day: date) -> dict[str, Any]:
    """Every figure of the report for ``day``, JSON-serialisable."""
    from ..models import Ban, RequestLog

    start, end = day_bounds(day)
    logs = RequestLog.objects.filter(timestamp__gte=start, timestamp__lt=end).order_by()
    return {
        "date": day.isoformat(),
        "timezone": str(timezone.get_current_timezone()),
        "totals": _totals(logs),
        "endpoints": _endpoints(logs),
        "blocks": _blocks(logs),
        "bans_by_source": _counts(Ban.objects.filter(created_at__gte=start, created_at__lt=end).order_by(),
                                  "source"),
        "llm_verdicts": _verdicts(start, end),
        "active_model": _active_model(),
        "anomaly_scores": _anomaly_scores(logs),
    }


# ── text ───────────────────────────────────────────────────────────────────

def figures_for_ai(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary without client identities (IPs, user ids): aggregates only."""
    figures = {k: v for k, v in summary.items() if k != "blocks"}
    blocks = dict(summary["blocks"])
    blocks["top_clients"] = [{"client": f"client #{i}", "blocks": c["blocks"]}
                             for i, c in enumerate(blocks["top_clients"], 1)]
    figures["blocks"] = blocks
    return figures


def ai_summary(summary: dict[str, Any]) -> tuple[str | None, str]:
    """``(text, ai_status)``; text is None when the LLM is absent or failing, and status says why."""
    if summary["totals"]["requests"] == 0:
        return None, "skipped: no requests that day"
    missing = missing_settings()
    if missing:
        return None, "not configured: " + ", ".join(missing) + " not set"
    client = get_client()
    try:
        completion = client.complete(prompts.report_messages(figures_for_ai(summary)), max_tokens=REPORT_MAX_TOKENS,
                                     temperature=0.3, read_timeout=max(REPORT_READ_TIMEOUT, client.read_timeout))
    except LLMError as exc:  # already reported by the client
        return None, f"failed: {exc}"[:200]
    text = completion.text.strip()
    if not text:
        return None, "failed: empty answer"
    return text[:MAX_AI_TEXT], f"ok ({client.model})"[:200]


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g} ms"


def _endpoint_lines(rows: list[dict[str, Any]]) -> list[str]:
    return [f"  {r['path']!r}: {r['requests']} requests, mean {_ms(r['mean_ms'])}, max {_ms(r['max_ms'])}"
            for r in rows] or ["  (none)"]


def _count_lines(rows: list[dict[str, Any]], label: str) -> list[str]:
    return [f"  {r[label] or '(none)'}: {r['count']}" for r in rows] or ["  (none)"]


def render_figures(summary: dict[str, Any]) -> str:
    """The raw figures as plain text (paths are quoted with repr: they are attacker-chosen)."""
    t = summary["totals"]
    b = summary["blocks"]
    model = summary["active_model"]
    scores = summary["anomaly_scores"]
    lines = [
        f"Requests: {t['requests']} from {t['clients']} clients; blocked {t['blocked']}"
        f" (monitor mode, not refused: {t['monitor_only']})",
        f"Errors (requests smartlayer did not block): 4xx {t['errors_4xx']} ({t['errors_4xx_rate']}%),"
        f" 5xx {t['errors_5xx']} ({t['errors_5xx_rate']}%)",
        f"Response time: mean {_ms(t['mean_ms'])}, p95 {_ms(t['p95_ms'])}",
        "Slowest endpoints (by mean):", *_endpoint_lines(summary["endpoints"]["slowest"]),
        "Busiest endpoints:", *_endpoint_lines(summary["endpoints"]["busiest"]),
        "Blocks by component:", *_count_lines(b["by_component"], "component"),
        "Blocks by reason:", *_count_lines(b["by_reason"], "reason"),
        "Top offending clients:",
        *([f"  {c['client_key']}: {c['blocks']} blocks" for c in b["top_clients"]] or ["  (none)"]),
        "Bans created, by source:", *_count_lines(summary["bans_by_source"], "source"),
        "LLM verdicts:", *([f"  {v['kind']} {v['verdict']}: {v['count']}" for v in summary["llm_verdicts"]]
                           or ["  (none)"]),
        "Active model: " + (f"{model['version']} (threshold {model['threshold']})" if model else "none"),
        (f"Anomaly scores: {scores['count']} scored, mean {scores['mean']}, max {scores['max']}"
         if scores["count"] else "Anomaly scores: none"),
    ]
    return "\n".join(lines)


def render(summary: dict[str, Any], ai_text: str | None, ai_status: str) -> str:
    """The saved report: the LLM's summary (or why there is none) on top, the figures below."""
    head = f"smartlayer daily report for {summary['date']} ({summary['timezone']})"
    top = ai_text if ai_text else f"No AI summary ({ai_status})."
    return f"{head}\n\n{top}\n\n── Figures ──\n{render_figures(summary)}\n"


# ── storage ────────────────────────────────────────────────────────────────

def save(day: date, report: str, summary: dict[str, Any], ai_status: str) -> tuple[Any, bool]:
    """Create or update the DailyReport of ``day`` (a rerun replaces the text).

    The text, the summary and the status quote the logs and the LLM's answer:
    cleaned of what the database refuses (:mod:`smartlayer.dbtext`).
    """
    from ..dbtext import clean_fields
    from ..models import DailyReport

    return DailyReport.objects.update_or_create(
        date=day, defaults=clean_fields(DailyReport, {"report": report, "summary": summary, "ai_status": ai_status}),
    )


def purge_old_logs(days: int | None, *, batch: int = RETENTION_BATCH, now: datetime | None = None) -> int:
    """Delete request logs (and LLM verdicts) older than ``days`` days, ``batch``
    ids per DELETE; returns the number of request-log rows deleted.

    Small batches keep each transaction and lock short on a busy table.
    ``days`` of None or 0 keeps everything.
    """
    from ..models import RequestLog, Verdict

    if not days:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=int(days))
    _delete_in_batches(Verdict, Verdict.objects.filter(created_at__lt=cutoff), batch)
    return _delete_in_batches(RequestLog, RequestLog.objects.filter(timestamp__lt=cutoff), batch)


def _delete_in_batches(model: Any, old: QuerySet, batch: int) -> int:
    old = old.order_by()
    deleted = 0
    while True:
        ids = list(old.values_list("id", flat=True)[:batch])
        if not ids:
            return deleted
        deleted += model.objects.filter(id__in=ids).delete()[0]


def _kept(day: date) -> Any:
    """The saved report of ``day`` if it was built from logs that are now gone."""
    from ..models import DailyReport

    existing = DailyReport.objects.filter(date=day).first()
    if existing is not None and (existing.summary or {}).get("totals", {}).get("requests"):
        return existing
    return None


def run(day: date) -> ReportResult:
    """Build, write, save the report of ``day``, then apply the log retention.

    A day whose logs are gone (past retention) never overwrites the report
    written while they existed: the rerun keeps it and says so.
    """
    summary = build_summary(day)
    kept = _kept(day) if summary["totals"]["requests"] == 0 else None
    if kept is not None:
        summary, text, ai_status, created = kept.summary, kept.report, "kept: no logs left for that day", False
    else:
        ai_text, ai_status = ai_summary(summary)
        text = render(summary, ai_text, ai_status)
        _, created = save(day, text, summary, ai_status)
    days = sl_settings.LOG_RETENTION_DAYS
    deleted = purge_old_logs(days)
    return ReportResult(date=day, created=created, report=text, summary=summary, ai_status=ai_status,
                        deleted=deleted, retention_days=int(days) if days else None)
