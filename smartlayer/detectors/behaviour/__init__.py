"""AIAnomalyDetector's logic: bans first, then the window, the rules and the model.

* :mod:`.rules` — the documented BLACK rules and GREY score, pure functions
  of a window snapshot;
* :mod:`.detector` — the detector: ban check, window arrival, rules, model,
  and the enforcement step; the replay runs the same class on a log's clock.
"""
