"""Project-wide HTTP middleware."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


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
