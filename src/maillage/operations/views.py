"""The health endpoint and the error handlers (not found, server error)."""

from __future__ import annotations

import sys

from django.contrib.auth.decorators import login_not_required
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from maillage.operations.health import run_checks


@login_not_required
@never_cache
@require_safe
def health(request):
    """Who may see what: public (a load balancer or supervisor asks without an account); the
    answer holds only statuses, counts and ages, nothing about a company or a person.
    200 when every check passes, 503 otherwise."""
    result = run_checks()
    return JsonResponse(result, status=200 if result["status"] == "ok" else 503)


def server_error(request):
    """handler500: the French error page, rendered without a request context (the database may
    be what failed). While the database is unreachable (PostgreSQL restarting) the answer is a
    503 with Retry-After, which proxies and clients treat as temporary; under /api/ it is JSON
    like every other API error. Django calls this inside its ``except`` block, hence exc_info."""
    exc = sys.exc_info()[1]
    unavailable = isinstance(exc, OperationalError | InterfaceError)
    if request.path.startswith("/api/"):
        message = (
            _("La base de données ne répond pas : réessayez dans quelques instants.")
            if unavailable
            else _("Erreur du serveur : réessayez dans quelques instants.")
        )
        answer: HttpResponse = JsonResponse({"detail": message}, status=500)
    else:
        answer = defaults.server_error(request)
    if unavailable:
        answer.status_code = 503
        answer["Retry-After"] = "5"
    return answer


def not_found(request, exception):
    """handler404: the French page; under /api/ a path no operation matches (``/api/needs/abc``)
    gets the API's JSON error like a missing object does."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": _("Introuvable.")}, status=404)
    return defaults.page_not_found(request, exception)
