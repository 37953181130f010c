"""WSGI entry point: ``gunicorn tests.deploy.wsgi:application``."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.deploy.settings")
application = get_wsgi_application()
