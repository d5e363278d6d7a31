"""Thin views: ask the policy, call selectors, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from maillage.accounts import policy as accounts_policy
from maillage.accounts import services
from maillage.directory import policy as directory_policy
from maillage.directory import services as directory_services
from maillage.flows import policy as flows_policy
from maillage.web import selectors
from maillage.web.forms import (
    EstablishmentCreateForm,
    EstablishmentEditForm,
    EstablishmentSearchForm,
)


@login_not_required
def home(request):
    """Who may see what: anonymous visitors get public aggregates only; each role its own summary."""
    user = request.user
    if not user.is_authenticated:
        return render(request, "web/home_public.html", {"stats": selectors.public_statistics()})
    if accounts_policy.is_chamber_staff(user):
        return render(request, "web/home_chamber.html", selectors.chamber_overview(user))
    if accounts_policy.is_animator(user):
        return render(request, "web/home_animator.html", selectors.animator_overview(user))
    if directory_policy.is_export_contact(user):
        return redirect("export-inbox")  # export advisors and cluster contacts: their requests
    establishments = (
        directory_policy.visible_establishments(user)
        .select_related("naf", "commune")
        .order_by("name", "pk")[:200]
    )
    return render(request, "web/home_member.html", {"establishments": establishments})


@login_required
def establishment_search(request):
    """Who: chamber staff (their chamber's and partner chambers' establishments, as the policy
    says); others get 403. htmx requests get the result table only."""
    if not directory_policy.can_search_establishments(request.user):
        raise PermissionDenied
    form = EstablishmentSearchForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    page = Paginator(
        selectors.search_establishments(request.user, filters), selectors.SEARCH_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode()}
    if request.htmx:
        return render(request, "web/_establishment_results.html", context)
    return render(request, "web/establishment_search.html", context)


def establishment_detail(request, pk: int):
    """Identity and contacts for whoever may see the establishment; visits and raw flows only if
    the policy allows (audited for chamber staff); suggestions for chamber staff."""
    establishment = get_object_or_404(
        directory_policy.visible_establishments(request.user).select_related(
            "naf", "commune", "commune__departement", "commune__epci"
        ),
        pk=pk,
    )
    if not directory_policy.can_view_establishment(request.user, establishment):
        raise Http404
    flows = archived = None
    if flows_policy.can_view_flows(request.user, establishment):
        all_flows = list(
            establishment.flows.select_related("resource_class", "waste_code").order_by(
                "direction", "category", "pk"
            )
        )
        flows = [f for f in all_flows if not f.is_archived]
        archived = [f for f in all_flows if f.is_archived]
        services.record_flow_view(request.user, establishment, detail="fiche établissement")
    return render(
        request,
        "web/establishment_detail.html",
        {
            "establishment": establishment,
            "flows": flows,
            "archived_flows": archived,
            "chamber": establishment.chamber,
            **selectors.establishment_page(request.user, establishment),
        },
    )


@login_required
def establishment_create(request):
    """Who: chamber staff, for a commune of their own chamber's territory
    (directory_policy.can_create_establishment); anyone else gets 403."""
    if not directory_policy.can_create_establishment(request.user):
        raise PermissionDenied
    form = EstablishmentCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            establishment = directory_services.create_establishment(request.user, form.cleaned_data)
        except PermissionDenied as exc:
            form.add_error("commune", str(exc))
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Établissement ajouté."))
            return redirect("establishment-detail", pk=establishment.pk)
    return render(request, "web/establishment_create.html", {"form": form})


@login_required
def establishment_edit(request, pk: int):
    """Who: the establishment's company users and its own chamber's staff
    (directory_policy.can_edit_establishment); others who may see it get 403, the rest 404. The ICPE
    rubriques field is shown to the chamber's staff only (directory_policy.can_set_icpe_rubriques)."""
    establishment = get_object_or_404(
        directory_policy.visible_establishments(request.user).select_related("naf"), pk=pk
    )
    if not directory_policy.can_edit_establishment(request.user, establishment):
        raise PermissionDenied
    initial = {
        "name": establishment.name,
        "naf": establishment.naf_id,
        "headcount_band": establishment.headcount_band,
        "address": establishment.address,
        "icpe_rubriques": ", ".join(establishment.icpe_rubriques),
    }
    form = EstablishmentEditForm(request.POST or None, initial=initial)
    if not directory_policy.can_set_icpe_rubriques(request.user, establishment):
        del form.fields["icpe_rubriques"]  # the chamber's advisors record them
    if request.method == "POST" and form.is_valid():
        changed = directory_services.update_establishment(
            request.user, establishment, form.cleaned_data
        )
        messages.success(
            request, _("Établissement modifié.") if changed else _("Aucune modification.")
        )
        return redirect("establishment-detail", pk=establishment.pk)
    return render(
        request, "web/establishment_edit.html", {"establishment": establishment, "form": form}
    )
