"""Signals smartlayer sends.  Receivers must be quick; they run on the request path.

``request_blocked``
    A request was refused (or would have been, in monitor mode).
    kwargs: ``request``, ``client`` (:class:`smartlayer.request.client.Client`),
    ``decision`` (:class:`smartlayer.policy.decisions.Decision`; ``decision.monitor``
    is True when nothing was actually refused).

``client_banned``
    kwargs: ``ban`` (the :class:`smartlayer.models.Ban` row), ``client_key``,
    ``source`` ("rule", "model", "llm", "admin"), ``reason``, ``expires_at``
    (None for permanent).

``client_unbanned``
    kwargs: ``ban``, ``client_key``, ``lifted_by``.

``model_activated``
    kwargs: ``version`` (str), ``previous`` (str or None).
"""
from django.dispatch import Signal

request_blocked = Signal()
client_banned = Signal()
client_unbanned = Signal()
model_activated = Signal()
