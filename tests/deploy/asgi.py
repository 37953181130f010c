"""ASGI entry point: ``uvicorn tests.deploy.asgi:application --lifespan off``."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.deploy.settings")
application = get_asgi_application()
