"""Marketplace needs and responses. Who sees and does what: marketplace.policy (visible_needs,
can_edit_need, responding_establishments, visible_responses, can_see_buyer), as on the web."""

import datetime
from typing import Annotated, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import AfterValidator, ConfigDict

from maillage.accounts.models import Chamber
from maillage.api.pagination import Pages, RenderedPage
from maillage.api.schemas import ERRORS, Error, Id, Text
from maillage.directory import policy as directory_policy
from maillage.directory.models import Establishment
from maillage.marketplace import policy as marketplace_policy
from maillage.marketplace import selectors, services
from maillage.marketplace.forms import category_from_label
from maillage.marketplace.models import Category, Need, Response
from maillage.networks.models import Network

router = Router(tags=["besoins (tous acheteurs, tous vendeurs)"])

Theme = Literal["", "purchasing", "innovation", "hr"]
LongText = Annotated[str, Field(min_length=1, max_length=5000, pattern=r"^[^\x00]*$")]
ShortText = Annotated[str, Field(max_length=200, pattern=r"^[^\x00]*$")]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError(_("L'intitulé ne peut pas être vide ou fait seulement d'espaces."))
    return value.strip()


# A title: not blank once stripped (a whitespace-only need title could be published), no NUL.
Title = Annotated[
    str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]*$"), AfterValidator(_not_blank)
]
CategoryCode = Literal[("", *Category.values)]  # type: ignore[valid-type]


def _lot_category(value: str) -> str:
    """A lot's category named by its code or its French label (any case, with or without
    accents), stored as the code; anything else is refused with the allowed values."""
    if not value.strip():
        return ""
    code = category_from_label(value)
    if code is None:
        raise ValueError(
            _("Catégorie de lot « %(c)s » inconnue. Valeurs possibles : %(all)s.")
            % {
                "c": value,
                "all": " ; ".join(f"{code} ({label})" for code, label in Category.choices),
            }
        )
    return code


LotCategory = Annotated[
    str,
    Field(
        max_length=100,
        pattern=r"^[^\x00]*$",
        description="code de la catégorie (« mechanics ») ou son libellé français, en "
        "majuscules ou minuscules, avec ou sans accents (« mécanique, usinage, chaudronnerie », "
        "« usinage ») ; vide : sans catégorie",
    ),
    AfterValidator(_lot_category),
]
PriceBand = Literal["", "lt5k", "lt25k", "lt100k", "gt100k"]


class LotOut(Schema):
    number: int
    title: str
    category: str
    responses: int | None = Field(
        None, description="réponses reçues pour ce lot (pour l'acheteur seulement)"
    )
    outcome: Literal["open", "awarded", "not_awarded"] = Field(
        ..., description="ouvert, attribué, ou clos sans attribution"
    )
    winner: int | None = Field(
        None, description="la réponse retenue pour ce lot (pour l'acheteur seulement)"
    )


class NeedOut(Schema):
    id: int
    title: str
    theme: str
    kind: str
    status: str
    description: str
    category: str
    closes_on: datetime.date
    visibility: str
    visibility_chamber: int | None
    visibility_network: int | None
    buyer: int | None
    buyer_name: str | None
    lots: list[LotOut]
    notified: int | None
    seen: int | None
    responses: int | None


class LotIn(Schema):
    title: Title
    category: LotCategory = ""


class NeedIn(Schema):
    buyer: Id
    theme: Literal["purchasing", "innovation", "hr"]
    kind: Literal[tuple(Need.Kind.values)]  # type: ignore[valid-type]
    title: Title
    description: LongText
    category: CategoryCode = ""
    expertise: ShortText = ""
    closes_on: datetime.date
    visibility: Literal["platform", "chamber", "network"] = "platform"
    visibility_chamber: Id | None = Field(
        None, description="la chambre qui voit le besoin (visibilité « chamber »)"
    )
    visibility_network: Id | None = Field(
        None, description="le réseau qui voit le besoin (visibilité « network »)"
    )
    hide_buyer: bool = False
    lots: list[LotIn] = Field(default_factory=list, max_length=10)


