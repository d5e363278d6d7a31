"""Marketplace pages: thin views that ask marketplace.policy, call selectors/services and render.
Every view says who may use it; anything not visible is a 404, anything not allowed a 403."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import F
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from maillage.directory import policy as directory_policy
from maillage.directory.models import Establishment
from maillage.marketplace import policy, selectors, services
from maillage.marketplace.forms import (
    DirectorySearchForm,
    NeedForm,
    ResponseForm,
    SupplierProfileForm,
)
from maillage.marketplace.models import (
    Attachment,
    ConsortiumSuggestions,
    Need,
    SupplierProfile,
)
from maillage.notifications import selectors as notification_selectors


def _my_establishments(user):
    return directory_policy.visible_establishments(user).filter(users=user).order_by("name", "pk")


@login_required
def need_list(request):
    """Who: any signed-in user; lists the needs the policy lets them see (visible_needs)."""
    mine = request.GET.get("mes") == "1"
    # PostgreSQL text cannot hold NUL: a pasted or forged \x00 must not reach the query.
    q = request.GET.get("q", "").replace("\x00", "")[:200]
    theme = request.GET.get("theme", "").replace("\x00", "")
    page = Paginator(selectors.needs_for(request.user, q, theme, mine), 30).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "marketplace/need_list.html",
        {
            "page": page,
            "q": q,
            "theme": theme,
            "mine": mine,
            "themes": Need.Theme.choices,
            "can_publish": _my_establishments(request.user).exists(),
            # Counters (notified, seen, responses) are the buyer's, as in the API.
            "counters_for": {n.pk for n in page if policy.can_edit_need(request.user, n)},
            "unread": notification_selectors.unread_count(request.user),
        },
    )


def _save_need_form(request, form, need=None):
    if not form.is_valid():
        return None
    need = form.save(commit=False)
    need.delivery_commune = form.cleaned_data["delivery_commune"]
    try:
        return services.save_need(request.user, need, form.cleaned_lots, form.cleaned_data["files"])
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for field, errors in exc.error_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            form.add_error(None, exc)
    return None


@login_required
def need_create(request):
    """Who: company users, for an establishment they represent (policy.can_publish_need_for)."""
    buyers = _my_establishments(request.user)
    if not buyers.exists():
        raise PermissionDenied(_("Seuls les utilisateurs d'entreprise publient des besoins."))
    form = NeedForm(request.POST or None, request.FILES or None, buyers=buyers)
    if request.method == "POST":
        need = _save_need_form(request, form)
        if need is not None:
            messages.success(
                request, _("Besoin enregistré en brouillon : publiez-le quand il est prêt.")
            )
            return redirect("marketplace:need-detail", pk=need.pk)
    return render(request, "marketplace/need_form.html", {"form": form, "need": None})


@login_required
def need_edit(request, pk: int):
    """Who: the buyer's users (policy.can_edit_need), while the need is a draft or published."""
    need = get_object_or_404(policy.visible_needs(request.user), pk=pk)
    if not policy.can_edit_need(request.user, need):
        raise PermissionDenied
    form = NeedForm(request.POST or None, request.FILES or None, instance=need)
    if request.method == "POST":
        saved = _save_need_form(request, form, need)
        if saved is not None:
            messages.success(request, _("Besoin modifié."))
            return redirect("marketplace:need-detail", pk=need.pk)
    return render(request, "marketplace/need_form.html", {"form": form, "need": need})


