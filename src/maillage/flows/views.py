"""Visits and flows on the web: record a visit with its flows in one form, add, edit, archive a flow
and read its history; small endpoints that feed the autocompletion lists (<datalist>, htmx)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from maillage.accounts.services import record_flow_view
from maillage.directory import policy as directory_policy
from maillage.flows import policy, services
from maillage.flows.forms import (
    UNIT_CHOICES,
    RecordedFlowForm,
    VisitFlowFormSet,
    VisitForm,
    proposed_rows,
)
from maillage.flows.models import Flow
from maillage.reference.fields import normalise_waste_code
from maillage.reference.models import ResourceClass, WasteCode

SUGGESTIONS_SHOWN = 20


def _establishment(request, pk: int):
    establishment = get_object_or_404(
        directory_policy.visible_establishments(request.user).select_related("commune", "naf"),
        pk=pk,
    )
    return establishment


def _field_label(name: str) -> str:
    """A flow field's French name, for its revision history."""
    field = Flow._meta.get_field(name)
    return str(field.verbose_name) if isinstance(field, models.Field) else name


def _flow(request, pk: int) -> Flow:
    return get_object_or_404(
        policy.visible_flows(request.user).select_related(
            "establishment", "establishment__commune", "resource_class", "waste_code"
        ),
        pk=pk,
    )


def _form_context(**extra) -> dict:
    classes = ResourceClass.objects.order_by("code").values_list("code", "label", "unit")
    return {"units": UNIT_CHOICES, "resource_classes": classes, **extra}


@login_required
def visit_create(request, pk: int):
    """Who: chamber staff of the establishment's own chamber (policy.can_record_visit); other
    users who may see it get 403, others 404."""
    establishment = _establishment(request, pk)
    if not policy.can_record_visit(request.user, establishment):
        raise PermissionDenied
    visit_form = VisitForm(request.POST or None)
    if request.method == "POST":
        formset = VisitFlowFormSet(request.POST, prefix="flux")
    else:  # the typical flows of its activity, to keep, complete or remove
        formset = VisitFlowFormSet(prefix="flux", proposed=proposed_rows(establishment))
    if request.method == "POST" and visit_form.is_valid() and formset.is_valid():
        flows = [
            form.instance
            for form in formset
            if form.has_changed() and form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        try:
            with transaction.atomic():
                services.save_visit(
                    request.user,
                    establishment,
                    date=visit_form.cleaned_data["date"],
                    notes=visit_form.cleaned_data["notes"],
                    flows=flows,
                )
        except ValidationError as exc:
            visit_form.add_error(None, exc)
        else:
            messages.success(
                request,
                _("Visite enregistrée avec %(n)d flux.") % {"n": len(flows)},
            )
            return redirect("establishment-detail", pk=establishment.pk)
    return render(
        request,
        "flows/visit_form.html",
        _form_context(establishment=establishment, visit_form=visit_form, formset=formset),
    )


@login_required
def flow_create(request, pk: int):
    """Who: whoever may edit the establishment's flows (its company users, its chamber's staff)."""
    establishment = _establishment(request, pk)
    if not policy.can_edit_flows(request.user, establishment):
        raise PermissionDenied
    form = RecordedFlowForm(request.POST or None, instance=Flow(establishment=establishment))
    if request.method == "POST" and form.is_valid():
        services.create_flow(request.user, form.instance)
        messages.success(request, _("Flux ajouté."))
        return redirect("establishment-detail", pk=establishment.pk)
    return render(
        request, "flows/flow_form.html", _form_context(establishment=establishment, form=form)
    )


@login_required
def flow_edit(request, pk: int):
    """Who: whoever may edit the flow's establishment; every change is kept in its history."""
    flow = _flow(request, pk)
    if not policy.can_edit_flows(request.user, flow.establishment):
        raise PermissionDenied
    before = services.snapshot_of(flow)
    form = RecordedFlowForm(request.POST or None, instance=flow)
    if request.method == "POST" and form.is_valid():
        if services.update_flow(request.user, form.instance, before) is None:
            messages.info(request, _("Aucune modification."))
        else:
            messages.success(
                request, _("Flux modifié ; l'ancienne version reste dans l'historique.")
            )
        return redirect("establishment-detail", pk=flow.establishment_id)
    return render(
        request,
        "flows/flow_form.html",
        _form_context(establishment=flow.establishment, form=form, flow=flow),
    )


@login_required
@require_POST
def flow_archive(request, pk: int):
    """Who: whoever may edit the flow's establishment. ``restaurer=1`` restores it."""
    flow = _flow(request, pk)
    if not policy.can_edit_flows(request.user, flow.establishment):
        raise PermissionDenied
    restore = request.POST.get("restaurer") == "1"
    services.set_archived(request.user, flow, not restore)
    messages.success(request, _("Flux restauré.") if restore else _("Flux archivé."))
    return redirect("establishment-detail", pk=flow.establishment_id)


@login_required
def flow_history(request, pk: int):
    """Who: whoever may read the flow (policy.visible_flows); chamber staff reads are audited."""
    flow = _flow(request, pk)
    if not policy.can_view_flow_history(request.user, flow):
        raise PermissionDenied

    record_flow_view(request.user, flow.establishment, detail=f"historique du flux {flow.pk}")
    revisions = [
        {
            "r": r,
            "changes": [(_field_label(name), pair[0], pair[1]) for name, pair in r.changes.items()],
        }
        for r in flow.revisions.select_related("user").order_by("-at", "-pk")
    ]
    return render(request, "flows/flow_history.html", {"flow": flow, "revisions": revisions})


def _query(request, field: str) -> str:
    """The typed text: htmx sends the input under its own name (``flux-0-waste_code`` in a
    formset), or ``q`` when called directly; other form values are ignored."""
    for name, value in request.GET.items():
        if name in ("q", field) or name.endswith(f"-{field}"):
            return value.replace("\x00", "").strip()[:60]  # PostgreSQL text holds no NUL
    return ""


@login_required
@require_GET
def waste_code_options(request):
    """<option>s of List of Waste entries matching the typed code or words (reference data)."""
    q = _query(request, "waste_code")
    qs = WasteCode.objects.filter(level=WasteCode.Level.ENTRY)
    digits = normalise_waste_code(q)
    if digits and len(digits) >= 2:
        qs = qs.filter(code__startswith=digits)
    elif q:
        qs = qs.filter(label__icontains=q)
    options = [
        (w.display, f"{w.display} {w.label}") for w in qs.order_by("code")[:SUGGESTIONS_SHOWN]
    ]
    return render(request, "flows/_options.html", {"options": options})
