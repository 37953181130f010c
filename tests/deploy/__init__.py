"""A production-shaped Django project for the multi-process tests, the ASGI
smoke test and the load benchmark (``tests/benchmarks/load.py``).

Everything is configured through environment variables (see
:mod:`tests.deploy.settings`), because gunicorn and uvicorn run it in
subprocesses that cannot share a pytest fixture.
"""
