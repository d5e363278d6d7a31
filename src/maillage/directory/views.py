"""Thin views of export support: the directory of export advisors and clusters, an SME's export
project with its ranked matches, contact requests and the advisor's answers."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from maillage.accounts import policy
from maillage.directory import selectors, services
from maillage.directory.models import AdvisorContactRequest, ExportAdvisor, ExportSector


@login_required
def export_directory(request):
    """Who: any signed-in user (no e-mail addresses); an advisor also sees the requests made to
    them, with the requester's e-mail once accepted."""
    own = [
        e
        for e in policy.visible_establishments(request.user)
        .select_related("commune__territory")  # what the policy reads per row: no query per row
        .order_by("name", "pk")[:50]
        if policy.can_manage_export_project(request.user, e)
    ]
    return render(
        request,
        "directory/export_directory.html",
        {
            "advisors": [
                {"advisor": a, "countries": [selectors.country_name(c) for c in a.countries]}
                for a in selectors.advisors()
            ],
            "clusters": selectors.clusters(),
            "inbox": selectors.requests_to_advisor(request.user),
            "own": own,
        },
    )


def _establishment(request, pk: int):
    establishment = get_object_or_404(policy.visible_establishments(request.user), pk=pk)
    if not policy.can_manage_export_project(request.user, establishment):
        raise Http404
    return establishment


@login_required
def export_project(request, pk: int):
    """Who: users who may edit the establishment (its company users, its chamber's advisors)."""
    establishment = _establishment(request, pk)
    from maillage.directory.models import ExportProject

    project = ExportProject.objects.filter(establishment=establishment).first()
    if request.method == "POST":
        countries = request.POST.get("countries", "").replace(";", ",").split(",")
        try:
            project = services.save_export_project(
                request.user, establishment, countries, request.POST.getlist("sectors")
            )
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("Projet export enregistré."))
            return redirect("export-project", pk=establishment.pk)
    requests = selectors.requests_of_establishment(establishment)
    asked = {r.advisor_id for r in requests}
    return render(
        request,
        "directory/export_project.html",
        {
            "establishment": establishment,
            "project": project,
            "countries_text": ", ".join(project.countries) if project else "",
            "sectors": [
                (code, label, project is not None and code in project.sectors)
                for code, label in ExportSector.choices
            ],
            "matches": selectors.matches_for(project) if project else None,
            "requests": [
                {
                    "request": r,
                    # Whoever manages the establishment (checked above) sees an advisor's
                    # e-mail once that advisor accepted (policy rules, export section).
                    "email": r.advisor.user.email
                    if r.status == AdvisorContactRequest.Status.ACCEPTED
                    else "",
                }
                for r in requests
            ],
            "asked": asked,
        },
    )


@login_required
@require_POST
def export_contact(request, pk: int, advisor_pk: int):
    """Who: users who may edit the establishment."""
    establishment = _establishment(request, pk)
    advisor = get_object_or_404(ExportAdvisor, pk=advisor_pk)
    try:
        services.request_advisor_contact(
            request.user, establishment, advisor, request.POST.get("message", "")
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Demande de contact envoyée."))
    return redirect("export-project", pk=establishment.pk)


@login_required
@require_POST
def export_answer(request, pk: int):
    """Who: the advisor the request is addressed to."""
    req = get_object_or_404(
        AdvisorContactRequest.objects.select_related("advisor", "requested_by"), pk=pk
    )
    if not policy.can_answer_contact_request(request.user, req):
        raise PermissionDenied
    try:
        services.answer_advisor_contact(request.user, req, request.POST.get("answer") == "accept")
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    return redirect("export-directory")
