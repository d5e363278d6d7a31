"""Thin views: ask the policy, call selectors, render."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404, render

from maillage.accounts import policy, services
from maillage.accounts.models import User
from maillage.web import selectors


def home(request):
    """Who may see what: anonymous visitors get public aggregates only; each role its own summary."""
    user = request.user
    if not user.is_authenticated:
        return render(request, "web/home_public.html", {"stats": selectors.public_statistics()})
    if user.role in (User.Role.ADVISOR, User.Role.CHAMBER_ADMIN) and user.chamber_id:
        return render(request, "web/home_chamber.html", selectors.chamber_overview(user))
    if user.role == User.Role.ANIMATOR:
        return render(request, "web/home_animator.html", selectors.animator_overview(user))
    establishments = (
        policy.visible_establishments(user)
        .select_related("naf", "commune")
        .order_by("name", "pk")[:200]
    )
    return render(request, "web/home_member.html", {"establishments": establishments})


def establishment_detail(request, pk: int):
    """Identity for whoever may see the establishment; raw flows only if the policy allows (audited)."""
    establishment = get_object_or_404(
        policy.visible_establishments(request.user).select_related(
            "naf", "commune", "commune__departement", "commune__epci"
        ),
        pk=pk,
    )
    if not policy.can_view_establishment(request.user, establishment):
        raise Http404
    flows = None
    if policy.can_view_flows(request.user, establishment):
        flows = list(
            establishment.flows.filter(is_archived=False)
            .select_related("resource_class", "waste_code")
            .order_by("direction", "category", "pk")
        )
        services.record_flow_view(request.user, establishment, detail="fiche établissement")
    return render(
        request,
        "web/establishment_detail.html",
        {"establishment": establishment, "flows": flows, "chamber": establishment.chamber},
    )