class CloseIn(Schema):
    # Required, even when null (not awarded), and nothing else accepted: a misspelt or missing key
    # must not close a tender as not awarded.
    model_config = ConfigDict(extra="forbid")

    winner: Id | None = Field(..., description="réponse retenue, ou null pour clore sans attribuer")


class AwardIn(Schema):
    # Required, even when null (closed without award), and nothing else accepted, as for
    # CloseIn: a misspelt key must not close a lot without award.
    model_config = ConfigDict(extra="forbid")

    winner: Id | None = Field(
        ...,
        description="réponse retenue pour ce lot (une réponse à ce lot ou à l'ensemble du "
        "besoin), ou null pour clore le lot sans attribution",
    )


class ResponseIn(Schema):
    supplier: Id
    message: LongText
    price_band: PriceBand = ""
    lot: Annotated[int, Field(ge=1, le=10)] | None = Field(
        None,
        description="numéro du lot auquel on répond (absent : l'ensemble du besoin) ; répondre "
        "de nouveau au même lot crée une nouvelle version",
    )


class ResponseVersionOut(Schema):
    number: int
    message: str
    price_band: str
    created_at: datetime.datetime


class InviteIn(Schema):
    suppliers: list[Id] = Field(min_length=1, max_length=100)


class InviteOut(Schema):
    reached: int
    unreachable: int
    notified: int


class ResponseOut(Schema):
    id: int
    need: int
    supplier: int
    supplier_name: str
    message: str
    price_band: str
    created_at: datetime.datetime
    shortlisted: bool
    winner: bool
    lot: int | None
    versions: list[ResponseVersionOut]


class GroupMemberOut(Schema):
    id: int
    name: str


class GroupLotOut(Schema):
    number: int
    title: str
    member: int


class GroupOut(Schema):
    members: list[GroupMemberOut]
    lots: list[GroupLotOut]
    mean_lot_score: float
    max_distance_km: float
    total_headcount: float


class ConsortiaOut(Schema):
    state: Literal["none", "pending", "running", "done", "failed"]
    finished_at: datetime.datetime | None
    candidates: int
    error: str
    groups: list[GroupOut]


def _need_out(user, need: Need, counters: dict | None = None) -> dict:
    show = marketplace_policy.can_see_buyer(user, need)
    mine = marketplace_policy.can_edit_need(user, need)
    counters = counters or {}
    return {
        "id": need.pk,
        "title": need.title,
        "theme": need.theme,
        "kind": need.kind,
        "status": need.status,
        "description": need.description,
        "category": need.category,
        "closes_on": need.closes_on,
        "visibility": need.visibility,
        "visibility_chamber": need.visibility_chamber_id,
        "visibility_network": need.visibility_network_id,
        "buyer": need.buyer_id if show else None,
        "buyer_name": need.buyer.name if show else None,
        "lots": [
            {
                "number": lot.number,
                "title": lot.title,
                "category": lot.category,
                "responses": lot.responses.count() if mine else None,
                "outcome": lot.outcome,
                "winner": lot.winner_id if mine else None,
            }
            for lot in need.lots.all()
        ],
        "notified": counters.get("n_notified") if mine else None,
        "seen": counters.get("n_seen") if mine else None,
        "responses": counters.get("n_responses") if mine else None,
    }


def _response_out(r: Response) -> dict:
    return {
        "id": r.pk,
        "need": r.need_id,
        "supplier": r.supplier_id,
        "supplier_name": r.supplier.name,
        "message": r.message,
        "price_band": r.price_band,
        "created_at": r.created_at,
        "shortlisted": r.shortlisted_at is not None,
        "winner": r.is_winner,
        "lot": r.lot.number if r.lot_id and r.lot else None,
        "versions": [
            {
                "number": v.number,
                "message": v.message,
                "price_band": v.price_band,
                "created_at": v.created_at,
            }
            for v in r.versions.all()
        ],
    }


def _need(user, need_id: int) -> Need:
    return get_object_or_404(
        selectors.with_counters(marketplace_policy.visible_needs(user).select_related("buyer")),
        pk=need_id,
    )


def _counters(need: Need) -> dict:
    return {k: getattr(need, k) for k in ("n_notified", "n_seen", "n_responses")}


