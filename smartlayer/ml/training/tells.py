"""The site's ceilings on the automation tells: what "beyond anything normal here" means for one site.

The model flags a request as rare; it does not say *why*, and a rare-but-normal visitor (a fast
reader clicking "next product", a colleague behind the office's address) is flagged now and then
too.  A task-list bot is rare in a particular way: its page views show a tell of automation
(opened seconds apart without a referer, evenly spaced, sending none of the beacons the site's
pages send) more than any visitor of the training week did.

So training records, per tell, the ``MODEL_TELL_QUANTILE`` quantile of the served training vectors
(the clients mostly above a current model's threshold left out, like the threshold's): the site's
own ceiling (``tell_ceilings`` in the manifest).  Online, a flagged request whose vector exceeds a
ceiling is *corroborated* (:meth:`smartlayer.ml.runtime.ActiveModel.score_vector`), and
``MODEL_CORROBORATED_COUNT`` of them decide sooner than ``MODEL_SUSTAINED_ALONE`` plain flags.  A
site where people do open pages seconds apart without a referer (or whose pages send no beacons)
learns a ceiling they stay under: what is normal on the site is never a tell there.

The tells themselves, read off the feature vector, are :mod:`smartlayer.ml.tells` (the request
path's side); this module is training's: the ceilings, over every training vector at once.
"""
from __future__ import annotations

import numpy as np

from ...conf import sl_settings
from ..features import FEATURE_NAMES
from ..tells import EVEN_MIN_PAGES, TELL_FLOORS, TELLS

_PAGES = FEATURE_NAMES.index("page_views")
_EVEN = FEATURE_NAMES.index("even_page_gaps")
_SILENT = FEATURE_NAMES.index("silent_pages")
_CV = FEATURE_NAMES.index("page_gap_cv")
_GAP_MEAN = FEATURE_NAMES.index("log_page_gap_mean_s")


def tell_ceilings(X: np.ndarray, quantile: float | None = None) -> dict[str, float]:
    """``{tell: ceiling}`` over the training vectors ``X`` (rows: :data:`FEATURE_NAMES` vectors); empty without any.

    The same readings as :data:`smartlayer.ml.tells.TELLS`, column-wise, never below their
    :data:`~smartlayer.ml.tells.TELL_FLOORS`."""
    q = float(sl_settings.MODEL_TELL_QUANTILE if quantile is None else quantile)
    if not len(X):
        return {}
    pages = X[:, _PAGES]
    enough = pages >= EVEN_MIN_PAGES
    shares = {"even_gap_share": np.where(enough, X[:, _EVEN] / np.maximum(pages - 2.0, 1.0), 0.0),
              "silent_share": np.where(enough, X[:, _SILENT] / np.maximum(pages, 1.0), 0.0),
              "steady_dwell": np.where(enough & (X[:, _GAP_MEAN] > 0.0), np.maximum(1.0 - X[:, _CV], 0.0), 0.0)}
    return {name: max(float(np.quantile(shares[name] if name in shares else X[:, FEATURE_NAMES.index(name)], q)),
                      TELL_FLOORS.get(name, 0.0))
            for name in TELLS}
