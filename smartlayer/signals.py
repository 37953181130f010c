"""Signals smartlayer sends.  Receivers must be quick; they run on the request path.

``request_blocked``
    A request was refused (or would have been, in monitor mode).
    kwargs: ``request``, ``client`` (:class:`smartlayer.request.client.Client`),
    ``decision`` (:class:`smartlayer.policy.decisions.Decision`; ``decision.monitor``
    is True when nothing was actually refused).

``client_banned``
    kwargs: ``ban`` (the :class:`smartlayer.models.Ban` row), ``client_key``,
    ``source`` ("rule", "model", "llm", "admin"), ``reason``, ``expires_at``
    (None for permanent).  Sent once the row is written: for a ban the middleware
    decides, by WatchLog's writer thread with its next batch when that thread runs
    (the ban itself is enforced from the cache at once), else at once.

``client_unbanned``
    kwargs: ``ban``, ``client_key``, ``lifted_by``.

``model_activated``
    kwargs: ``version`` (str), ``previous`` (str or None), ``by`` (who: a user name,
    "train_smartlayer", or ""), ``forced`` (True when activated past its shadow
    report's bound).

``model_demoted``
    The live guard demoted the active model to record-only (it refuses or bans
    only when a rule agrees) because the share of requests it flagged stayed
    above the bound.  Sent once, by the process that saw it.
    kwargs: ``version`` (str), ``share`` (float, flagged share of the last judged
    minute), ``bound`` (float), ``minutes`` (int, judged minutes above the bound).
"""
from django.dispatch import Signal

request_blocked = Signal()
client_banned = Signal()
client_unbanned = Signal()
model_activated = Signal()
model_demoted = Signal()
