"""The Prometheus endpoint: ``path("metrics/", include("smartlayer.metrics.urls"))``.

Needs the ``metrics`` extra (``pip install django-smartlayer[metrics]``);
without it the URL answers 501 and says so.  What is counted, and where:
:mod:`smartlayer.state.prom`.

Under gunicorn (several processes) set ``PROMETHEUS_MULTIPROC_DIR`` to an
empty directory before the server starts (and empty it at each start); the
view then adds every worker's figures up.  Who may read it: staff users, and
clients from ``METRICS_ALLOW_IPS`` (loopback by default) — see the README.

May import anything below it; nothing imports it but the site's URLconf.
"""
