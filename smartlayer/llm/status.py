"""Whether the AI features are on: read from the settings alone.

``AppConfig.ready`` logs it once per process.  Nothing here imports an HTTP
client, opens a connection or starts a thread, so start-up stays light.
"""
from __future__ import annotations

import logging
import threading
from urllib.parse import urlsplit

from ..conf import sl_settings

logger = logging.getLogger("smartlayer")

REQUIRED_SETTINGS = ("AI_API_KEY", "AI_BASE_URL", "AI_MODEL")
_status_lock = threading.Lock()
_status_logged = False


def missing_settings() -> list[str]:
    """Names of the settings that must be set before any AI feature works."""
    return [name for name in REQUIRED_SETTINGS if not sl_settings.get(name)]


def log_status_once() -> None:
    """Log, once per process, whether the AI features are on — called from ``AppConfig.ready``.

    Reads settings only: no network, no database, no thread.
    """
    global _status_logged
    with _status_lock:
        if _status_logged:
            return
        _status_logged = True
    missing = missing_settings()
    if missing:
        logger.info("smartlayer: LLM features off (%s not set); rules, model and pattern checks still run.",
                    ", ".join(missing))
    else:
        host = urlsplit(str(sl_settings.AI_BASE_URL)).hostname or "?"
        logger.info("smartlayer: LLM features on (model %s at %s).", sl_settings.AI_MODEL, host)