def _shown_need(user, need_id: int) -> dict:
    """The need as the API shows it, read (again, after a change) with its counters."""
    need = _need(user, need_id)
    return _need_out(user, need, _counters(need))


@router.get("/needs", response={200: list[NeedOut], **ERRORS}, summary="Besoins visibles")
@paginate(Pages)
def list_needs(request, q: Text = "", theme: Theme = "", mine: bool = False):
    qs = selectors.needs_for(request.user, q, theme, mine).select_related("buyer")
    return RenderedPage(
        qs.prefetch_related("lots"),
        lambda rows: [_need_out(request.user, n, _counters(n)) for n in rows],
    )


@router.get("/needs/{need_id}", response={200: NeedOut, 404: Error, **ERRORS}, summary="Un besoin")
def get_need(request, need_id: Id):
    return _shown_need(request.user, need_id)


@router.post(
    "/needs",
    response={201: NeedOut, 400: Error, 403: Error, 404: Error, **ERRORS},
    summary="Créer un besoin (brouillon) au nom d'un établissement que l'on représente",
)
def create_need(request, payload: NeedIn):
    buyer = get_object_or_404(
        directory_policy.visible_establishments(request.user), pk=payload.buyer
    )
    if not marketplace_policy.can_publish_need_for(request.user, buyer):
        raise PermissionDenied(_("Vous ne représentez pas cet établissement."))
    chamber = network = None
    if payload.visibility == "chamber" and payload.visibility_chamber is not None:
        chamber = Chamber.objects.filter(pk=payload.visibility_chamber).first()
        if chamber is None:
            raise ValidationError({"visibility_chamber": "Chambre inconnue."})
    if payload.visibility == "network" and payload.visibility_network is not None:
        network = Network.objects.filter(pk=payload.visibility_network).first()
        if network is None:
            raise ValidationError({"visibility_network": "Réseau inconnu."})
    need = Need(
        buyer=buyer,
        visibility_chamber=chamber,
        visibility_network=network,
        theme=payload.theme,
        kind=payload.kind,
        title=payload.title,
        description=payload.description,
        category=payload.category,
        expertise=payload.expertise,
        closes_on=payload.closes_on,
        visibility=payload.visibility,
        hide_buyer=payload.hide_buyer,
    )
    services.save_need(request.user, need, [(lot.title, lot.category) for lot in payload.lots])
    return Status(201, _shown_need(request.user, need.pk))


@router.post(
    "/needs/{need_id}/publish",
    response={200: NeedOut, 400: Error, 403: Error, 404: Error, **ERRORS},
    summary="Publier un brouillon (les fournisseurs pertinents sont prévenus)",
)
def publish_need(request, need_id: Id):
    need = _need(request.user, need_id)
    services.publish(request.user, need)
    return _shown_need(request.user, need_id)


@router.post(
    "/needs/{need_id}/close",
    response={200: NeedOut, 400: Error, 403: Error, 404: Error, **ERRORS},
    summary="Clore un besoin, attribué à une réponse ou non",
)
def close_need(request, need_id: Id, payload: CloseIn):
    need = _need(request.user, need_id)
    winner = None
    if payload.winner:
        winner = get_object_or_404(
            marketplace_policy.visible_responses(request.user).filter(need=need), pk=payload.winner
        )
    services.close(request.user, need, winner)
    return _shown_need(request.user, need_id)


@router.post(
    "/needs/{need_id}/lots/{number}/award",
    response={200: NeedOut, 400: Error, 403: Error, 404: Error, **ERRORS},
    summary="Attribuer un lot à une réponse, ou le clore sans attribution (l'acheteur) ; le "
    "besoin est clos quand tous ses lots sont décidés",
)
def award_lot(request, need_id: Id, number: Annotated[int, Field(ge=1, le=10)], payload: AwardIn):
    need = _need(request.user, need_id)
    if not marketplace_policy.can_edit_need(request.user, need):
        raise PermissionDenied(_("Seul l'acheteur peut attribuer les lots de ce besoin."))
    lot = get_object_or_404(need.lots, number=number)
    winner = None
    if payload.winner is not None:
        winner = get_object_or_404(
            marketplace_policy.visible_responses(request.user)
            .filter(need=need)
            .select_related("supplier", "consortium"),
            pk=payload.winner,
        )
    services.award_lot(request.user, lot, winner)
    return _shown_need(request.user, need_id)


