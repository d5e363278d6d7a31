"""Visits, raw flows and live partner search. Who sees what: flows.policy (visible_flows,
visible_visits, can_view_flows); every page of raw flows read by chamber staff is audited."""

from functools import partial
from typing import Annotated

from django.http import Http404
from django.shortcuts import get_object_or_404
from ninja import Field, Router
from ninja.pagination import paginate

from maillage.accounts import services
from maillage.api.pagination import Pages, RenderedPage
from maillage.api.schemas import (
    ERRORS,
    Category,
    Direction,
    Error,
    FlowOut,
    Id,
    PartnerOut,
    Text,
    VisitOut,
)
from maillage.flows import policy as flows_policy
from maillage.flows.models import Flow
from maillage.synergies import partners

router = Router(tags=["flux"])


@router.get(
    "/flows", response={200: list[FlowOut], **ERRORS}, summary="Flux de ressources visibles"
)
@paginate(Pages)
def list_flows(
    request,
    establishment: Id | None = None,
    direction: Direction = "",
    category: Category = "",
    resource_class: Text = "",
    include_archived: bool = False,
):
    qs = flows_policy.visible_flows(request.user).select_related("waste_code", "resource_class")
    if establishment is not None:
        qs = qs.filter(establishment_id=establishment)
    if direction:
        qs = qs.filter(direction=direction)
    if category:
        qs = qs.filter(category=category)
    if resource_class:
        qs = qs.filter(resource_class_id=resource_class)
    if not include_archived:
        qs = qs.filter(is_archived=False)
    return RenderedPage(qs.order_by("establishment_id", "pk"), partial(_audited, request.user))


def _audited(user, rows: list[Flow]) -> list[Flow]:
    """A page of flows, written to the audit log when it is read."""
    services.record_flow_views(user, [f.establishment_id for f in rows], detail="API")
    return rows


@router.get("/flows/{flow_id}", response={200: FlowOut, 404: Error, **ERRORS}, summary="Un flux")
def get_flow(request, flow_id: Id):
    flow = get_object_or_404(
        flows_policy.visible_flows(request.user).select_related("waste_code", "resource_class"),
        pk=flow_id,
    )
    services.record_flow_views(request.user, [flow.establishment_id], detail="API")
    return flow


@router.get(
    "/flows/{flow_id}/partners",
    response={200: list[PartnerOut], 404: Error, **ERRORS},
    summary="Partenaires possibles d'un flux (calcul immédiat)",
)
def flow_partners(request, flow_id: Id, k: Annotated[int, Field(ge=1, le=100)] = 20):
    # Looked up by key, then the policy decides on the object (see visible_establishment_ids).
    flow = get_object_or_404(
        Flow.objects.select_related("establishment__commune__territory"), pk=flow_id
    )
    if not flows_policy.can_view_flows(request.user, flow.establishment):
        raise Http404
    return partners.for_flow(request.user, flow, k=k)


@router.get("/visits", response={200: list[VisitOut], **ERRORS}, summary="Visites visibles")
@paginate(Pages)
def list_visits(request, establishment: Id | None = None):
    qs = flows_policy.visible_visits(request.user).select_related("advisor")
    if establishment is not None:
        qs = qs.filter(establishment_id=establishment)
    return qs.order_by("-date", "-pk")
