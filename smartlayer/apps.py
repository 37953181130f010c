from django.apps import AppConfig


class SmartLayerConfig(AppConfig):
    name = "smartlayer"
    verbose_name = "smartlayer"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # system checks and model-signal receivers register on import
        from . import checks  # noqa: F401
        from .detectors.payload.scan import extra_patterns
        from .llm.status import log_status_once
        from .log.scheduler import start_if_configured
        from .state import receivers  # noqa: F401

        log_status_once()
        start_if_configured()
        # the backtracking audit of VALIDATOR_EXTRA_PATTERNS (milliseconds; about a
        # second for a pattern of thousands of alternatives) is paid here, not by a request
        extra_patterns()
