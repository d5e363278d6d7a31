"""Detection runs from the web: start one (advisors and chamber administrators), follow it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from maillage import runs
from maillage.accounts.services import record_flow_views
from maillage.directory import policy as directory_policy
from maillage.flows import policy as flows_policy
from maillage.flows.models import Flow
from maillage.synergies import cards, introductions, policy, selectors, services
from maillage.synergies.filters import SuggestionFilter
from maillage.synergies.forms import TransitionForm
from maillage.synergies.models import DetectionRun, Suggestion
from maillage.synergies.tasks import run_detection


@login_required
@require_POST
def start_detection(request):
    """Who: chamber staff, for their own chamber only. « Relancer » on a failed run posts here
    too. A run of the chamber still alive (not lost, see maillage.runs) is followed instead of
    starting a second one."""
    if not policy.can_run_detection(request.user):
        raise PermissionDenied
    chamber_runs = DetectionRun.objects.filter(chamber=request.user.chamber)
    current = runs.active(chamber_runs).first()
    if current is not None:
        messages.info(request, _("Une détection est déjà en cours pour votre chambre."))
        return redirect("detection-run", pk=current.pk)
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
    """Who: staff of the run's chamber. The page refreshes itself (htmx) until the run ends; a
    run whose worker died is shown failed with the reason, and « Relancer » to those who may
    start a detection."""
    visible = policy.visible_detection_runs(request.user)
    runs.recover_stale(visible.filter(pk=pk))
    run = get_object_or_404(visible, pk=pk)
    template = "synergies/_run_status.html" if request.htmx else "synergies/detection_run.html"
    context = {
        "run": run,
        "summary": selectors.run_summary(run),
        "can_restart": run.state == DetectionRun.State.FAILED
        and policy.can_run_detection(request.user)
        and run.chamber_id == request.user.chamber_id,
    }
    return render(request, template, context)


def _staff_flow(request, pk: int):
    """A flow chamber staff may read (flows_policy.visible_flows, can_view_flows); others 404 / 403."""

    _staff_only(request.user)
    flow = get_object_or_404(
        flows_policy.visible_flows(request.user).select_related(
            "establishment__commune", "resource_class"
        ),
        pk=pk,
    )
    if not flows_policy.can_view_flows(request.user, flow.establishment):
        raise PermissionDenied
    assert isinstance(flow, Flow)
    return flow


@login_required
def flow_partners(request, pk: int):
    """Who: chamber staff who may read the flow (flows_policy.visible_flows and can_view_flows); others
    404 (not visible) or 403 (companies). POST runs the engine's one-flow detection live (the
    same as ``detect --flow``), GET shows the partners found for the flow, best first, each with
    its explanation; the partners' data shown is audited."""
    flow = _staff_flow(request, pk)
    if request.method == "POST":
        counts = services.detect_for_flow(flow)
        found = sum(c.get("créées", 0) + c.get("mises à jour", 0) for c in counts.values())
        messages.success(
            request, _("Recherche terminée : %(n)s suggestion(s) pour ce flux.") % {"n": found}
        )
        return redirect("flow-partners", pk=flow.pk)
    suggestions = list(selectors.suggestions_for_flow(request.user, flow)[:50])

    shown: set[int] = set()
    for s in suggestions:
        shown |= selectors.suggestion_establishment_ids(s)
    record_flow_views(
        request.user, shown - {flow.establishment_id}, detail=f"partenaires du flux {flow.pk}"
    )
    return render(
        request,
        "synergies/flow_partners.html",
        {"flow": flow, "rows": selectors.rows_for_page(request.user, suggestions)},
    )


@login_required
def suggestion_list(request):
    """Who: chamber staff see the suggestions involving their chamber (policy.visible_suggestions);
    others get 403. Filters (company, commune, EPCI, resource class, score min, distance max,
    kind, status) and sort (score, distance, quantity, date) by django-filter; 50 per page."""
    if not policy.can_list_suggestions(request.user):
        raise PermissionDenied

    filterset = SuggestionFilter(
        request.GET or None, queryset=selectors.suggestions_for(request.user)
    )
    qs = filterset.qs if filterset.is_bound and filterset.is_valid() else filterset.queryset
    if filterset.is_bound and not filterset.is_valid():
        qs = qs.none()
    # The page is chosen on primary keys; its rows are joined (and cached) for that page only.
    page = Paginator(qs.values_list("pk", flat=True), 50).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "synergies/suggestion_list.html",
        {
            "page": page,
            "cards": cards.cards_html(request.user, page.object_list),
            "filter": filterset,
            "query": params.urlencode(),
        },
    )


def _staff_only(user) -> None:
    if not policy.can_list_suggestions(user):
        raise PermissionDenied


