"""``path("metrics/", include("smartlayer.metrics.urls"))`` in the site's URLconf."""
from django.urls import path

from .views import metrics

app_name = "smartlayer_metrics"
urlpatterns = [path("", metrics, name="metrics")]
