"""Logging helpers referenced from settings.LOGGING."""

from __future__ import annotations

import logging


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
