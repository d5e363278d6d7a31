"""Thin views of export support: the directory of export advisors and clusters, an SME's export
project with its ranked matches, contact requests to advisors and clusters, the addressee's inbox
and answers, and an advisor's own directory entry."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from maillage.directory import policy, selectors, services
from maillage.directory.forms import ExportAdvisorForm
from maillage.directory.models import (
    Cluster,
    ExportAdvisor,
    ExportContactRequest,
    ExportProject,
    ExportSector,
)
from maillage.viewhelpers import flash_errors


@login_required
def export_directory(request):
    """Who: any signed-in user (no e-mail addresses); an export advisor or a cluster contact also
    gets a link to the requests addressed to them (count of pending ones)."""
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
            "pending": policy.export_requests_addressed_to(request.user)
            .filter(status=ExportContactRequest.Status.PENDING)
            .count(),
            "is_addressee": policy.is_export_contact(request.user),
            "own_entry": ExportAdvisor.objects.filter(user=request.user).first(),
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

    project = ExportProject.objects.filter(establishment=establishment).first()
    if request.method == "POST":
        countries = request.POST.get("countries", "").replace(";", ",").split(",")
        try:
            project = services.save_export_project(
                request.user, establishment, countries, request.POST.getlist("sectors")
            )
        except ValidationError as exc:
            flash_errors(request, exc)
        else:
            messages.success(request, _("Projet export enregistré."))
            return redirect("export-project", pk=establishment.pk)
    requests = selectors.requests_of_establishment(establishment)
    closed = ExportContactRequest.CLOSED_UNANSWERED
    open_requests = [r for r in requests if r.status not in closed]
    return render(
        request,
        "directory/export_project.html",
        {
            "establishment": establishment,
            "project": project,
            # What was typed comes back on an error (nothing lost); else the stored codes as names.
            "countries_text": request.POST.get("countries", "")
            if request.method == "POST"
            else selectors.country_names_text(project.countries if project else []),
            "country_choices": selectors.country_choices(),
            "sectors": [
                (code, label, project is not None and code in project.sectors)
                for code, label in ExportSector.choices
            ],
            "matches": selectors.matches_for(project) if project else None,
            "requests": [
                {"request": r, "contact": selectors.addressee_contact(request.user, r)}
                for r in requests
            ],
            # Withdrawn or expired requests do not stop asking the same addressee again.
            "asked": {r.advisor_id for r in open_requests if r.advisor_id},
            "asked_clusters": {r.cluster_id for r in open_requests if r.cluster_id},
        },
    )


def _request_contact(request, pk: int, **target):
    establishment = _establishment(request, pk)
    try:
        services.request_export_contact(
            request.user, establishment, message=request.POST.get("message", ""), **target
        )
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(request, _("Demande de contact envoyée."))
    return redirect("export-project", pk=establishment.pk)


@login_required
@require_POST
def export_contact(request, pk: int, advisor_pk: int):
    """Who: users who may manage the establishment's export project."""
    advisor = get_object_or_404(ExportAdvisor.objects.select_related("user"), pk=advisor_pk)
    return _request_contact(request, pk, advisor=advisor)


@login_required
@require_POST
def export_cluster_contact(request, pk: int, cluster_pk: int):
    """Who: users who may manage the establishment's export project."""
    cluster = get_object_or_404(Cluster, pk=cluster_pk)
    return _request_contact(request, pk, cluster=cluster)


@login_required
def export_inbox(request):
    """Who: any signed-in user; each sees only the requests addressed to them (their export
    advisor entry, the clusters they are a contact of) — an empty list for everyone else."""
    rows = selectors.requests_addressed_to(request.user)
    return render(
        request,
        "directory/export_inbox.html",
        {"rows": [{"request": r, **selectors.describe_request(r)} for r in rows]},
    )


def _visible_request(request, pk: int):
    req = selectors.export_request(request.user, pk)
    if req is None:
        raise Http404
    return req


@login_required
def export_request(request, pk: int):
    """Who: the addressee (advisor or cluster contacts) and the SME's side (whoever may manage
    its export project); 404 for everyone else. Contact details only once accepted."""
    req = _visible_request(request, pk)
    addressee = policy.is_export_request_addressee(request.user, req)
    return render(
        request,
        "directory/export_request.html",
        {
            "req": req,
            **selectors.describe_request(req),
            "addressee": addressee,
            "can_answer": policy.can_answer_export_request(request.user, req)
            and req.status == ExportContactRequest.Status.PENDING,
            "can_withdraw": policy.can_withdraw_export_request(request.user, req)
            and req.status == ExportContactRequest.Status.PENDING,
            "requester_contact": selectors.requester_contact(request.user, req)
            if addressee
            else None,
            "addressee_contact": selectors.addressee_contact(request.user, req),
        },
    )


@login_required
@require_POST
def export_answer(request, pk: int):
    """Who: the addressee of the request (404 for whoever may not see it, 403 for the SME)."""
    req = _visible_request(request, pk)
    if not policy.can_answer_export_request(request.user, req):
        raise PermissionDenied
    answer = request.POST.get("answer")
    if answer not in ("accept", "decline"):
        messages.error(request, _("Choisissez d'accepter ou de décliner la demande."))
        return redirect("export-request", pk=req.pk)
    try:
        services.answer_export_contact(
            request.user, req, answer == "accept", request.POST.get("message", "")
        )
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(
            request,
            _("Demande acceptée : vos coordonnées sont communiquées à l'entreprise.")
            if answer == "accept"
            else _("Demande déclinée."),
        )
    return redirect("export-request", pk=req.pk)


@login_required
@require_POST
def export_withdraw(request, pk: int):
    """Who: the SME's side (whoever may request a contact for the establishment); 404 for whoever
    may not see the request, 403 for the addressee."""
    req = _visible_request(request, pk)
    if not policy.can_withdraw_export_request(request.user, req):
        raise PermissionDenied
    try:
        services.withdraw_export_contact(request.user, req)
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(request, _("Votre demande est retirée : le destinataire en est prévenu."))
    return redirect("export-request", pk=req.pk)


@login_required
def export_advisor_profile(request):
    """Who: an export advisor, for their own directory entry (404 for anyone without one)."""
    advisor = get_object_or_404(ExportAdvisor, user=request.user)
    if not policy.can_edit_export_advisor(request.user, advisor):
        raise PermissionDenied
    form = ExportAdvisorForm(request.POST or None, initial=ExportAdvisorForm.initial_for(advisor))
    if request.method == "POST" and form.is_valid():
        try:
            services.update_export_advisor(request.user, advisor, form.values())
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Votre fiche de conseiller est enregistrée."))
            return redirect("export-advisor-profile")
    return render(
        request,
        "directory/export_advisor_profile.html",
        {"form": form, "advisor": advisor, "country_choices": selectors.country_choices()},
    )
