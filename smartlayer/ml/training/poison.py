"""Poisoning resistance: keep what is known to be hostile, and what the current model finds hostile, out of the fit.

An Isolation Forest learns "normal" from whatever it is given.  An attacker
who stays below every rule for days — the slow drip: a request a minute,
sensitive paths and ID walks among ordinary page views — becomes part of that
normal if it is trained on, and the next model stops seeing it (measured on
generated traffic: ``training/poisoning.py``).  Two defences, both cheap:

1. **Known suspects out** (:func:`suspect_clients`, request log only): every
   row of a client that, during the training window, was refused by a rule
   (the behaviour detector or the payload validator, also in monitor mode), or
   judged ``BLOCK`` by the LLM.  Refusals by the model alone do *not* exclude
   a client: the model would then never learn the people it wrongly flags,
   and its own mistakes would become its next training set.  Bans are handled
   by :mod:`.banned` (the rows while the ban was in force).
2. **Trimming under the current model** (:func:`trim`), when a version is
   active — it has not learned this week's attacker yet: every vector of a
   client that had most of its vectors above that model's threshold is left
   out (an attacker is odd request after request; a person has an odd
   moment, and an API client the model has learned is odd now and then), and
   with ``MODEL_TRIM_SHARE`` > 0 also that share of the most anomalous vectors;
   the threshold is then set on all the traffic but those clients.

   Measured with slow drips making up 3.6-3.8 % of a generated week
   (``training/poisoning.py``, seeds 1-3): undefended, the retrained model
   flagged 21 % of what the clean model flagged on a later day; leaving out
   the persistent clients alone, 100 %, with no benign vector left out and no
   person refused; adding a 2 % vector trim, 93 %, three people of 615 refused
   and, retrained on a clean week, 59 % — the odd moments of benign clients it
   trimmed were no longer learned.  Hence ``MODEL_TRIM_SHARE`` defaults to 0.
   Without an active version nothing is trimmed: a preliminary fit on the
   same data has already learned an attacker that makes up a few per cent of
   it (it kept less than half of what trimming under the clean model kept).
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ...conf import sl_settings

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy as np
    import pandas as pd

#: A client with at least this share of its vectors above the current model's
#: threshold (and at least MIN_ODD of them) is trimmed whole.  Measured on a
#: generated week with slow drips (``training/poisoning.py``): slow-drip
#: attackers had 90-98 % of their vectors above the clean model's threshold,
#: API clients 1-20 %, people and offices 0-1.4 % (10th-90th percentiles).
CLIENT_SHARE = 0.5
MIN_ODD = 3


def suspect_clients(since: datetime, until: datetime) -> dict[str, str]:
    """Client key → why it is left out ("refused" or "llm_block"), for ``[since, until)``. Two queries."""
    from django.db.models import Q

    from ...models import RequestLog, Verdict

    out: dict[str, str] = {}
    refused = (RequestLog.objects.filter(timestamp__gte=since, timestamp__lt=until,
                                         blocked_by__in=("anomaly", "validator"))
               .filter(Q(was_blocked=True) | Q(monitor_only=True))
               .exclude(reason__startswith="model:")
               .values_list("client_key", flat=True).distinct())
    for key in refused.iterator():
        out[key] = "refused"
    judged = (Verdict.objects.filter(created_at__gte=since, created_at__lt=until, kind="grey", verdict="BLOCK")
              .exclude(client_key="").values_list("client_key", flat=True).distinct())
    for key in judged.iterator():
        out[key] = "llm_block"
    return out


def drop_suspects(df: pd.DataFrame, suspects: dict[str, str]) -> tuple[pd.DataFrame, dict[str, int]]:
    """``df`` without the suspects' rows, and what was left out."""
    counts = {"rows": 0, "refused": 0, "llm_block": 0}
    if not suspects or df.empty:
        return df, counts
    mask = df["client_key"].isin(list(suspects)).to_numpy()
    if not mask.any():
        return df, counts
    present = set(df.loc[mask, "client_key"].unique())
    for key in present:
        counts[suspects[key]] += 1
    counts["rows"] = int(mask.sum())
    return df[~mask].reset_index(drop=True), counts


def trim(X: np.ndarray, meta: pd.DataFrame, *, share: float | None = None,
         reference: Any = None) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Which vectors to fit on, and which to set the threshold on.

    Fit: all but the most anomalous ``share`` and the clients mostly above the
    threshold.  Threshold: all but those clients — the people's odd moments
    are part of normal traffic, and a threshold set without them would flag
    more of it than the contamination says (measured: the trimmed model then
    refused benign clients the untrimmed one served).

    ``reference``: an object with ``version``, ``threshold`` and ``forest`` (a
    compiled forest over the same features) — the current model.  Without
    one nothing is trimmed.  Returns the two boolean masks over ``X`` and a
    description for the manifest.
    """
    import numpy as np

    share = float(sl_settings.MODEL_TRIM_SHARE if share is None else share)
    everything = np.ones(len(X), dtype=bool)
    k = int(len(X) * share)
    forest = getattr(reference, "forest", None)
    if forest is None or getattr(forest, "n_features", None) != X.shape[1]:
        return everything, everything, {"share": share, "vectors": 0, "under": None}
    scores = forest.anomaly_scores(X)
    threshold = float(reference.threshold)
    under = str(reference.version)
    clients = meta["client_key"].to_numpy(dtype=object)
    per_client = Counter(clients.tolist())
    odd = Counter(clients[scores >= threshold].tolist())
    whole = {c for c, n in odd.items() if n >= CLIENT_SHARE * per_client[c] and n >= MIN_ODD}
    calib = ~np.isin(clients, list(whole)) if whole else everything.copy()
    fit = calib.copy()
    if k > 0:
        fit[np.argsort(scores, kind="stable")[-k:]] = False
    if int(fit.sum()) < 2:  # never trim everything away
        return everything, everything, {"share": share, "vectors": 0, "under": under}
    info: dict[str, Any] = {"share": share, "under": under, "vectors": int((~fit).sum()),
                            "clients_whole": len(whole), "vectors_of_those_clients": int((~calib).sum())}
    if "label" in meta.columns:
        info["labels"] = dict(Counter(str(v) for v in meta["label"].to_numpy(dtype=object)[~fit]).most_common())
    return fit, calib, info
