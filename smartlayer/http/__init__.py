"""The Django adapter: the middlewares, the responses they give, the ASGI helper.

* :mod:`.middleware` — the four documented classes (public as
  ``smartlayer.middleware.*``): each builds or joins the request context,
  asks its core in :mod:`smartlayer.detectors` for a decision and maps the
  decision to a response; the owner records the request once;
* :mod:`.responses` — a refusal as JSON or text, ``Retry-After`` included;
* :mod:`.asgi` — flush the request log at an ASGI server's shutdown.

The top layer of the request path: may import every package below it
(request, state, policy, detectors, log writer); nothing imports it but
:mod:`smartlayer.middleware` and :mod:`smartlayer.asgi`.
"""