def _managed_suggestion(request, pk: int) -> Suggestion:
    _staff_only(request.user)
    return get_object_or_404(
        policy.visible_suggestions(request.user).select_related(
            "resource_class",
            "offer_flow__establishment__commune",
            "need_flow__establishment__commune",
            "prospect__commune",
        ),
        pk=pk,
    )


@login_required
def suggestion_board(request):
    """Who: chamber staff (suggestions of their chamber, policy.visible_suggestions); others 403.
    One column per pipeline status, best first."""
    _staff_only(request.user)
    columns = selectors.board_columns(request.user)
    for column in columns:
        column["cards"] = cards.cards_html(request.user, column["pks"], "mini")
        column["shown"] = len(column["pks"])
    return render(request, "synergies/board.html", {"columns": columns})


def _render_detail(request, suggestion, form=None, status=200):
    context = selectors.suggestion_page(request.user, suggestion)
    # The page shows both sides' quantities: every such read by chamber staff is audited.

    record_flow_views(
        request.user,
        selectors.suggestion_establishment_ids(suggestion),
        detail=f"suggestion {suggestion.pk}",
    )
    context["form"] = form or TransitionForm()
    context["legal_path"] = selectors.legal_path(suggestion)
    return render(request, "synergies/suggestion_detail.html", context, status=status)


@login_required
def suggestion_detail(request, pk: int):
    """Who: chamber staff of the chambers involved (others 404; non-staff 403)."""
    return _render_detail(request, _managed_suggestion(request, pk))


@login_required
@require_POST
def suggestion_propose(request, pk: int):
    """Who: advisors who manage the suggestion (policy.can_propose_introduction)."""
    suggestion = _managed_suggestion(request, pk)
    if not policy.can_propose_introduction(request.user, suggestion):
        raise PermissionDenied
    try:
        introductions.propose_introduction(suggestion, request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _(
                "Mise en relation proposée : les deux entreprises peuvent l'accepter ou la décliner."
            ),
        )
        _warn_unreachable_sides(request, suggestion)
    return redirect("suggestion-detail", pk=suggestion.pk)


def _warn_unreachable_sides(request, suggestion) -> None:
    """An establishment that no user represents cannot answer: say so, and how to proceed."""
    ids = list(suggestion.introductions.values_list("establishment_id", flat=True))
    missing = introductions.establishments_without_users(ids)
    if not missing:
        return
    visible = directory_policy.visible_establishment_ids(request.user, missing)
    names = dict(
        suggestion.introductions.filter(establishment_id__in=visible).values_list(
            "establishment_id", "establishment__name"
        )
    )
    for pk in missing:
        messages.warning(
            request,
            _(
                "« %(name)s » n'a aucun compte utilisateur : elle ne recevra pas la proposition et "
                "ne pourra pas répondre. Invitez un de ses contacts à créer un compte (fiche "
                "établissement) ou contactez-la directement pour recueillir son accord."
            )
            % {"name": names.get(pk) or _("L'établissement d'une chambre partenaire")},
        )


@login_required
@require_POST
def suggestion_transition(request, pk: int):
    """Who: advisors who manage the suggestion (policy.can_manage_suggestion). A bad request is
    shown again with its error in French, nothing changed."""
    suggestion = _managed_suggestion(request, pk)
    if not policy.can_manage_suggestion(request.user, suggestion):
        raise PermissionDenied
    form = TransitionForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.change_status(
                suggestion,
                request.user,
                data["to_status"],
                data["note"],
                data["actual_quantity"],
                data["actual_savings_eur"],
                reason_code=data.get("abandon_reason_code") or "",
                agreement_on=data.get("agreement_on"),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Statut mis à jour."))
            return redirect("suggestion-detail", pk=suggestion.pk)
    suggestion.refresh_from_db()
    return _render_detail(request, suggestion, form, status=400)


@login_required
def opportunity_list(request):
    """Who: company users, for the establishments they represent (policy.visible_introductions);
    others 403. The other side stays anonymous until both accepted."""
    if not policy.can_view_opportunities(request.user):
        raise PermissionDenied
    rows = selectors.opportunities_for(request.user)
    introductions.mark_viewed(request.user, [row["i"] for row in rows])
    return render(
        request,
        "synergies/opportunity_list.html",
        {"rows": rows, "leads": selectors.leads_for(request.user)},
    )


@login_required
@require_POST
def opportunity_respond(request, pk: int):
    """Who: a company user representing the introduction's establishment; others 404."""
    introduction = get_object_or_404(policy.visible_introductions(request.user), pk=pk)
    answer = request.POST.get("reponse")
    if answer not in ("accepter", "decliner"):
        messages.error(request, _("Réponse inconnue : acceptez ou déclinez."))
        return redirect("opportunity-list")
    try:
        introductions.respond_introduction(request.user, introduction, accept=answer == "accepter")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("Vous avez accepté la mise en relation.")
            if answer == "accepter"
            else _("Vous avez décliné la mise en relation."),
        )
    return redirect("opportunity-list")
