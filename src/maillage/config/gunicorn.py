"""gunicorn settings for `make serve` (``gunicorn -c python:maillage.config.gunicorn``), from the
environment like the Django settings."""

from __future__ import annotations

import os

from maillage.config.env import env_int, env_str
from maillage.config.logging import logging_config

wsgi_app = "maillage.config.wsgi:application"
# Loopback by default: a reverse proxy (nginx, Apache) in front terminates HTTPS. gunicorn
# trusts X-Forwarded-Proto only from forwarded_allow_ips (the loopback by default).
bind = env_str("MAILLAGE_BIND", "127.0.0.1:8000")
# Synchronous workers: Django views here are synchronous. WEB_CONCURRENCY is gunicorn's usual name.
workers = env_int("WEB_CONCURRENCY", min(2 * (os.cpu_count() or 1) + 1, 8))
# Each worker gets a few threads so that a slow map or export request does not hold a whole worker.
threads = env_int("GUNICORN_THREADS", 2)
timeout = env_int("GUNICORN_TIMEOUT", 60)
graceful_timeout = 30
# Recycle workers now and then (bounded memory growth), not all at once.
max_requests = env_int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = 200
# No access log: Django writes one JSON line per request itself (route, status, duration, request
# id) without the client's address or the query string. Errors go through the same formatter.
accesslog = None
# No control socket in the home directory (gunicornc is not used; several instances would clash).
control_socket_disable = True
logconfig_dict = logging_config(
    level=env_str("LOG_LEVEL", "WARNING"),
    fmt=env_str("LOG_FORMAT", "json"),
    request_level=env_str("MAILLAGE_REQUEST_LOG_LEVEL", "INFO"),
)
# gunicorn's own loggers do not propagate by default: route them to the same handler.
logconfig_dict["loggers"]["gunicorn.error"] = {"level": "INFO", "propagate": True}
# Django answers HEAD with a body that gunicorn drops, warning each time (health probes use HEAD).
logconfig_dict["loggers"]["gunicorn.http.wsgi"] = {"level": "ERROR", "propagate": True}
# Load Django and every view once in the master, then fork: workers share that memory and their
# first request does not pay for the imports (seconds on a small machine).
preload_app = True


def when_ready(server):
    """Runs in the master after the application is loaded, before the workers are forked."""
    # lazy: gunicorn reads this file before Django is set up; this hook runs once it is.
    from django.db import connections
    from django.urls import get_resolver  # lazy: idem

    get_resolver().url_patterns  # noqa: B018 (imports every URLconf and view module)
    connections.close_all()  # no database connection may be shared by forked workers


# gunicorn replaces the application's Server header by "gunicorn" (without its version); the
# reverse proxy in front usually sets its own.
