"""Thin views of the map, the territorial dashboard and the audit log: ask the policy, call
selectors, render."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from maillage.accounts import policy as accounts_policy
from maillage.accounts import services
from maillage.atlas import dashboard as dash
from maillage.atlas import forms, policy, selectors
from maillage.directory import policy as directory_policy
from maillage.flows import policy as flows_policy


@login_not_required
def map_page(request):
    """Everyone: chamber staff their territory, a company itself and its anonymised opportunities,
    anyone else public aggregates (the layers themselves are filtered by the API)."""
    mode = policy.map_mode(request.user)
    config = {
        "mode": mode,
        "tileUrl": settings.MAILLAGE_TILE_URL,
        "colours": selectors.COLOURS,
        "panelUrl": "/carte/panneau/",
        "api": "/api/map/",
        "linksDefault": selectors.LINKS_DEFAULT,
        "linksMax": selectors.LINKS_MAX,
    }
    return render(
        request,
        "atlas/map.html",
        {"mode": mode, "config": config, "choices": selectors.filter_choices(request.user)},
    )


def map_panel(request, pk: int):
    """Side panel of one establishment (htmx): whoever may see it; its flows only if the policy
    allows (and then the view is audited)."""
    establishment = get_object_or_404(
        directory_policy.visible_establishments(request.user).select_related("naf", "commune"),
        pk=pk,
    )
    flows = None
    if flows_policy.can_view_flows(request.user, establishment):
        flows = list(
            establishment.flows.filter(is_archived=False)
            .select_related("resource_class")
            .order_by("direction", "category", "pk")
        )
        for flow in flows:
            flow.quantity_text = selectors.quantity_text(flow.quantity)
        services.record_flow_view(request.user, establishment, detail="panneau de la carte")
    return render(request, "atlas/map_panel.html", {"establishment": establishment, "flows": flows})


def _require(request, allowed: bool, why: str = ""):
    """Anonymous visitors are sent to the login page; signed-in users without the right get 403
    (with ``why``, shown on the error page)."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not allowed:
        raise PermissionDenied(why)
    return None


def dashboard(request):
    """Chamber staff: their chamber's territory, by département / EPCI and month."""
    if denied := _require(request, policy.can_view_dashboard(request.user)):
        return denied
    form = forms.DashboardFilter(request.user, request.GET or None)
    scope = form.scope()
    if scope is None:
        raise Http404
    return render(
        request, "atlas/dashboard.html", {"form": form, "scope": scope, "d": dash.cached(scope)}
    )


def dashboard_xlsx(request):
    if denied := _require(request, policy.can_view_dashboard(request.user)):
        return denied
    scope = forms.DashboardFilter(request.user, request.GET or None).scope()
    if scope is None:
        raise Http404
    response = HttpResponse(
        dash.to_xlsx(dash.cached(scope), scope),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = 'attachment; filename="maillage-tableau-de-bord.xlsx"'
    return response


def dashboard_csv(request):
    """The same tables as the XLSX export, as one CSV (same rights, same filters)."""
    if denied := _require(request, policy.can_view_dashboard(request.user)):
        return denied
    scope = forms.DashboardFilter(request.user, request.GET or None).scope()
    if scope is None:
        raise Http404
    response = HttpResponse(dash.to_csv(dash.cached(scope), scope), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="maillage-tableau-de-bord.csv"'
    return response


def audit_log(request):
    """Chamber administrators: the log of their chamber (filter by advisor, establishment, date)."""
    why = _(
        "Le journal d'accès est réservé aux administrateurs de la chambre : demandez à "
        "l'administrateur de votre chambre si vous devez le consulter."
    )
    if denied := _require(request, accounts_policy.can_read_audit_log(request.user), why):
        return denied
    form = forms.AuditFilter(request.user, request.GET or None)
    entries = form.filter(
        accounts_policy.visible_audit_entries(request.user).select_related(
            "user", "establishment", "establishment__commune"
        )
    ).order_by("-at", "-pk")
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "atlas/audit_log.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )
