"""What a request is to smartlayer: who sent it, its context, what was decided about it.

* :mod:`.client` — the one identity resolver (user pk, else the client IP;
  ``X-Forwarded-For`` only from trusted proxies, walked from the right);
* :mod:`.exempt` — the one definition of "never inspected";
* :mod:`.context` — the per-request context every component reads and
  writes, and the request-log row made from it;
* :mod:`.decision` — the actions, a decision and the evidence it is made from.

The bottom layer of the request path: imports only conf, dbtext and Django.
"""
