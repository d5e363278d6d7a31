"""Suggestions and their pipeline. Who: chamber staff of the chambers involved
(synergies.policy.visible_suggestions / can_manage_suggestion)."""

from django.shortcuts import get_object_or_404
from ninja import Router, Schema
from ninja.pagination import paginate
from pydantic import ConfigDict

from maillage.api.pagination import Pages, RenderedPage
from maillage.api.schemas import ERRORS, Error, Id, Kind, Status, StatusIn, SuggestionOut
from maillage.synergies import policy as synergies_policy
from maillage.synergies import selectors, services
from maillage.synergies.explain import explain
from maillage.synergies.models import Suggestion

router = Router(tags=["synergies"])


class LegalPathOut(Schema):
    # What a substitution of waste takes in French law (engine.legal.LegalPath); the schema's
    # description is what /api/docs shows, so it is French (issue 16.12).
    model_config = ConfigDict(
        json_schema_extra={
            "description": "Ce que demande en droit français la substitution d'un déchet : "
            "statut de déchet, sortie du statut de déchet, opération de valorisation."
        }
    )

    stays_waste: bool
    end_of_waste: str | None
    operation: str | None
    operation_label: str | None
    steps: list[str]


class SuggestionDetailOut(SuggestionOut):
    legal_path: LegalPathOut | None  # None: not a substitution of waste


def as_out(s: Suggestion) -> dict:
    return {
        "id": s.pk,
        "kind": s.kind,
        "status": s.status,
        "resource_class": s.resource_class_id,
        "score": s.score,
        "distance_km": s.distance_km,
        "quantity": s.quantity,
        "unit": s.unit,
        "tonnes_diverted": s.tonnes_diverted,
        "co2e_avoided_t": s.co2e_avoided_t,
        "offer_flow": s.offer_flow_id,
        "need_flow": s.need_flow_id,
        "prospect": s.prospect_id,
        "explanation": explain(s.kind, s.explanation),
    }


@router.get(
    "/suggestions", response={200: list[SuggestionOut], **ERRORS}, summary="Suggestions de synergie"
)
@paginate(Pages)
def list_suggestions(request, kind: Kind = "", status: Status = "", current: bool = True):
    qs = synergies_policy.visible_suggestions(request.user)
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    if current:
        qs = qs.filter(is_current=True)
    return RenderedPage(qs.order_by("-score", "pk"), lambda rows: [as_out(s) for s in rows])


@router.get(
    "/suggestions/{suggestion_id}",
    response={200: SuggestionDetailOut, 404: Error, **ERRORS},
    summary="Une suggestion, avec son explication en français",
)
def get_suggestion(request, suggestion_id: Id):
    suggestion = get_object_or_404(
        synergies_policy.visible_suggestions(request.user), pk=suggestion_id
    )
    path = selectors.legal_path(suggestion)
    return {
        **as_out(suggestion),
        "legal_path": None
        if path is None
        else {
            "stays_waste": path.stays_waste,
            "end_of_waste": path.end_of_waste,
            "operation": path.operation,
            "operation_label": path.operation_label,
            "steps": list(path.steps),
        },
    }


@router.post(
    "/suggestions/{suggestion_id}/status",
    response={200: SuggestionOut, 400: Error, 403: Error, 404: Error, **ERRORS},
    summary="Faire avancer une suggestion dans le pipeline",
)
def change_status(request, suggestion_id: Id, payload: StatusIn):
    suggestion = get_object_or_404(
        synergies_policy.visible_suggestions(request.user), pk=suggestion_id
    )
    services.change_status(
        suggestion,
        request.user,
        payload.status,
        payload.note,
        payload.actual_quantity,
        payload.actual_savings_eur,
        agreement_on=payload.agreement_on,
    )
    suggestion.refresh_from_db()
    return as_out(suggestion)
