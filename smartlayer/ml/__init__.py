"""The learned anomaly model: features, compiled forest, store, runtime, registry, training.

One score direction everywhere: the **anomaly score** is in (0, 1) and
*higher means more anomalous*.  It is the original Isolation Forest score
``s = 2 ** (-E[h(x)] / c(psi))``, which equals ``-IsolationForest.score_samples``
(scikit-learn returns the opposite so that "higher is more normal" there).
:class:`smartlayer.request.decision.Evidence.model_score` carries this value.

What runs where:

* on the request path (:mod:`.runtime`): :mod:`.features` (pure Python over
  the window tuples), :mod:`.forest` (NumPy only) and :mod:`.store` (json,
  hashlib) — never scikit-learn, pandas or joblib;
* :mod:`.registry` (the ModelVersion rows, activation, rollback) and
  :mod:`.plots` (SVG charts for the admin and the replay report);
* offline (:mod:`.training`, the ``train_smartlayer`` command, ``training/``):
  pandas and scikit-learn.

Submodules are imported explicitly (``from smartlayer.ml.runtime import
get_active_model``) so importing this package stays free.  May import:
conf, models, request, state, detectors.behaviour.rules (arrival flags).
"""
from __future__ import annotations

from typing import Any

_runtime: Any = None


def runtime_module() -> Any:
    """:mod:`smartlayer.ml.runtime`, imported on first use and kept.

    Not at import: the model's machinery (NumPy) loads only when something scores.  Not an import
    statement where it is used either: the request path asks for the active model and profile on
    every request, and an import statement costs microseconds each time it runs."""
    global _runtime
    if _runtime is None:
        from . import runtime

        _runtime = runtime
    return _runtime
