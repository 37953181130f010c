"""The components that look at a request and gather evidence.

* :mod:`.behaviour` — AIAnomalyDetector: the client's window, the documented
  rules and the learned model;
* :mod:`.payload` — AIRequestValidator: attack strings in every part of the
  request;
* :mod:`.ratelimit` — RateLimiter: per-plan, per-route quotas.

Each is plain code without HTTP; each ends in the one enforcement step
(:mod:`smartlayer.policy.enforce`) or returns a quota decision.  May import:
request, state, policy, ml (runtime and features), llm (lazily).
"""