@login_required
def need_detail(request, pk: int):
    """Who: whoever the policy lets see the need. The buyer also sees matched suppliers, responses
    and consortium suggestions; a supplier sees its own response and the outcome."""
    need = get_object_or_404(
        policy.visible_needs(request.user).select_related("buyer__commune", "delivery_commune"),
        pk=pk,
    )
    user = request.user
    services.mark_seen(user, need)
    can_edit = policy.can_edit_need(user, need)
    lots = list(need.lots.select_related("winner__supplier"))
    suppliers = policy.responding_establishments(user, need)
    responses = list(selectors.responses_for(user, need))
    if can_edit and need.status == Need.Status.PUBLISHED:
        # Each open lot's candidates: the responses to it and those to the whole need.
        for lot in lots:
            lot.candidates = [r for r in responses if r.lot_id in (None, lot.pk)]
    context = {
        "need": need,
        "can_edit": can_edit,
        "show_buyer": policy.can_see_buyer(user, need),
        "lots": lots,
        "attachments": list(need.attachments.filter(response__isnull=True).order_by("pk")),
        "responses": responses,
        "response_form": ResponseForm(
            suppliers=Establishment.objects.filter(pk__in=[e.pk for e in suppliers]).order_by(
                "name", "pk"
            ),
            need=need,
        )
        if suppliers
        else None,
        "counters": selectors.with_counters(Need.objects.filter(pk=need.pk)).values(
            "n_notified", "n_seen", "n_responses"
        )[0],
        "matches": selectors.matches_for_buyer(need) if can_edit else [],
        **_consortia_context(user, need, lots),
        # rows that changed nothing (creation logged as draft → draft before issue 16.12) are hidden
        # lot decisions are kept whatever the need's status did
        "events": list(
            need.events.exclude(from_status=F("to_status"), lot__isnull=True)
            .select_related("by", "lot")
            .order_by("at", "pk")
        )
        if can_edit
        else [],
        "award_contacts": selectors.award_contacts(
            policy.award_contact_establishment_ids(user, need)
        ),
        # for the buyer: which supplier won which lots
        "won_lots": _won_lots(lots) if can_edit else [],
    }
    return render(request, "marketplace/need_detail.html", context)


def _won_lots(lots) -> list[tuple[str, list[int]]]:
    won: dict[str, list[int]] = {}
    for lot in lots:
        if lot.winner_id:
            won.setdefault(lot.winner.supplier.name, []).append(lot.number)
    return list(won.items())


def _consortia_context(user, need, lots, force: bool = False) -> dict:
    """The buyer's suggested groups: the stored ones, a background computation started when the
    inputs changed since (or on request)."""
    if not policy.can_view_consortium_suggestions(user, need) or len(lots) < 2:
        return {"consortia": [], "consortia_state": None}
    state = services.request_consortium_suggestions(need, force=force)
    return {
        "consortia": selectors.consortium_groups_for_display(state, lots),
        "consortia_state": state,
    }


@login_required
def need_consortia(request, pk: int):
    """Who: the buyer's users (policy.can_view_consortium_suggestions). GET: the suggested groups
    and the computation's status (htmx polls it while computing); POST: compute them again."""
    need = get_object_or_404(policy.visible_needs(request.user), pk=pk)
    if not policy.can_view_consortium_suggestions(request.user, need):
        raise PermissionDenied
    lots = list(need.lots.all())
    if request.method == "POST":
        context = _consortia_context(request.user, need, lots, force=True)
        if not request.htmx:
            return redirect("marketplace:need-detail", pk=need.pk)
    else:
        state = ConsortiumSuggestions.objects.filter(need=need).first()
        context = {
            "consortia": selectors.consortium_groups_for_display(state, lots),
            "consortia_state": state,
        }
    return render(request, "marketplace/_consortia.html", {"need": need, **context})


