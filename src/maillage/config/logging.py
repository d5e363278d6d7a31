"""Logging: JSON lines (or plain text) on standard error, each record with the id of the request
it belongs to and without personal data. Referenced from settings.LOGGING."""

from __future__ import annotations

import contextvars
import datetime
import hashlib
import hmac
import json
import logging
import re
from typing import Any

from django.conf import settings

# The id of the request being served by this thread (set by config.middleware.RequestIdMiddleware).
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "maillage_request_id", default=None
)

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])")
# Full eight-group form, or a compressed form with "::" (times such as 18:20:33 do not match).
_IPV6 = re.compile(
    r"(?<![\w:])(?:(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}"
    r"|(?:[0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{0,4}::(?:[0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{0,4})"
    r"(?![\w:])"
)

# Attributes passed with ``extra=`` that are copied into a JSON line; anything else (Django's
# ``request`` object, whose text holds the query string, for one) is left out.
EXTRA_FIELDS = ("status_code", "method", "route", "duration_ms", "task", "run_id")


def pseudonym(value: str) -> str:
    """A short keyed hash: the same value always gives the same pseudonym (lines can be
    correlated), but the value cannot be recovered from the log without the secret key."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:12]


# The machine's own addresses (where gunicorn listens) say nothing about a person.
_NOT_PERSONAL = {"127.0.0.1", "0.0.0.0", "::1", "::"}  # noqa: S104 (a string, not a bind)


def _address(match: re.Match) -> str:
    text = match.group()
    if text in _NOT_PERSONAL or text.count(":") == 1:
        return text
    return f"ip:{pseudonym(text)}"


def scrub(text: str) -> str:
    """Removes e-mail addresses and replaces IP addresses by their pseudonym."""
    text = _EMAIL.sub("[email]", text)
    text = _IPV4.sub(_address, text)
    return _IPV6.sub(_address, text)


def axes_client_str(username, ip_address, user_agent, path_info, request) -> str:
    """What django-axes writes about a login attempt: the path and a pseudonym of the username;
    no address, no user agent."""
    return f"{{user: {pseudonym(username or '')}, path: {path_info}}}"


class ClientErrorWithoutTraceback(logging.Filter):
    """Django logs every refused request (403, 404, …) on ``django.request`` at WARNING with the
    exception's full traceback; for a client error the traceback says nothing useful and floods the
    log. Keep the one-line message, drop the traceback; server errors (5xx) keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status is not None and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
        return True


class RequestContext(logging.Filter):
    """Adds ``request_id`` (or None outside a request) and scrubs personal data from the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        message = record.getMessage()
        record.msg = scrub(message)
        record.args = None
        return True


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, request_id, the whitelisted
    extras, and the traceback (scrubbed) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            data["request_id"] = request_id
        for name in EXTRA_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                data[name] = value if isinstance(value, int | float | bool) else str(value)
        if record.exc_info:
            data["exc"] = scrub(self.formatException(record.exc_info))
        if record.stack_info:
            data["stack"] = scrub(self.formatStack(record.stack_info))
        return json.dumps(data, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The same records for a human reader; tracebacks scrubbed too."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def formatException(self, ei) -> str:  # noqa: N802 (logging's name)
        return scrub(super().formatException(ei))


def logging_config(*, level: str, fmt: str, request_level: str) -> dict[str, Any]:
    """settings.LOGGING: every record goes to standard error through one handler, which adds the
    request id and removes personal data whatever logger (ours, Django's, a library's) wrote it."""
    formatter = "json" if fmt != "text" else "text"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "client_error_without_traceback": {
                "()": "maillage.config.logging.ClientErrorWithoutTraceback",
            },
            "request_context": {"()": "maillage.config.logging.RequestContext"},
        },
        "formatters": {
            "json": {"()": "maillage.config.logging.JsonLinesFormatter"},
            "text": {"()": "maillage.config.logging.TextFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": formatter,
                "filters": ["request_context"],
            }
        },
        "loggers": {
            # 4xx: one line at WARNING, no traceback (5xx keep theirs).
            "django.request": {"filters": ["client_error_without_traceback"]},
            # One line per request (method, route, status, duration), see RequestIdMiddleware.
            "maillage.request": {"level": request_level},
        },
        "root": {"handlers": ["console"], "level": level},
    }
