"""Offline training: pandas and scikit-learn live here, never on the request path.

* :mod:`.frames` — request-log rows, access logs or generated traffic →
  frames → vectors, through the request path's own window and extractor;
* :mod:`.model` — the estimator (Isolation Forest + what scoring needs);
* :mod:`.train` — a whole run: data, fit, threshold, evaluation, store,
  register, activate (``train_smartlayer``);
* :mod:`.banned` — which rows to leave out because their client was banned;
* :mod:`.labels` — the label vocabulary of labelled traffic;
* :mod:`.errors` — why a run produced no model.

May import: everything in :mod:`smartlayer.ml`, conf, models, request,
detectors (the rules' arrival flags).
"""
