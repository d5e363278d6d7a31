"""Detection runs from the web: start one (advisors and chamber administrators), follow it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from maillage.accounts import policy
from maillage.synergies import selectors
from maillage.synergies.models import DetectionRun, Suggestion
from maillage.synergies.tasks import run_detection


@login_required
@require_POST
def start_detection(request):
    """Who: chamber staff, for their own chamber only."""
    if not policy.can_run_detection(request.user):
        raise PermissionDenied
    run = DetectionRun.objects.create(
        chamber=request.user.chamber,
        requested_by=request.user,
        step=_("en attente d'un processus de calcul"),
    )
    run_detection.enqueue(run.pk)
    messages.info(request, _("Détection lancée."))
    return redirect("detection-run", pk=run.pk)


@login_required
def detection_run(request, pk: int):
    """Who: staff of the run's chamber. The page refreshes itself (htmx) until the run ends."""
    run = get_object_or_404(policy.visible_detection_runs(request.user), pk=pk)
    template = "synergies/_run_status.html" if request.htmx else "synergies/detection_run.html"
    return render(request, template, {"run": run, "summary": selectors.run_summary(run)})


@login_required
def suggestion_list(request):
    """Who: chamber staff see the suggestions involving their chamber (policy.visible_suggestions);
    others get 403. Filters: kind, status. 50 per page."""
    if not policy.can_run_detection(request.user) and not request.user.is_superuser:
        raise PermissionDenied
    kind = request.GET.get("type") if request.GET.get("type") in Suggestion.Kind.values else None
    status = (
        request.GET.get("statut") if request.GET.get("statut") in Suggestion.Status.values else None
    )
    page = Paginator(selectors.suggestions_for(request.user, kind, status), 50).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "synergies/suggestion_list.html",
        {
            "page": page,
            "rows": selectors.rows_for_page(request.user, page.object_list),
            "kinds": Suggestion.Kind.choices,
            "statuses": Suggestion.Status.choices,
            "kind": kind or "",
            "status": status or "",
        },
    )
