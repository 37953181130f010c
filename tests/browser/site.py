"""A day of traffic in the request log, as the middlewares would have written it.

The browser test and the screenshot script need admin pages with something
on them: a generated attack day (humans, crawlers, scanners, credential
stuffing …) is run through the detector and the payload validator on its own
clock — the replay's configuration, in-memory windows and bans — and each
request becomes the RequestLog row WatchLog would have written, decisions
and all.  The bans it made become Ban rows, and the refusals by a ban point
at them.  A small model is trained and activated first, so rows carry model
scores and the model-version page has its charts.
"""
from __future__ import annotations

import time
from typing import Any

DAY = 86400.0


def train_model(store_dir: str) -> Any:
    """Fit a small model on generated traffic, register and activate it; returns the ModelVersion."""
    from smartlayer.conf import sl_settings
    from smartlayer.ml import registry, runtime
    from smartlayer.ml.store import ModelStore
    from smartlayer.ml.training.frames import records_frame
    from smartlayer.ml.training.train import fit_frame
    from smartlayer.sim import generate_attack_day

    assert sl_settings.MODEL_STORE == store_dir, "point MODEL_STORE at store_dir first"
    fitted = fit_frame(records_frame(generate_attack_day(5, humans=30)),
                       params={"n_estimators": 15, "max_samples": 64, "contamination": 0.02, "random_state": 0},
                       min_samples=50)
    store = ModelStore()
    name = time.strftime("%Y%m%d-%H%M%S-demo01", time.gmtime())
    store.save(name, estimator=fitted.model.forest_, forest=fitted.model.compiled_, manifest=fitted.manifest)
    registry.register(store.read_manifest(name), sha256=store.manifest_sha256(name), notes="trained on a generated day")
    runtime.reset_runtime()
    return registry.activate(name, by="seed", store=store)


def seed_log(now: float | None = None, *, humans: int = 30, seed: int = 3, hours: float = 24.0) -> int:
    """Write the last ``hours`` of a generated attack day into the request log; returns the rows written."""
    from smartlayer.conf import sl_settings
    from smartlayer.detectors.behaviour.detector import Detector, _active_model
    from smartlayer.detectors.payload.scan import scan_parts
    from smartlayer.detectors.payload.validator import decide
    from smartlayer.models import Ban, RequestLog
    from smartlayer.request.client import Client, ip_key
    from smartlayer.request.context import RequestContext, log_row
    from smartlayer.sim import generate_attack_day
    from smartlayer.state.ban_backends import MemoryBans
    from smartlayer.state.windows.window import LocalWindowStore

    now = time.time() if now is None else now
    start = now - hours * 3600
    records = [r for r in generate_attack_day(seed, start=start, humans=humans) if r.ts < now]
    memory = MemoryBans()
    detector = Detector(LocalWindowStore(max_clients=100_000), memory, use_llm=False, model=_active_model())
    rows: list[dict[str, Any]] = []
    for r in sorted(records, key=lambda rec: rec.ts):
        user = r.user_id
        client = Client(key=f"u:{user}" if user else ip_key(r.ip), ip=r.ip, user_id=user,
                        authenticated=user is not None)
        ctx = RequestContext(client=client, method=r.method, path=r.path, user_agent=r.user_agent, started=r.ts,
                             t0=0.0)
        decision = detector.inspect(ctx, r.ts)
        ctx.add(decision)
        if not decision.refuses and (r.query or r.body):
            scan = scan_parts(query_string=r.query, body=r.body.encode() if r.body else None,
                              content_type=r.content_type, headers={"User-Agent": r.user_agent})
            payload = decide(ctx, scan, bans=memory, now=r.ts, use_llm=False)
            if payload is not None:
                ctx.add(payload)
        refused = ctx.refused_by is not None
        status = ctx.refused_by.status if refused else r.status
        detector.record_outcome(ctx, status, r.response_ms, refused, now=r.ts)
        rows.append(log_row(ctx, status, r.response_ms))
    # the bans the run made, as Ban rows; refusals by a ban point at theirs
    ids: dict[str, int] = {}
    ttl = float(sl_settings.BAN_TTL or 3600)
    for key, entry in memory.bans.items():
        expires = entry["expires"]
        obj = Ban.objects.create(
            client_key=key, reason=entry["reason"], source=entry["source"],
            ip_address=key[3:] if key.startswith("ip:") and "/" not in key else None,
            created_at=_utc(expires - ttl if expires else now), expires_at=_utc(expires) if expires else None)
        ids[key] = obj.pk
    for row in rows:
        for d in (row.get("details") or {}).get("decisions", []):
            if d.get("component") == "ban" and d.get("ban_id") is None:
                d["ban_id"] = ids.get(row["client_key"])
    RequestLog.objects.bulk_create([RequestLog(**row) for row in rows], batch_size=2000)
    return len(rows)


def write_report() -> Any:
    """Today's daily report from the seeded log (figures only, no LLM), as ``analyse_logs`` writes it."""
    from django.utils import timezone

    from smartlayer.log import report

    day = timezone.now().date()
    summary = report.build_summary(day)
    return report.save(day, report.render(summary, None, "no LLM configured"), summary, "no LLM configured")[0]


def _utc(ts: float) -> Any:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(ts, tz=timezone.utc)
