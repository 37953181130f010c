"""The site profile: what is normal for *this* site, learned from its own traffic.

Fixed thresholds punish what is normal for a site (a page's telemetry beacons,
an API polled at its usual pace) and miss what is rare for it (a parameter the
site never had, ``?id=2AND 1=1``, a ``.bak`` the site never served).  The
profile records, per endpoint template, what the site's own clients do:

* :mod:`.shapes` — value *shapes* (kind, length, character classes, a short
  hash for enumerations), never raw values: what the request log keeps and
  what a request is compared with;
* :mod:`.params` — a request's parameter names and their values' shapes (query
  string, form, multipart fields, JSON keys); :mod:`.pending` — worked out when
  first read, on the request thread or in the log writer's;
* :mod:`.templates` — paths collapsed to templates (``/products/{int}/``);
* :mod:`.core` — a learned profile compiled for the request path: template
  lookup, rate allowances, parameter and path anomalies (dict lookups, no I/O);
* :mod:`.learn` — offline: a profile learned from the request log or an access
  log (never imported on the request path).

The active profile travels with the active model version (same store,
manifest, activation and rollback): :func:`smartlayer.ml.runtime.get_active_profile`.
Cold start: without an active profile, nothing here changes a decision.

May import: conf, request, state; never ml, detectors or above.
"""
