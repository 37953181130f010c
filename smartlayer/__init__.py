"""smartlayer: request security for Django — behaviour rules, a learned model,
payload checks, plan rate limits and a request log, on a fast hot path."""

__version__ = "0.2.0"

#: The four middlewares in their documented order, for ``settings.MIDDLEWARE``
#: after ``AuthenticationMiddleware``.  Importing this imports nothing else, so
#: settings files may use it.
MIDDLEWARE = [
    "smartlayer.middleware.AIAnomalyDetector",
    "smartlayer.middleware.AIRequestValidator",
    "smartlayer.middleware.RateLimiter",
    "smartlayer.middleware.WatchLog",
]
