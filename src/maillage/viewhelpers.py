"""Small helpers the apps' views share: reading a posted number, showing a refused action's
messages. They know no app."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError


def int_or(value, default=None):
    """``value`` as an integer, or ``default`` when it is missing or not a number (a tampered or
    empty form field is not a server error)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def flash_errors(request, exc: ValidationError) -> None:
    """Each message of a refused action, as an error shown on the next page."""
    for message in exc.messages:
        messages.error(request, message)
