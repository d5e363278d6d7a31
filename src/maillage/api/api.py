"""The REST API (django-ninja): OpenAPI schema at /api/openapi.json, docs at /api/docs.
Errors are JSON objects with a ``detail`` message in French."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import HttpError

from maillage.api.auth import AUTH
from maillage.api.parser import BodyRejected, StrictJSONParser
from maillage.api.routers import (
    directory,
    events,
    export_requests,
    exports,
    flows,
    map,
    marketplace,
    synergies,
)

logger = logging.getLogger("maillage.api")

api = NinjaAPI(
    title="Maillage API",
    version="1",
    description="Établissements, flux, visites et synergies, selon les droits de l'utilisateur du "
    "jeton (Authorization: Bearer …).",
    auth=AUTH,
    urls_namespace="api",
    parser=StrictJSONParser(),
)
api.add_router("/", directory.router)
api.add_router("/", flows.router)
api.add_router("/", synergies.router)
api.add_router("/", marketplace.router)
api.add_router("/", exports.router)
api.add_router("/", map.router)
api.add_router("/", events.router)
api.add_router("/", export_requests.router)


@api.exception_handler(PermissionDenied)
def forbidden(request, exc):
    return api.create_response(request, {"detail": str(exc) or _("Accès refusé.")}, status=403)


@api.exception_handler(ValidationError)
def invalid(request, exc):
    return api.create_response(request, {"detail": " ".join(exc.messages)}, status=400)


@api.exception_handler(Http404)
def not_found(request, exc):
    return api.create_response(request, {"detail": _("Introuvable.")}, status=404)


@api.exception_handler(HttpError)
def http_error(request, exc):
    # ninja wraps any parser error into a 400 "Cannot parse request body": give back the status
    # and the French message of a body the strict parser refused.
    cause = exc.__cause__
    if isinstance(cause, BodyRejected):
        return api.create_response(request, {"detail": cause.detail}, status=cause.status)
    return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def database_unavailable(request, exc):
    # The database is down or restarting (connection refused, terminated by the administrator):
    # a JSON 503 the client can retry, not Django's HTML 500 page. Logged with its traceback.
    logger.error("database unavailable during an API request", exc_info=exc)
    answer = api.create_response(
        request,
        {"detail": _("La base de données ne répond pas : réessayez dans quelques instants.")},
        status=503,
    )
    answer["Retry-After"] = "5"
    return answer
