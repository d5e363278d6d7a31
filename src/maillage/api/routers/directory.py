"""Establishments. Who sees what: directory.policy.visible_establishments."""

from django.db.models import Q
from django.shortcuts import get_object_or_404
from ninja import Router
from ninja.pagination import paginate

from maillage.api.pagination import Pages
from maillage.api.schemas import ERRORS, Error, EstablishmentOut, Id, Text
from maillage.directory import policy as directory_policy
from maillage.flows import policy as flows_policy

router = Router(tags=["établissements"])


def _queryset(user):
    return directory_policy.visible_establishments(user).select_related("naf", "commune")


@router.get(
    "/establishments",
    response={200: list[EstablishmentOut], **ERRORS},
    summary="Établissements visibles",
)
@paginate(Pages)
def list_establishments(
    request,
    q: Text = "",
    commune: Text = "",
    departement: Text = "",
    naf: Text = "",
    epci: Text = "",
    active: bool | None = None,
    visited: bool | None = None,
):
    qs = _queryset(request.user)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(siret__startswith=q.replace(" ", "")))
    if commune:
        qs = qs.filter(commune_id=commune)
    if departement:
        qs = qs.filter(commune__departement_id=departement)
    if naf:
        qs = qs.filter(naf__code__startswith=naf)
    if epci:
        qs = qs.filter(commune__epci_id=epci)
    if active is not None:
        qs = qs.filter(is_active=active)
    if visited is not None:
        # Only the visits this user may see count (a partner without the flows scope cannot
        # learn that an establishment was visited).
        seen = flows_policy.visible_visits(request.user).values("establishment_id")
        qs = qs.filter(pk__in=seen) if visited else qs.exclude(pk__in=seen)
    return qs.order_by("name", "pk")


@router.get(
    "/establishments/{establishment_id}",
    response={200: EstablishmentOut, 404: Error, **ERRORS},
    summary="Un établissement",
)
def get_establishment(request, establishment_id: Id):
    return get_object_or_404(_queryset(request.user), pk=establishment_id)