@router.get(
    "/needs/{need_id}/responses",
    response={200: list[ResponseOut], 404: Error, **ERRORS},
    summary="Réponses à un besoin (l'acheteur : toutes ; un fournisseur : la sienne)",
)
def list_responses(request, need_id: Id):
    need = _need(request.user, need_id)
    return [_response_out(r) for r in selectors.responses_for(request.user, need)]


@router.post(
    "/needs/{need_id}/responses",
    response={201: ResponseOut, 400: Error, 403: Error, 404: Error, **ERRORS},
    summary="Répondre à un besoin au nom d'un établissement que l'on représente",
)
def respond(request, need_id: Id, payload: ResponseIn):
    need = _need(request.user, need_id)
    allowed = {e.pk: e for e in marketplace_policy.responding_establishments(request.user, need)}
    supplier = allowed.get(payload.supplier)
    if supplier is None:
        raise PermissionDenied(
            _("Vous ne pouvez pas répondre à ce besoin au nom de cet établissement.")
        )
    lot = None
    if payload.lot is not None:
        lot = need.lots.filter(number=payload.lot).first()
        if lot is None:
            raise ValidationError(
                {"lot": _("Ce besoin n'a pas de lot n° %(n)d.") % {"n": payload.lot}}
            )
    r = services.respond(
        request.user,
        need,
        supplier,
        message=payload.message,
        price_band=payload.price_band,
        lot=lot,
    )
    return Status(201, _response_out(r))


@router.post(
    "/needs/{need_id}/invite",
    response={200: InviteOut, 400: Error, 403: Error, 404: Error, **ERRORS},
    summary="Inviter des fournisseurs de la liste des fournisseurs pertinents (l'acheteur)",
)
def invite(request, need_id: Id, payload: InviteIn):
    need = _need(request.user, need_id)
    result = services.invite(request.user, need, payload.suppliers)
    counters = selectors.with_counters(Need.objects.filter(pk=need.pk)).values("n_notified")[0]
    return {**result, "notified": counters["n_notified"]}


@router.post(
    "/responses/{response_id}/shortlist",
    response={200: ResponseOut, 400: Error, 403: Error, 404: Error, **ERRORS},
    summary="Présélectionner une réponse (l'acheteur)",
)
def shortlist(request, response_id: Id):
    r = get_object_or_404(
        marketplace_policy.visible_responses(request.user).select_related("need", "supplier"),
        pk=response_id,
    )
    return _response_out(services.shortlist(request.user, r))


@router.get(
    "/needs/{need_id}/consortia",
    response={200: ConsortiaOut, 403: Error, 404: Error, **ERRORS},
    summary="Groupements suggérés pour un besoin à lots (l'acheteur) ; calculés en arrière-plan",
)
def consortia(request, need_id: Id):
    need = _need(request.user, need_id)
    if not marketplace_policy.can_view_consortium_suggestions(request.user, need):
        raise PermissionDenied(_("Seul l'acheteur voit les groupements suggérés."))
    row = services.request_consortium_suggestions(need)
    if row is None:
        return {"state": "none", "finished_at": None, "candidates": 0, "error": "", "groups": []}
    ids = {m for g in row.groups for m in g["members"]}
    names = dict(Establishment.objects.filter(pk__in=ids).values_list("pk", "name"))
    titles = dict(need.lots.values_list("number", "title"))
    return {
        "state": row.state,
        "finished_at": row.finished_at,
        "candidates": row.candidates,
        "error": row.error,
        "groups": [
            {
                "members": [{"id": m, "name": names.get(m, "")} for m in g["members"]],
                "lots": [
                    {"number": n, "title": titles.get(n, ""), "member": m} for n, m in g["lots"]
                ],
                "mean_lot_score": g["mean_lot_score"],
                "max_distance_km": g["max_distance_km"],
                "total_headcount": g["total_headcount"],
            }
            for g in row.groups
        ],
    }
