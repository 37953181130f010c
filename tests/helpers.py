"""Small helpers several test modules share (not fixtures: plain functions, imported by name)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def pool_scenarios(results: Iterable[Any]) -> dict[str, list[int]]:
    """``scenario → [caught, clients]`` summed over replay results (the detection gates pool their seeds)."""
    totals: dict[str, list[int]] = {}
    for result in results:
        for row in result.scenario_table():
            caught, clients = totals.setdefault(row["scenario"], [0, 0])
            totals[row["scenario"]] = [caught + row["caught"], clients + row["clients"]]
    return totals


def small_fitted_model() -> Any:
    """A quick model fitted on a small generated day (the admin tests need one version, not a good one)."""
    from smartlayer.ml.training.frames import records_frame
    from smartlayer.ml.training.train import fit_frame
    from smartlayer.sim import generate_attack_day

    return fit_frame(records_frame(generate_attack_day(4, humans=10)),
                     params={"n_estimators": 15, "max_samples": 64, "contamination": 0.02, "random_state": 0},
                     min_samples=50)
