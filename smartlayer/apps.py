from django.apps import AppConfig


class SmartLayerConfig(AppConfig):
    name = "smartlayer"
    verbose_name = "smartlayer"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # system checks and model-signal receivers register on import
        from . import checks, receivers  # noqa: F401
        from .llm.client import log_status_once
        from .scheduler import start_if_configured

        log_status_once()
        start_if_configured()
