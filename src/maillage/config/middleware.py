"""Project-wide HTTP middleware."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse

from maillage.config.logging import request_id_var


class NeutralServerHeaderMiddleware:
    """Sets a neutral ``Server`` header so that responses do not reveal the server software or the
    Python version (runserver and wsgiref send ``WSGIServer/0.2 CPython/3.11.x``; they keep a
    header the application has already set)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response["Server"] = "Maillage"
        return response


_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
request_logger = logging.getLogger("maillage.request")


class RequestIdMiddleware:
    """Gives each request an id (the proxy's ``X-Request-ID`` when it is a plain token, else a new
    one), puts it on every log line written while serving it, sends it back in ``X-Request-ID``,
    and writes one line per request: method, route pattern (never the path or the query string,
    which may hold names, search words or tokens), status and duration."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        # Not reset when this returns: Django logs refused requests (4xx, 5xx) after the last
        # middleware; request_finished clears it.
        request_id_var.set(request_id)
        started = time.perf_counter()
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        match = getattr(request, "resolver_match", None)
        route = f"/{match.route}" if match else None
        request_logger.info(
            "%s %s %s",
            request.method,
            route or "-",
            response.status_code,
            extra={
                "method": request.method,
                "route": route,
                "status_code": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        return response


def _forget_request_id(**kwargs) -> None:
    request_id_var.set(None)


request_finished.connect(_forget_request_id, dispatch_uid="maillage_forget_request_id")
