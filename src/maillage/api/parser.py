"""A strict request-body parser for the API: JSON only, and a JSON object at the top level.

django-ninja's default parser reads any body as JSON whatever its Content-Type, and its schemas
read attributes from whatever they are given, so ``[]``, ``"x"`` or ``123`` validated as a body
whose fields are all optional (``POST /api/needs/{id}/close`` then closed the need)."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.parser import Parser


class BodyRejected(Exception):
    """A request body refused before validation, with the HTTP status and a French message."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


class StrictJSONParser(Parser):
    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        if not _is_json(request.content_type or ""):
            raise BodyRejected(
                415,
                _(
                    "Type de contenu non pris en charge : envoyez le corps en JSON "
                    "(Content-Type: application/json)."
                ),
            )
        try:
            data = json.loads(request.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BodyRejected(400, _("Le corps de la requête n'est pas du JSON valide.")) from exc
        if not isinstance(data, dict):
            raise BodyRejected(
                422,
                _('Le corps de la requête doit être un objet JSON ({"champ": valeur, …}).'),
            )
        return data
