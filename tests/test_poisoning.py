"""Poisoning resistance in training (smartlayer.ml.training.poison): known suspects left out
whole, and the most anomalous vectors under the current model trimmed before the fit.

The slow-drip figures (the retrained model against the clean one) are a benchmark:
``training/poisoning.py``, results in training/README.md.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from io import StringIO

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command

from smartlayer.ml.training.poison import drop_suspects, suspect_clients, trim
from smartlayer.models import RequestLog, Verdict
from tests.conftest import BROWSER_UA

BASE = datetime(2025, 3, 1, 12, tzinfo=dt_timezone.utc)
HOUR = timedelta(hours=1)


def at(minute: float) -> datetime:
    return BASE + timedelta(minutes=minute)


def log(minute: float, key: str, **kw) -> RequestLog:
    fields = {"timestamp": at(minute), "client_key": key, "method": "GET", "path": f"/p/{int(minute) % 9}",
              "status_code": 200, "response_time_ms": 4.5, "user_agent": BROWSER_UA}
    fields.update(kw)
    return RequestLog(**fields)


@pytest.mark.django_db
def test_clients_refused_by_a_rule_or_judged_block_are_left_out_whole():
    rows = []
    for c in range(8):
        rows += [log(m, f"ip:7.7.7.{c}") for m in range(40)]
    # a rule refused 7.7.7.1 once; the payload validator refused 7.7.7.2 (in monitor mode)
    rows.append(log(41, "ip:7.7.7.1", was_blocked=True, blocked_by="anomaly", reason="grey:score_8"))
    rows.append(log(41, "ip:7.7.7.2", monitor_only=True, blocked_by="validator", reason="payload:sqli_union"))
    # the model alone refused 7.7.7.3, the rate limiter 7.7.7.4: their served rows stay
    rows.append(log(41, "ip:7.7.7.3", was_blocked=True, blocked_by="anomaly", reason="model:sustained"))
    rows.append(log(41, "ip:7.7.7.4", was_blocked=True, blocked_by="ratelimit", reason="ratelimit:per_minute"))
    rows.append(log(90, "ip:7.7.7.6", was_blocked=True, blocked_by="anomaly", reason="grey:score_9"))  # after
    RequestLog.objects.bulk_create(rows)
    Verdict.objects.create(kind="grey", client_key="ip:7.7.7.5", verdict="BLOCK", created_at=at(30))
    Verdict.objects.create(kind="grey", client_key="ip:7.7.7.7", verdict="ALLOW", created_at=at(30))

    suspects = suspect_clients(BASE, BASE + HOUR)
    assert suspects == {"ip:7.7.7.1": "refused", "ip:7.7.7.2": "refused", "ip:7.7.7.5": "llm_block"}

    out = StringIO()
    call_command("train_smartlayer", "--since", BASE.isoformat(), "--until", (BASE + HOUR).isoformat(),
                 "--dry-run", "--n-estimators", "10", "--min-samples", "10", stdout=out)
    assert "then 120 rows of 3 clients left out whole (2 refused by a rule, 1 judged BLOCK by the LLM" in out.getvalue()


def test_drop_suspects_counts_what_it_drops():
    df = pd.DataFrame({"client_key": ["a", "a", "b", "c"], "ts": [1.0, 2.0, 3.0, 4.0]})
    kept, counts = drop_suspects(df, {"a": "refused", "c": "llm_block", "z": "refused"})
    assert kept["client_key"].tolist() == ["b"]
    assert counts == {"rows": 3, "refused": 1, "llm_block": 1}
    same, counts = drop_suspects(df, {})
    assert same is df and counts["rows"] == 0


class Reference:
    """A current model: scores a vector by its distance from the origin."""

    version = "current"
    threshold = 3.0

    class forest:
        n_features = 2

        @staticmethod
        def anomaly_scores(X):
            return np.linalg.norm(X, axis=1)


def sample():
    rng = np.random.default_rng(0)
    X = rng.normal(0, 1, size=(1000, 2))
    clients = [f"p{i % 100}" for i in range(1000)]
    # an attacker with 15 vectors, 12 far out and 3 hidden among the people
    X[:15] = [[9 + i, 9] for i in range(12)] + [[0.1, 0.1]] * 3
    for i in range(15):
        clients[i] = "attacker"
    labels = ["slow_drip" if c == "attacker" else "human" for c in clients]
    return X, pd.DataFrame({"client_key": clients, "label": labels})


def test_trimming_drops_the_most_anomalous_share_under_the_current_model_and_clients_mostly_there():
    X, meta = sample()
    fit, calib, info = trim(X, meta, share=0.02, reference=Reference())
    clients = meta["client_key"].to_numpy()
    assert not (fit & (clients == "attacker")).any()                 # its 3 ordinary vectors too
    assert info["under"] == "current" and info["clients_whole"] == 1
    assert info["vectors"] == 20 + 3    # the top 2 %, and the attacker's three ordinary vectors
    assert info["labels"]["slow_drip"] == 15
    # people lose only their most extreme moments, which still set the threshold
    assert len(set(clients[fit])) == 100
    assert calib.sum() == 1000 - 15 and not (calib & (clients == "attacker")).any()
    assert (fit <= calib).all()


def test_nothing_is_trimmed_without_a_current_model_and_at_zero_only_persistent_clients():
    X, meta = sample()
    fit, calib, info = trim(X, meta, share=0.02, reference=None)
    assert fit.all() and calib.all() and info["vectors"] == 0
    fit, calib, info = trim(X, meta, share=0.0, reference=Reference())
    assert (fit == calib).all() and (~fit == (meta["client_key"] == "attacker").to_numpy()).all()


@pytest.mark.django_db
def test_the_manifest_says_what_was_trimmed(tmp_path, sl):
    from smartlayer.ml.runtime import ActiveModel
    from smartlayer.ml.training.frames import records_frame
    from smartlayer.ml.training.train import fit_frame
    from smartlayer.sim import DEFAULT_START, generate

    records = generate(start=DEFAULT_START, duration=86400, seed=3, humans=15, scenarios={"api_client": 1})
    params = {"n_estimators": 10, "contamination": 0.01, "random_state": 0}
    first = fit_frame(records_frame(records), params=params, min_samples=50)
    assert first.manifest["metrics"]["trimmed"]["vectors"] == 0     # nothing to trim under yet
    current = ActiveModel("current", first.model.compiled_, first.manifest)
    fitted = fit_frame(records_frame(records), params=params, min_samples=50, trim_share=0.05, reference=current)
    trimmed = fitted.manifest["metrics"]["trimmed"]
    assert trimmed["share"] == 0.05 and trimmed["vectors"] > 0 and trimmed["under"] == "current"
    assert fitted.manifest["samples"] == len(fitted.X) - trimmed["vectors"]     # fitted on
    # the threshold is set on the traffic, odd moments included: 1 % of it above (contamination 0.01)
    assert fitted.manifest["metrics"]["share_above_threshold"] == pytest.approx(0.01, abs=0.002)
    assert fitted.manifest["threshold"] == fitted.model.threshold_ == -fitted.model.forest_.offset_
