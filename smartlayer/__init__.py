"""smartlayer: request security for Django — behaviour rules, a learned model,
payload checks, plan rate limits and a request log, on a fast hot path."""

__version__ = "0.2.0"
