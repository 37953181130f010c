"""The public name of the per-view opt-out (documented; it does not move).

``from smartlayer.decorators import smartlayer_exempt`` — the decorator lives
in :mod:`smartlayer.request.exempt`, next to the rest of what "exempt" means.
"""
from .request.exempt import smartlayer_exempt

__all__ = ["smartlayer_exempt"]
