"""Django's usual middleware, in one place, for every "bare Django" the
benchmarks and the deploy project compare smartlayer against.  Import-free,
so both a settings module and a script that configures settings by hand can use it."""

DJANGO_BASE_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