@login_required
@require_POST
def need_transition(request, pk: int):
    """Who: the buyer's users. Actions: publish, close (awarded to a response / not awarded),
    archive."""
    need = get_object_or_404(policy.visible_needs(request.user), pk=pk)
    action = request.POST.get("action")
    try:
        if action == "publish":
            matches = services.publish(request.user, need)
            notified = sum(1 for m in matches if m.notified_at)
            text = _(
                "Besoin publié : %(found)d fournisseur(s) pertinent(s) trouvé(s), "
                "%(n)d prévenu(s) par la plateforme."
            ) % {"found": len(matches), "n": notified}
            if notified < len(matches):
                text += " " + _(
                    "Invitez les autres depuis la liste des fournisseurs pertinents "
                    "(leurs contacts reçoivent un courriel)."
                )
            messages.success(request, text)
        elif action == "close":
            winner = None
            if request.POST.get("winner"):
                winner = get_object_or_404(
                    policy.visible_responses(request.user).filter(need=need),
                    pk=request.POST["winner"],
                )
            services.close(request.user, need, winner)
            messages.success(request, _("Besoin clos."))
        elif action == "archive":
            services.transition(request.user, need, Need.Status.ARCHIVED)
            messages.success(request, _("Besoin archivé."))
        else:
            messages.error(request, _("Action inconnue."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("marketplace:need-detail", pk=need.pk)


@login_required
@require_POST
def lot_award(request, pk: int, number: int):
    """Who: the buyer's users (policy.can_edit_need), on a published need: award lot ``number``
    to one response for it (``action=award``, ``winner``: a response the buyer reads) or close it
    without award (``action=no_award``). Others who see the need: 403; others: 404."""
    need = get_object_or_404(policy.visible_needs(request.user), pk=pk)
    if not policy.can_edit_need(request.user, need):
        raise PermissionDenied
    lot = get_object_or_404(need.lots, number=number)
    action = request.POST.get("action")
    winner = None
    if action == "award":
        if not request.POST.get("winner", "").isdigit():
            messages.error(request, _("Choisissez la réponse retenue pour ce lot."))
            return redirect("marketplace:need-detail", pk=need.pk)
        winner = get_object_or_404(
            policy.visible_responses(request.user)
            .filter(need=need)
            .select_related("supplier", "consortium"),
            pk=int(request.POST["winner"]),
        )
    elif action != "no_award":
        messages.error(request, _("Action inconnue."))
        return redirect("marketplace:need-detail", pk=need.pk)
    try:
        services.award_lot(request.user, lot, winner)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        text = (
            _("Lot %(n)d attribué à %(who)s : ses contacts vous sont communiqués.")
            % {"n": lot.number, "who": winner.supplier.name}
            if winner
            else _("Lot %(n)d clos sans attribution.") % {"n": lot.number}
        )
        need.refresh_from_db(fields=["status"])
        if need.is_closed:
            text += " " + _("Tous les lots sont décidés : le besoin est clos.")
        messages.success(request, text)
    return redirect("marketplace:need-detail", pk=need.pk)


@login_required
@require_POST
def need_invite(request, pk: int):
    """Who: the buyer's users (policy.can_edit_need), on a published need: invite suppliers of
    its match list (``supplier``: establishment ids, only those of the list count)."""
    need = get_object_or_404(policy.visible_needs(request.user), pk=pk)
    if not policy.can_edit_need(request.user, need):
        raise PermissionDenied
    ids = [int(v) for v in request.POST.getlist("supplier") if v.isdigit()]
    try:
        result = services.invite(request.user, need, ids)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        text = ngettext(
            "%(n)d fournisseur invité.", "%(n)d fournisseurs invités.", result["reached"]
        ) % {"n": result["reached"]}
        if result["unreachable"]:
            text += " " + ngettext(
                "%(n)d sans compte ni courriel de contact : demandez à votre chambre.",
                "%(n)d sans compte ni courriel de contact : demandez à votre chambre.",
                result["unreachable"],
            ) % {"n": result["unreachable"]}
        messages.success(request, text)
    return redirect("marketplace:need-detail", pk=need.pk)


@login_required
@require_POST
def need_respond(request, pk: int):
    """Who: users of an establishment that may see the need, other than the buyer, before the
    closing date (policy.responding_establishments)."""
    need = get_object_or_404(policy.visible_needs(request.user), pk=pk)
    suppliers = policy.responding_establishments(request.user, need)
    if not suppliers:
        raise PermissionDenied(_("Ce besoin n'accepte pas de réponse de votre part."))
    form = ResponseForm(
        request.POST,
        request.FILES,
        suppliers=Establishment.objects.filter(pk__in=[e.pk for e in suppliers]).order_by("pk"),
        need=need,
    )
    if form.is_valid():
        try:
            services.respond(
                request.user,
                need,
                form.cleaned_data["supplier"],
                message=form.cleaned_data["message"],
                price_band=form.cleaned_data["price_band"] or "",
                files=form.cleaned_data["files"],
                partners=form.cleaned_data["partners"],
                lot=form.cleaned_data.get("lot"),
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Réponse envoyée à l'acheteur."))
    else:
        messages.error(
            request,
            _("Réponse non envoyée : %(e)s")
            % {"e": " ".join(str(e) for errs in form.errors.values() for e in errs)},
        )
    return redirect("marketplace:need-detail", pk=need.pk)


@login_required
@require_POST
def response_shortlist(request, pk: int):
    """Who: the buyer's users (policy.can_edit_need). htmx swaps the response's row."""
    response = get_object_or_404(
        policy.visible_responses(request.user).select_related("need", "supplier__commune"), pk=pk
    )
    if not policy.can_edit_need(request.user, response.need):
        raise PermissionDenied
    try:
        services.shortlist(request.user, response, on=request.POST.get("on", "1") == "1")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    if request.htmx:
        return render(
            request,
            "marketplace/_response_row.html",
            {"r": response, "need": response.need, "can_edit": True},
        )
    return redirect("marketplace:need-detail", pk=response.need_id)


@login_required
def attachment_download(request, pk: int):
    """Who: a need's attachments go to whoever sees the need; a response's to whoever sees the
    response (its supplier and the buyer)."""
    attachment = get_object_or_404(Attachment, pk=pk)
    if not policy.visible_needs(request.user).filter(pk=attachment.need_id).exists():
        raise Http404
    if (
        attachment.response_id
        and not policy.visible_responses(request.user).filter(pk=attachment.response_id).exists()
    ):
        raise Http404
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404(_("Fichier introuvable.")) from exc
    return FileResponse(handle, as_attachment=True, filename=attachment.name)


@login_required
def directory(request):
    """Who: any signed-in user (policy.visible_supplier_profiles); anonymous visitors go to login."""
    form = DirectorySearchForm(request.GET or None)
    results: list | selectors.SupplierResults = []
    if form.is_valid():
        d = form.cleaned_data
        results = selectors.search_suppliers(
            request.user,
            q=d["q"] or "",
            category=d["category"] or "",
            commune=d["commune"],
            max_km=d["km"],
            size=d["size"] or "",
            network_id=d["network"].pk if d["network"] else None,
        )
    elif not request.GET:
        results = selectors.search_suppliers(request.user)
    template = (
        "marketplace/_directory_results.html" if request.htmx else "marketplace/directory.html"
    )
    page = Paginator(results, 50).get_page(request.GET.get("page"))
    shown = [p.establishment_id for p, _d in page]
    # Contacts and the establishment page only where the policy lets this user see them.
    visible = directory_policy.visible_establishment_ids(request.user, shown)
    contacts: dict[int, list] = {}
    for c in selectors.award_contacts([pk for pk in shown if pk in visible]):
        contacts.setdefault(c["establishment_id"], []).append(c)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        template,
        {
            "form": form,
            "page": page,
            "results": [
                (p, d, p.establishment_id in visible, contacts.get(p.establishment_id, []))
                for p, d in page
            ],
            "total": page.paginator.count,
            "query": query.urlencode(),
        },
    )


@login_required
def profile_edit(request, establishment_pk: int):
    """Who: whoever may edit the establishment (its users, its chamber's advisors)."""
    establishment = get_object_or_404(
        directory_policy.visible_establishments(request.user), pk=establishment_pk
    )
    if not policy.can_edit_supplier_profile(request.user, establishment):
        raise PermissionDenied
    profile = SupplierProfile.objects.filter(establishment=establishment).first()
    profile = profile or SupplierProfile(establishment=establishment)
    form = SupplierProfileForm(request.POST or None, instance=profile)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_supplier_profile(request.user, form.save(commit=False))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Profil fournisseur enregistré."))
            return redirect("marketplace:directory")
    return render(
        request, "marketplace/profile_form.html", {"form": form, "establishment": establishment}
    )
