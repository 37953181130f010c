"""The public entry points for ``settings.MIDDLEWARE`` (documented; they do not move).

The four classes live in :mod:`smartlayer.http.middleware`; this module
names them where the README and existing settings files expect them.
"""
from .http.middleware import AIAnomalyDetector, AIRequestValidator, RateLimiter, WatchLog

__all__ = ["AIAnomalyDetector", "AIRequestValidator", "RateLimiter", "WatchLog"]
