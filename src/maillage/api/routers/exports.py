"""Exports as files (CSV for Excel, or XLSX). Who: each dataset's owning app's policy
(exports.datasets), rows from its visible_* querysets; exported flows are written to the audit log."""

from typing import Literal

from ninja import Router

from maillage.api.schemas import ERRORS, Error
from maillage.exports import files as exports

router = Router(tags=["exports"])

FILE_RESPONSE = {
    "responses": {
        "200": {
            "description": "Le fichier (CSV « ; » UTF-8 avec BOM, ou XLSX).",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                exports.FORMATS["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    }
}


@router.get(
    "/exports/{dataset}",
    response={403: Error, **ERRORS},
    summary="Export des établissements, flux ou suggestions visibles",
    openapi_extra=FILE_RESPONSE,
)
def export_dataset(
    request,
    dataset: Literal["etablissements", "flux", "suggestions"],
    format: Literal["csv", "xlsx"] = "csv",
):
    return exports.http_response(request.user, dataset, format)
