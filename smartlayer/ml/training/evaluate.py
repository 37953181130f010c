"""Per-label evaluation of a fitted model on labelled vectors (generated traffic, a labelled access log).

Split from :mod:`.train`: the pipeline reports it, the offline tools compute it on their own frames.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ...labels import BENIGN


def evaluate_labels(scores: np.ndarray, threshold: float, meta: pd.DataFrame) -> dict[str, Any]:
    """Per-label flag rates and hostile-vs-benign precision/recall.

    For a hostile label, ``precision`` is the precision the detector would
    have if that were the only attack: flagged of the label over flagged of
    the label plus flagged benign vectors.  ``clients_flagged`` is the share
    of that label's clients with at least one vector above the threshold.
    """
    if "label" not in meta.columns:
        return {}
    labels = meta["label"].fillna("").astype(str).to_numpy()
    if not (labels != "").any():
        return {}
    benign = BENIGN
    flagged = scores >= threshold
    is_benign = np.isin(labels, list(benign))
    fp = int((flagged & is_benign).sum())
    per: dict[str, Any] = {}
    frame = pd.DataFrame({"label": labels, "client": meta["client_key"].to_numpy(), "flagged": flagged})
    by_client = frame.groupby(["label", "client"], sort=False)["flagged"].any().groupby(level=0).mean()
    for label in sorted(set(labels)):
        mask = labels == label
        k = int(flagged[mask].sum())
        row: dict[str, Any] = {"vectors": int(mask.sum()), "flagged": k, "share_flagged": k / int(mask.sum()),
                               "clients_flagged": float(by_client.get(label, 0.0)),
                               "benign": label in benign}
        if label not in benign:
            row["recall"] = row["share_flagged"]
            row["precision"] = k / (k + fp) if k + fp else 0.0
        per[label or "(none)"] = row
    hostile = ~is_benign
    n_hostile = int(hostile.sum())
    overall: dict[str, float] = {"benign_flagged": fp / int(is_benign.sum()) if is_benign.any() else 0.0}
    if n_hostile:
        tp = int((flagged & hostile).sum())
        n_flagged = int(flagged.sum())
        precision = tp / n_flagged if n_flagged else 0.0
        recall = tp / n_hostile
        overall.update(precision=precision, recall=recall,
                       f1=2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return {"labels": per, "hostile_vs_benign": overall}
