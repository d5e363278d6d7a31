"""Export contact requests to export advisors and clusters. Who sees and does what:
directory.policy (export contact requests), as on the web: a user sees the requests
addressed to them and those of the SMEs whose export project they manage; only the addressee
answers, only the SME's side withdraws; contact details once accepted only."""

from __future__ import annotations

import datetime
from typing import Annotated, Literal

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.pagination import paginate

from maillage.api.pagination import Pages
from maillage.api.schemas import ERRORS, Error, Id
from maillage.directory import policy as directory_policy
from maillage.directory import selectors, services

router = Router(tags=["demandes de contact export"])


class ContactOut(Schema):
    name: str
    email: str
    organisation: str = ""
    phone: str = ""
    establishment: str = ""
    address: str = ""


class ExportRequestOut(Schema):
    id: int
    establishment: int = Field(..., alias="establishment_id")
    establishment_name: str = Field(..., alias="establishment.name")
    advisor: int | None = Field(None, alias="advisor_id")
    cluster: int | None = Field(None, alias="cluster_id")
    addressee: str
    countries: list[str]
    sectors: list[str]
    message: str
    status: str
    created_at: datetime.datetime
    answered_at: datetime.datetime | None
    answer: str
    withdrawn_at: datetime.datetime | None
    expired_at: datetime.datetime | None
    addressed_to_me: bool
    contact: ContactOut | None

    @staticmethod
    def resolve_addressee(obj) -> str:
        return str(obj.addressee)

    @staticmethod
    def resolve_addressed_to_me(obj, context) -> bool:
        return _addressed_to(context["request"].user, obj)

    @staticmethod
    def resolve_contact(obj, context) -> dict | None:
        user = context["request"].user
        if _addressed_to(user, obj):
            return selectors.requester_contact(user, obj)
        return selectors.addressee_contact(user, obj)


def _addressed_to(user, req) -> bool:
    # Annotated on lists (one query for the page), asked of the policy for a single request.
    mine = getattr(req, "addressed_to_me", None)
    return directory_policy.is_export_request_addressee(user, req) if mine is None else mine


class AnswerIn(Schema):
    decision: Literal["accept", "decline"]
    message: Annotated[str, Field(max_length=2000, pattern=r"^[^\x00]*$")] = ""


def _visible(user, export_request_id: int):
    req = selectors.export_request(user, export_request_id)
    if req is None:
        raise Http404
    return req


@router.get(
    "/export-requests",
    response={200: list[ExportRequestOut], **ERRORS},
    summary="Demandes de contact export que je vois (reçues, ou faites par mes entreprises)",
)
@paginate(Pages)
def list_export_requests(request):
    return selectors.visible_requests(request.user)


@router.get(
    "/export-requests/{export_request_id}",
    response={200: ExportRequestOut, 404: Error, **ERRORS},
    summary="Une demande de contact export (coordonnées échangées une fois acceptée)",
)
def get_export_request(request, export_request_id: Id):
    return _visible(request.user, export_request_id)


@router.post(
    "/export-requests/{export_request_id}/answer",
    response={200: ExportRequestOut, 400: Error, 403: Error, 404: Error, **ERRORS},
    summary="Accepter ou décliner une demande (son destinataire seulement, une fois)",
)
def answer_export_request(request, export_request_id: Id, payload: AnswerIn):
    req = _visible(request.user, export_request_id)
    if not directory_policy.can_answer_export_request(request.user, req):
        raise PermissionDenied(_("Seul le destinataire de la demande peut y répondre."))
    services.answer_export_contact(request.user, req, payload.decision == "accept", payload.message)
    return _visible(request.user, export_request_id)


@router.post(
    "/export-requests/{export_request_id}/withdraw",
    response={200: ExportRequestOut, 400: Error, 403: Error, 404: Error, **ERRORS},
    summary="Retirer une demande en attente (l'entreprise qui l'a faite seulement)",
)
def withdraw_export_request(request, export_request_id: Id):
    req = _visible(request.user, export_request_id)
    if not directory_policy.can_withdraw_export_request(request.user, req):
        raise PermissionDenied(_("Seule l'entreprise qui a fait la demande peut la retirer."))
    services.withdraw_export_contact(request.user, req)
    return _visible(request.user, export_request_id)
