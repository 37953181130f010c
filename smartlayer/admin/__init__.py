"""The admin: the request log, bans, reports, verdicts and model versions.

Every action that changes state declares the permission it needs
(``@admin.action(permissions=...)``): Django offers an action without one to
anyone who may merely view the changelist.  A test walks every registered
smartlayer admin and fails on an action that forgets.

Django's autodiscovery imports this package; each module registers its
models.  May import: models, state (bans), ml (registry, plots).  Nothing on
the request path imports the admin.
"""
from . import bans, log, model_versions, overview, reports  # noqa: F401 - each registers its ModelAdmins
