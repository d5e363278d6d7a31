"""Writes of the marketplace: needs and their lifecycle, matching and notification on publish,
responses, shortlist, closing, supplier profiles. Every function checks the policy first."""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from maillage.accounts import services as audit
from maillage.accounts.models import AuditLog
from maillage.directory.models import Establishment
from maillage.engine import taxonomy
from maillage.marketplace import policy, selectors, workflow
from maillage.marketplace.models import (
    THEME_KINDS,
    Attachment,
    Consortium,
    ConsortiumSuggestions,
    Lot,
    Match,
    Need,
    NeedEvent,
    Response,
    ResponseVersion,
    SupplierProfile,
)
from maillage.marketplace.notifications import (
    CONSORTIUM_RESPONSE,
    LOT_AWARD,
    NEED_EXPIRED,
    NEW_NEED,
    NEW_RESPONSE,
    OUTCOME,
    REMINDER,
    SHORTLISTED,
)
from maillage.notifications import notify
from maillage.notifications.registry import subject_key
from maillage.notifications.services import absolute_url, send_email

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
ALLOWED_EXTENSIONS = {
    "pdf",
    "doc",
    "docx",
    "odt",
    "xls",
    "xlsx",
    "ods",
    "png",
    "jpg",
    "jpeg",
    "txt",
}
MATCH_LIMIT = 30
MAX_PARTNERS = 4


def check_need(need: Need) -> None:
    """Theme-specific rules, with French messages the form shows next to the field."""
    errors = {}
    if need.kind not in THEME_KINDS.get(need.theme, ()):
        errors["kind"] = _("Cette nature ne correspond pas au thème choisi.")
    if need.visibility == Need.Visibility.CHAMBER and not need.visibility_chamber_id:
        errors["visibility_chamber"] = _("Choisissez la chambre qui verra ce besoin.")
    if need.visibility == Need.Visibility.NETWORK and not need.visibility_network_id:
        errors["visibility_network"] = _("Choisissez le réseau qui verra ce besoin.")
    if need.theme == Need.Theme.INNOVATION and not need.expertise:
        errors["expertise"] = _("Précisez l'expertise recherchée.")
    if need.theme == Need.Theme.PURCHASING and not need.category:
        errors["category"] = _("Choisissez une catégorie d'achat.")
    if errors:
        raise ValidationError(errors)


def check_attachment(upload) -> None:
    ext = upload.name.rsplit(".", 1)[-1].lower() if "." in upload.name else ""
    if ext not in ALLOWED_EXTENSIONS:
        raise ValidationError(
            _("Type de fichier non accepté (« %(name)s ») : %(allowed)s.")
            % {"name": upload.name, "allowed": ", ".join(sorted(ALLOWED_EXTENSIONS))}
        )
    if upload.size > MAX_ATTACHMENT_BYTES:
        raise ValidationError(
            _("« %(name)s » dépasse 10 Mo.") % {"name": upload.name},
        )


def _log(need: Need, user, from_status: str, to_status: str, note: str = "") -> None:
    """Record a status change; a step that leaves the status as it was is not one (issue 16.12:
    « brouillon → brouillon » in the history)."""
    if from_status == to_status:
        return
    NeedEvent.objects.create(
        need=need, by=user, from_status=from_status, to_status=to_status, note=note
    )


@transaction.atomic
def save_need(user, need: Need, lots: list[tuple[str, str]] = (), files=()) -> Need:
    """Create or update a need (with its lots, replaced, and new attachments)."""
    if need.pk is None:
        if not policy.can_publish_need_for(user, need.buyer):
            raise PermissionDenied(_("Vous ne représentez pas cet établissement."))
        need.created_by = user
    elif not policy.can_edit_need(user, need):
        raise PermissionDenied(_("Seul l'acheteur peut modifier ce besoin."))
    if need.status not in (Need.Status.DRAFT, Need.Status.PUBLISHED):
        raise ValidationError(_("Un besoin clos ou archivé ne se modifie plus."))
    check_need(need)
    for f in files:
        check_attachment(f)
    is_new = need.pk is None
    need.save()
    if lots or not is_new:
        _save_lots(need, lots)
    for f in files:
        Attachment.objects.create(need=need, file=f, name=f.name[:255], uploaded_by=user)
    return need


def _save_lots(need: Need, lots) -> None:
    """The need's lots become ``lots`` (numbered from 1), updated in place so that responses to a
    lot keep pointing at it; a lot that already has responses, or is already decided (awarded or
    closed without award), cannot be removed."""
    existing = {lot.number: lot for lot in need.lots.all()}
    wanted = list(enumerate(lots, start=1))
    removed = [lot for number, lot in existing.items() if number > len(wanted)]
    decided = [lot for lot in removed if lot.decided_at is not None]
    if decided:
        raise ValidationError(
            {
                "lots": _("Le lot « %(lot)s » est déjà %(outcome)s : il ne peut être retiré.")
                % {"lot": decided[0].title, "outcome": decided[0].get_outcome_display()}
            }
        )
    answered = [lot for lot in removed if lot.responses.exists()]
    if answered:
        raise ValidationError(
            {
                "lots": _("Le lot « %(lot)s » a déjà reçu des réponses : il ne peut être retiré.")
                % {"lot": answered[0].title}
            }
        )
    for lot in removed:
        lot.delete()
    for number, (title, category) in wanted:
        lot = existing.get(number)
        if lot is None:
            Lot.objects.create(need=need, number=number, title=title[:200], category=category)
        elif (lot.title, lot.category) != (title[:200], category):
            lot.title, lot.category = title[:200], category
            lot.save(update_fields=["title", "category"])


def transition(user, need: Need, to_status: str, note: str = "") -> Need:
    """Move a need along its lifecycle if allowed (workflow.TRANSITIONS), logged with who/when."""
    if not policy.can_edit_need(user, need):
        raise PermissionDenied(_("Seul l'acheteur peut faire avancer ce besoin."))
    return _apply_transition(user, need, to_status, note)


def _apply_transition(user, need: Need, to_status: str, note: str = "") -> Need:
    """The transition itself (workflow checked, dates set, logged); ``user`` is None when the
    platform acts on its own (closing date passed)."""
    if not workflow.allowed(need.status, to_status):
        raise ValidationError(
            _("Passage impossible de « %(from)s » à « %(to)s ».")
            % {"from": need.get_status_display(), "to": Need.Status(to_status).label}
        )
    from_status = need.status
    need.status = to_status
    now = timezone.now()
    if to_status == Need.Status.PUBLISHED:
        if not need.title.strip():
            raise ValidationError(_("Donnez un intitulé au besoin avant de le publier."))
        if need.closes_on < timezone.localdate():
            raise ValidationError(_("La date de clôture est déjà passée : modifiez-la d'abord."))
        need.published_at = now
    if to_status in (Need.Status.AWARDED, Need.Status.NOT_AWARDED):
        need.closed_at = now
    need.save(update_fields=["status", "published_at", "closed_at"])
    _log(need, user, from_status, to_status, note)
    audit.record_change(
        user,
        [need.buyer_id],
        AuditLog.Action.CHANGE_NEED,
        f"besoin {need.pk} : {from_status} → {to_status}",
    )
    return need


@transaction.atomic
def publish(user, need: Need) -> list[Match]:
    """Publish a draft, find the relevant suppliers and notify them (once each)."""
    transition(user, need, Need.Status.PUBLISHED)
    matches = match_and_notify(need)
    request_consortium_suggestions(need)
    return matches


def match_and_notify(need: Need, limit: int = MATCH_LIMIT) -> list[Match]:
    """Run the engine over the suppliers allowed to see the need; store one Match per supplier and
    notify the users of those not yet notified. Re-running never notifies anyone twice."""
    candidates = selectors.rank_candidates(need, limit=limit)
    existing = {m.supplier_id: m for m in need.matches.all()}
    for rank, c in enumerate(candidates, start=1):
        m = existing.get(c.supplier_id)
        if m is None:
            existing[c.supplier_id] = Match.objects.create(
                need=need,
                supplier_id=c.supplier_id,
                rank=rank,
                score=c.score,
                explanation=c.explanation,
            )
        else:
            m.rank, m.score, m.explanation = rank, c.score, c.explanation
            m.save(update_fields=["rank", "score", "explanation"])
    to_notify = [m for m in existing.values() if m.notified_at is None]
    users_by_supplier = selectors.users_of([m.supplier_id for m in to_notify])
    url = reverse("marketplace:need-detail", args=[need.pk])
    now = timezone.now()
    for m in to_notify:
        users = users_by_supplier.get(m.supplier_id, [])
        if not users:
            continue
        notify(
            users,
            NEW_NEED,
            dedup_key=subject_key(need),
            title=_("Nouveau besoin : %(title)s") % {"title": need.title},
            body=_(
                "Un besoin correspondant à votre activité a été publié (réponses avant le %(d)s)."
            )
            % {"d": need.closes_on.strftime("%d/%m/%Y")},
            url=url,
        )
        m.notified_at = now
        m.save(update_fields=["notified_at"])
    return sorted(existing.values(), key=lambda m: (m.rank, m.pk))


def invite(user, need: Need, supplier_ids) -> dict[str, int]:
    """The buyer invites suppliers of its match list: their users are notified (those already
    told are not told twice) and the e-mail addresses of their contacts receive the invitation
    with the need's link. Each match is stamped (invited when, by whom; notified when someone
    was reached). Returns how many suppliers were reached and how many had nobody to reach."""
    if not policy.can_edit_need(user, need):
        raise PermissionDenied(_("Seul l'acheteur peut inviter des fournisseurs."))
    if need.status != Need.Status.PUBLISHED:
        raise ValidationError(_("Publiez le besoin avant d'inviter des fournisseurs."))
    matches = list(
        need.matches.filter(supplier_id__in=list(supplier_ids)).select_related("supplier")
    )
    if not matches:
        raise ValidationError(_("Choisissez au moins un fournisseur de la liste."))
    users_by_supplier = selectors.users_of([m.supplier_id for m in matches])
    emails_by_supplier = selectors.contact_emails_of([m.supplier_id for m in matches])
    url = reverse("marketplace:need-detail", args=[need.pk])
    title = _("Invitation à répondre : %(title)s") % {"title": need.title}
    buyer = _("L'acheteur") if need.hide_buyer else need.buyer.name
    body = _(
        "%(buyer)s vous invite à répondre à son besoin « %(title)s » (réponses avant le %(d)s)."
    ) % {"buyer": buyer, "title": need.title, "d": need.closes_on.strftime("%d/%m/%Y")}
    now = timezone.now()
    reached = unreachable = 0
    for m in matches:
        users = users_by_supplier.get(m.supplier_id, [])
        user_emails = {u.email.lower() for u in users if u.email}
        emails = [e for e in emails_by_supplier.get(m.supplier_id, []) if e not in user_emails]
        if not users and not emails:
            unreachable += 1
            continue
        notify(users, NEW_NEED, dedup_key=subject_key(need), title=title, body=body, url=url)
        text = body + "\n\n" + absolute_url(url)
        for address in emails:
            transaction.on_commit(lambda a=address, t=text: send_email(a, str(title), t))
        m.invited_at, m.invited_by = now, user
        m.notified_at = m.notified_at or now
        m.save(update_fields=["invited_at", "invited_by", "notified_at"])
        reached += 1
    return {"reached": reached, "unreachable": unreachable}


def mark_seen(user, need: Need) -> None:
    """A supplier's user opened the need: stamp the match (first time only)."""
    own = policy._user_establishment_ids(user) - {need.buyer_id}
    if own:
        Match.objects.filter(need=need, supplier_id__in=own, seen_at__isnull=True).update(
            seen_at=timezone.now()
        )


@transaction.atomic
def consortium_partners(need: Need, lead, sirets) -> list:
    """The co-contractors named by their SIRET: each must be in the sourcing directory (active
    supplier profile), be neither the lead nor the buyer; a group has at most five members."""

    wanted = list(dict.fromkeys(s.replace(" ", "") for s in sirets if s.strip()))
    if len(wanted) > MAX_PARTNERS:
        raise ValidationError(
            {"partners": _("Un groupement compte au plus cinq entreprises (quatre co-traitants).")}
        )
    found = {
        e.siret: e
        for e in Establishment.objects.filter(
            siret__in=wanted, supplier_profile__is_active=True
        ).order_by("siret")
    }
    unknown = [s for s in wanted if s not in found]
    if unknown:
        raise ValidationError(
            {
                "partners": _("SIRET absent(s) de l'annuaire des fournisseurs : %(sirets)s.")
                % {"sirets": ", ".join(unknown)}
            }
        )
    if any(e.pk == lead.pk for e in found.values()):
        raise ValidationError(
            {"partners": _("Le mandataire ne peut pas être son propre co-traitant.")}
        )
    if not need.hide_buyer and any(e.pk == need.buyer_id for e in found.values()):
        # Only for a visible buyer: refusing a hidden buyer's SIRET (whatever the wording) would
        # tell whoever tries directory SIRETs one by one which one is the buyer. A hidden buyer
        # named as co-contractor is accepted like any other directory entry; it only names
        # itself to itself.
        raise ValidationError(
            {"partners": _("L'acheteur ne peut pas être co-traitant de son propre besoin.")}
        )
    return [found[s] for s in wanted]


@transaction.atomic
def respond(
    user,
    need: Need,
    supplier,
    *,
    message: str,
    price_band: str = "",
    files=(),
    partners=(),
    lot=None,
):
    """A supplier answers (or revises its answer) while the need accepts responses, to the whole
    need or to one of its lots (``lot``: a Lot of this need), alone or as the lead of a group of
    co-contractors (``partners``: SIRETs). A revision never overwrites: each state is kept as a
    numbered version (ResponseVersion), the response row holding the latest."""
    allowed = policy.responding_establishments(user, need)
    if supplier.pk not in {e.pk for e in allowed}:
        raise PermissionDenied(
            _("Vous ne pouvez pas répondre à ce besoin au nom de cet établissement.")
        )
    if not message.strip():
        raise ValidationError({"message": _("Écrivez un message à l'acheteur.")})
    if price_band not in Response.PriceBand.values:
        raise ValidationError({"price_band": _("Fourchette de prix inconnue.")})
    if lot is not None and lot.need_id != need.pk:
        raise ValidationError({"lot": _("Ce lot n'appartient pas à ce besoin.")})
    if lot is not None and Lot.objects.filter(pk=lot.pk, decided_at__isnull=False).exists():
        raise ValidationError(
            {
                "lot": _("Le lot %(n)d est déjà attribué ou clos : il ne reçoit plus de réponses.")
                % {"n": lot.number}
            }
        )
    for f in files:
        check_attachment(f)
    co_contractors = consortium_partners(need, supplier, partners)
    response, created = Response.objects.select_for_update().get_or_create(
        need=need,
        supplier=supplier,
        lot=lot,
        defaults={"message": message.strip(), "price_band": price_band, "author": user},
    )
    if not created:
        response.message, response.price_band, response.author = (
            message.strip(),
            price_band,
            user,
        )
        response.save(update_fields=["message", "price_band", "author", "updated_at"])
    number = response.versions.count() + 1
    ResponseVersion.objects.create(
        response=response,
        number=number,
        message=response.message,
        price_band=response.price_band,
        author=user,
    )
    if co_contractors:
        group = response.consortium or Consortium.objects.create(need=need, lead=supplier)
        group.members.set([supplier, *co_contractors])
        if response.consortium_id != group.pk:
            response.consortium = group
            response.save(update_fields=["consortium"])
        _notify_co_contractors(need, supplier, co_contractors)
    elif response.consortium_id:
        old = response.consortium
        response.consortium = None
        response.save(update_fields=["consortium"])
        old.delete()
    for f in files:
        Attachment.objects.create(
            need=need, response=response, file=f, name=f.name[:255], uploaded_by=user
        )
    now = timezone.now()
    match, _m = Match.objects.get_or_create(
        need=need,
        supplier=supplier,
        defaults={"rank": 0, "score": 0.0, "explanation": {"spontaneous": True}},
    )
    if match.responded_at is None:
        match.responded_at = now
        match.seen_at = match.seen_at or now
        match.save(update_fields=["responded_at", "seen_at"])
    where = (
        _("%(who)s a répondu au lot %(n)d (%(lot)s) de votre besoin.")
        % {"who": supplier.name, "n": lot.number, "lot": lot.title}
        if lot is not None
        else _("%(who)s a répondu à votre besoin.") % {"who": supplier.name}
    )
    notify(
        selectors.users_of([need.buyer_id]).get(need.buyer_id, []),
        NEW_RESPONSE,
        title=(
            _("Nouvelle réponse à « %(title)s »")
            if created
            else _("Réponse révisée à « %(title)s »")
        )
        % {"title": need.title},
        body=where
        if created
        else where + " " + _("Version %(n)d : l'historique est conservé.") % {"n": number},
        url=reverse("marketplace:need-detail", args=[need.pk]),
    )
    return response


def _notify_co_contractors(need: Need, lead, co_contractors) -> None:
    """The members' users learn that the lead answered in the group's name (once per need)."""
    users = selectors.users_of([e.pk for e in co_contractors])
    notify(
        [u for e in co_contractors for u in users.get(e.pk, [])],
        CONSORTIUM_RESPONSE,
        dedup_key=subject_key(need),
        title=_("Réponse en groupement à « %(title)s »") % {"title": need.title},
        body=_("%(lead)s a répondu à ce besoin au nom de votre groupement.") % {"lead": lead.name},
        url=reverse("marketplace:need-detail", args=[need.pk]),
    )


def shortlist(user, response: Response, on: bool = True) -> Response:
    need = response.need
    if not policy.can_edit_need(user, need):
        raise PermissionDenied(_("Seul l'acheteur peut présélectionner."))
    if need.status != Need.Status.PUBLISHED:
        raise ValidationError(_("Le besoin n'est plus ouvert."))
    now = timezone.now() if on else None
    response.shortlisted_at = now
    response.save(update_fields=["shortlisted_at"])
    Match.objects.filter(need=need, supplier_id=response.supplier_id).update(shortlisted_at=now)
    if on:
        _notify_shortlisted(need, response)
    return response


def _notify_shortlisted(need: Need, response: Response) -> None:
    """The supplier's users and, for a group's response, every member's users learn that the
    response is shortlisted, with the buyer's name (the policy now reveals it to each of them)."""
    members = (
        list(response.consortium.members.order_by("pk").values_list("pk", flat=True))
        if response.consortium_id
        else []
    )
    users = selectors.users_of([response.supplier_id, *members])
    url = reverse("marketplace:need-detail", args=[need.pk])
    buyer = _("L'acheteur, %(buyer)s (%(commune)s),") % {
        "buyer": need.buyer.name,
        "commune": need.buyer.commune.name,
    }
    lead_users = [u for u in users.get(response.supplier_id, []) if policy.can_see_buyer(u, need)]
    notify(
        lead_users,
        SHORTLISTED,
        dedup_key=subject_key(need),
        title=_("Votre réponse à « %(title)s » est présélectionnée") % {"title": need.title},
        body=_("%(buyer)s a présélectionné votre réponse.") % {"buyer": buyer},
        url=url,
    )
    member_users = [
        u
        for m in members
        if m != response.supplier_id
        for u in users.get(m, [])
        if policy.can_see_buyer(u, need)
    ]
    notify(
        member_users,
        SHORTLISTED,
        dedup_key=subject_key(need),
        title=_("La réponse de votre groupement à « %(title)s » est présélectionnée")
        % {"title": need.title},
        body=_("%(buyer)s a présélectionné la réponse déposée par %(lead)s au nom du groupement.")
        % {"buyer": buyer, "lead": response.supplier.name},
        url=url,
    )


def _winner_side(response: Response) -> list[int]:
    """The establishments a retained response speaks for: its supplier and, for a group, every
    member."""
    members = (
        list(response.consortium.members.order_by("pk").values_list("pk", flat=True))
        if response.consortium_id
        else []
    )
    return list(dict.fromkeys([response.supplier_id, *members]))


def _check_lot_winner(need: Need, lot: Lot, winner: Response) -> None:
    if winner.need_id != need.pk:
        raise ValidationError(_("Cette réponse ne concerne pas ce besoin."))
    if winner.lot_id not in (None, lot.pk):
        raise ValidationError(
            _("Cette réponse porte sur un autre lot que le lot %(n)d.") % {"n": lot.number}
        )


def _decide_lot(user, need: Need, lot: Lot, winner: Response | None, now) -> None:
    """Record one lot's decision (awarded to ``winner``, or closed without award), log it in the
    need's history and tell the buyer (the winner's contacts), the winner's side (the buyer's
    contacts) and the lot's other responders."""
    lot.winner, lot.decided_at, lot.decided_by = winner, now, user
    lot.save(update_fields=["winner", "decided_at", "decided_by"])
    if winner is not None:
        Response.objects.filter(pk=winner.pk).update(is_winner=True)
        winner.is_winner = True
    note = (
        _("lot %(n)d attribué à %(who)s") % {"n": lot.number, "who": winner.supplier.name}
        if winner
        else _("lot %(n)d clos sans attribution") % {"n": lot.number}
    )
    NeedEvent.objects.create(
        need=need,
        by=user,
        from_status=need.status,
        to_status=need.status,
        lot=lot,
        note=note[:255],
    )
    audit.record_change(
        user,
        [need.buyer_id, *(_winner_side(winner) if winner else [])],
        AuditLog.Action.CHANGE_NEED,
        f"besoin {need.pk} : {note}",
    )
    _notify_lot_decision(need, lot, winner)


def _notify_lot_decision(need: Need, lot: Lot, winner: Response | None) -> None:
    url = reverse("marketplace:need-detail", args=[need.pk])
    what = _("lot %(n)d (%(t)s) de « %(title)s »") % {
        "n": lot.number,
        "t": lot.title,
        "title": need.title,
    }
    none = _("aucun contact enregistré")
    side = _winner_side(winner) if winner else []
    if winner is not None:
        buyer_users = selectors.users_of([need.buyer_id]).get(need.buyer_id, [])
        notify(
            buyer_users,
            LOT_AWARD,
            dedup_key=subject_key(lot),
            title=_("Contact du fournisseur retenu pour le %(what)s") % {"what": what},
            body=_("Vous avez retenu %(who)s. Ses contacts :") % {"who": winner.supplier.name}
            + "\n"
            + (_contact_lines(side) or none),
            url=url,
        )
        users = selectors.users_of(side)
        # Retained, the hidden buyer is revealed to the winner's side (policy.can_see_buyer).
        winners = [u for e in side for u in users.get(e, []) if policy.can_see_buyer(u, need)]
        notify(
            winners,
            LOT_AWARD,
            dedup_key=subject_key(lot),
            title=_("Votre réponse au %(what)s est retenue") % {"what": what},
            body=_("Acheteur : %(buyer)s. Ses contacts :") % {"buyer": need.buyer.name}
            + "\n"
            + (_contact_lines([need.buyer_id]) or none),
            url=url,
        )
    # The others who answered this lot (or the whole need), and their groups' members.
    answered = need.responses.filter(Q(lot=lot) | Q(lot__isnull=True)).order_by("pk")
    others: list[int] = []
    for r in answered.select_related("consortium"):
        others += [e for e in _winner_side(r) if e not in side]
    others = list(dict.fromkeys(others))
    users = selectors.users_of(others)
    notify(
        [u for e in others for u in users.get(e, [])],
        LOT_AWARD,
        dedup_key=subject_key(lot),
        title=(
            _("Le %(what)s est attribué à une autre entreprise")
            if winner
            else _("Le %(what)s est clos sans attribution")
        )
        % {"what": what},
        body=_("Merci de votre réponse. Les autres lots du besoin suivent leur cours."),
        url=url,
    )


def _finish_if_decided(user, need: Need, note: str = "") -> Need:
    """Close the need once every lot is decided: awarded if one lot at least was, not awarded
    otherwise; every responder learns the outcome."""
    if need.lots.filter(decided_at__isnull=True).exists():
        return need
    winners = list(
        need.responses.filter(is_winner=True).select_related("consortium").order_by("pk")
    )
    to_status = Need.Status.AWARDED if winners else Need.Status.NOT_AWARDED
    _apply_transition(user, need, to_status, note)
    notify_outcome(need, winners)
    return need


@transaction.atomic
def award_lot(user, lot: Lot, winner: Response | None, note: str = "") -> Lot:
    """The buyer awards one lot of a published need to a response for that lot (or for the whole
    need), or closes it without award (``winner`` None). Suppliers can win different lots; the
    need closes when every lot is decided. Contacts are exchanged between the buyer and the
    lot's winner only."""
    need = Need.objects.select_for_update().select_related("buyer").get(pk=lot.need_id)
    if not policy.can_edit_need(user, need):
        raise PermissionDenied(_("Seul l'acheteur peut attribuer les lots de ce besoin."))
    if need.status != Need.Status.PUBLISHED:
        raise ValidationError(_("Le besoin n'est plus ouvert : ses lots ne s'attribuent plus."))
    lot = Lot.objects.select_for_update().get(pk=lot.pk)
    if lot.decided_at is not None:
        raise ValidationError(
            _("Le lot %(n)d est déjà %(outcome)s.")
            % {"n": lot.number, "outcome": lot.get_outcome_display()}
        )
    if winner is not None:
        _check_lot_winner(need, lot, winner)
    _decide_lot(user, need, lot, winner, timezone.now())
    _finish_if_decided(user, need, note)
    return lot


@transaction.atomic
def close(user, need: Need, winner: Response | None = None, note: str = "") -> Need:
    """Close a published need at once. Without lots: awarded to ``winner`` or not awarded. With
    lots: each lot not yet decided is awarded to ``winner`` if it answered that lot (or the
    whole need), and closed without award otherwise; the need is then awarded if any lot is.
    Every responder learns the outcome."""
    if not policy.can_edit_need(user, need):
        raise PermissionDenied(_("Seul l'acheteur peut faire avancer ce besoin."))
    if winner is not None and winner.need_id != need.pk:
        raise ValidationError(_("Cette réponse ne concerne pas ce besoin."))
    # Locked, then read again: two closings (or a closing and a lot's award) never interleave;
    # the caller's instance is the one updated.
    Need.objects.select_for_update().filter(pk=need.pk).exists()
    need.refresh_from_db()
    if need.status != Need.Status.PUBLISHED:
        transition(user, need, Need.Status.NOT_AWARDED, note)  # refused, in the workflow's words
    open_lots = list(need.lots.select_for_update().filter(decided_at__isnull=True))
    if not need.lots.exists():
        to_status = Need.Status.AWARDED if winner else Need.Status.NOT_AWARDED
        transition(user, need, to_status, note)
        if winner is not None:
            Response.objects.filter(pk=winner.pk).update(is_winner=True)
        notify_outcome(need, [winner] if winner else [])
        if winner is not None:
            _notify_award_contacts(need, winner)
        return need
    if (
        winner is not None
        and winner.lot_id is not None
        and winner.lot_id not in {lot.pk for lot in open_lots}
    ):
        raise ValidationError(_("Le lot de cette réponse est déjà attribué ou clos."))
    now = timezone.now()
    for lot in open_lots:
        won = winner is not None and winner.lot_id in (None, lot.pk)
        _decide_lot(user, need, lot, winner if won else None, now)
    return _finish_if_decided(user, need, note)


def _contact_lines(establishment_ids) -> str:
    return "\n".join(
        f"{c['establishment']} : {c['name']}"
        + (f", {c['role']}" if c["role"] else "")
        + (f", {c['email']}" if c["email"] else "")
        + (f", {c['phone']}" if c["phone"] else "")
        for c in selectors.award_contacts(establishment_ids)
    )


def _notify_award_contacts(need: Need, winner: Response) -> None:
    """On award of a need without lots, the buyer's users receive the retained supplier's
    contacts (every member's for a group); the supplier's side receives the buyer's in its
    outcome (``notify_outcome``). Lots: ``_notify_lot_decision``."""
    url = reverse("marketplace:need-detail", args=[need.pk])
    supplier_side = _winner_side(winner)
    users = selectors.users_of([need.buyer_id])
    none = _("aucun contact enregistré")
    notify(
        users.get(need.buyer_id, []),
        OUTCOME,
        dedup_key=subject_key(need),
        title=_("Contact du fournisseur retenu pour « %(title)s »") % {"title": need.title},
        body=_("Vous avez retenu %(who)s. Ses contacts :") % {"who": winner.supplier.name}
        + "\n"
        + (_contact_lines(supplier_side) or none),
        url=url,
    )


def notify_outcome(need: Need, winners=()) -> None:
    """Every responder, and every member of a group that responded, learns the outcome; the
    retained sides (of the need, or of at least one of its lots) with the buyer's contacts."""
    # A supplier that answered several lots is told once.
    responders = list(
        dict.fromkeys(need.responses.order_by("pk").values_list("supplier_id", flat=True))
    )
    # co-contractors of each group response: supplier id -> the response's lead
    members = list(
        Consortium.members.through.objects.filter(consortium__responses__need=need)
        .exclude(establishment_id__in=responders)
        .order_by("establishment_id")
        .values_list("establishment_id", "consortium__lead_id")
    )
    lead_of = dict(members)
    recipients = responders + [m for m in lead_of if m not in responders]
    users = selectors.users_of(recipients)
    url = reverse("marketplace:need-detail", args=[need.pk])
    won_lots: dict[int, list[int]] = {}
    for lot in need.lots.filter(winner__isnull=False).select_related("winner").order_by("number"):
        won_lots.setdefault(lot.winner.supplier_id, []).append(lot.number)
    winning_leads = {w.supplier_id for w in winners}
    for supplier_id in recipients:
        lead = lead_of.get(supplier_id, supplier_id)
        won = lead in winning_leads
        title = (
            _("Votre réponse à « %(title)s » est retenue")
            if won
            else _("Le besoin « %(title)s » est clos")
        ) % {"title": need.title}
        body = _("Issue : %(status)s.") % {"status": need.get_status_display()}
        if won and won_lots.get(lead):
            body += " " + _("Lot(s) retenu(s) : %(lots)s.") % {
                "lots": ", ".join(str(n) for n in won_lots[lead])
            }
        told = users.get(supplier_id, [])
        if won:
            # A retained response reveals a hidden buyer (policy.can_see_buyer): name it.
            revealed = [u for u in told if policy.can_see_buyer(u, need)]
            notify(
                revealed,
                OUTCOME,
                dedup_key=subject_key(need),
                title=title,
                body=body
                + " "
                + _("Acheteur : %(buyer)s. Ses contacts :") % {"buyer": need.buyer.name}
                + "\n"
                + (_contact_lines([need.buyer_id]) or _("aucun contact enregistré")),
                url=url,
            )
            told = [u for u in told if u not in revealed]
        notify(told, OUTCOME, dedup_key=subject_key(need), title=title, body=body, url=url)
    Match.objects.filter(need=need, supplier_id__in=recipients).update(
        outcome_notified_at=timezone.now()
    )


REMINDER_DAYS = 3


def close_expired_needs(today=None, progress=None) -> dict[str, int]:
    """Close (not awarded) every published need whose closing date has passed, logged as a
    workflow transition by the platform; the buyer and the responders are told. Then remind, once,
    the notified suppliers who have not answered a need closing within ``REMINDER_DAYS`` days.
    Idempotent: a second run closes and reminds nobody. ``progress(done, total)`` is optional."""
    today = today or timezone.localdate()
    expired = list(
        Need.objects.filter(status=Need.Status.PUBLISHED, closes_on__lt=today).order_by("pk")
    )
    due = list(
        Match.objects.filter(
            need__status=Need.Status.PUBLISHED,
            need__closes_on__gte=today,
            need__closes_on__lte=today + datetime.timedelta(days=REMINDER_DAYS),
            notified_at__isnull=False,
            responded_at__isnull=True,
            reminded_at__isnull=True,
        )
        .select_related("need")
        .order_by("need_id", "rank", "pk")
    )
    total, done = len(expired) + len(due), 0
    buyers = selectors.users_of({n.buyer_id for n in expired})
    for need in expired:
        with transaction.atomic():
            note = "date de clôture dépassée (automatique)"
            # Lots still open are closed without award; lots already awarded stay so.
            now = timezone.now()
            for lot in need.lots.filter(decided_at__isnull=True).order_by("number"):
                _decide_lot(None, need, lot, None, now)
            winners = list(need.responses.filter(is_winner=True).order_by("pk"))
            _apply_transition(
                None,
                need,
                Need.Status.AWARDED if winners else Need.Status.NOT_AWARDED,
                note,
            )
            notify(
                buyers.get(need.buyer_id, []),
                NEED_EXPIRED,
                dedup_key=subject_key(need),
                title=_("Votre besoin « %(title)s » est clos") % {"title": need.title},
                body=(
                    _(
                        "Sa date de clôture (%(d)s) est passée : il ne reçoit plus de réponses "
                        "et ses lots non attribués sont clos sans attribution."
                    )
                    if winners
                    else _(
                        "Sa date de clôture (%(d)s) est passée : il ne reçoit plus de réponses "
                        "et est clos sans attribution."
                    )
                )
                % {"d": need.closes_on.strftime("%d/%m/%Y")},
                url=reverse("marketplace:need-detail", args=[need.pk]),
            )
            notify_outcome(need, winners)
        done += 1
        if progress:
            progress(done, total)
    suppliers = selectors.users_of({m.supplier_id for m in due})
    now = timezone.now()
    for m in due:
        with transaction.atomic():
            notify(
                suppliers.get(m.supplier_id, []),
                REMINDER,
                dedup_key=subject_key(m.need),
                title=_("Rappel : « %(title)s » clôt bientôt") % {"title": m.need.title},
                body=_("Les réponses sont reçues jusqu'au %(d)s.")
                % {"d": m.need.closes_on.strftime("%d/%m/%Y")},
                url=reverse("marketplace:need-detail", args=[m.need_id]),
            )
            m.reminded_at = now
            m.save(update_fields=["reminded_at"])
        done += 1
        if progress:
            progress(done, total)
    return {"closed": len(expired), "reminded": len(due)}


def profile_search_text(profile: SupplierProfile) -> str:
    words = taxonomy.tokens(
        " ".join(
            [
                profile.establishment.name,
                profile.capabilities,
                profile.tags,
                profile.certifications,
                profile.references,
            ]
        )
    )
    return " " + " ".join(dict.fromkeys(words)) + " "


def refresh_search_text(profiles) -> int:
    """Recompute the stored search words of the given supplier profiles (a queryset or a list,
    their establishment loaded or not) after their establishment's name changed, and write the
    ones that differ in one bulk update. The PostgreSQL vector is kept by its own triggers.
    Returns how many profiles were rewritten."""
    if isinstance(profiles, QuerySet):
        profiles = (
            profiles.select_related("establishment")
            .order_by()
            .only(
                "search_text",
                "capabilities",
                "tags",
                "certifications",
                "references",
                "establishment__name",
            )
        )
    changed = []
    for profile in profiles:
        text = profile_search_text(profile)
        if text != profile.search_text:
            profile.search_text = text
            changed.append(profile)
    if changed:
        SupplierProfile.objects.bulk_update(changed, ["search_text"], batch_size=500)
    return len(changed)


def refresh_establishment_search_text(establishment) -> int:
    """After a save of the establishment: its supplier profile's search words (if it has one)."""
    profiles = list(
        SupplierProfile.objects.filter(establishment=establishment).only(
            "search_text", "capabilities", "tags", "certifications", "references", "establishment"
        )
    )
    for profile in profiles:
        profile.establishment = establishment
    return refresh_search_text(profiles)


def establishment_saved(sender, instance, created, raw=False, update_fields=None, **kwargs):
    """``post_save`` receiver of ``Establishment`` (connected in ``MarketplaceConfig.ready``): the
    sourcing directory's SQLite search words include the name (a new establishment has no
    supplier profile yet, fixtures are loaded as they are). Bulk writes call
    ``refresh_establishment_search_text`` themselves."""
    if created or raw:
        return
    if update_fields is None or "name" in update_fields:
        refresh_establishment_search_text(instance)


def save_supplier_profile(user, profile: SupplierProfile) -> SupplierProfile:
    if not policy.can_edit_supplier_profile(user, profile.establishment):
        raise PermissionDenied(_("Vous ne pouvez pas modifier le profil de cet établissement."))
    profile.search_text = profile_search_text(profile)
    profile.full_clean()
    profile.save()
    return profile


# -- consortium suggestions (computed in the background) --------------------------------------
# A computation pending or running with no sign of life for MAILLAGE_RUN_STALE_MINUTES is taken
# as lost (worker stopped): see maillage.runs.


def wants_consortia(need: Need) -> bool:
    return need.status == Need.Status.PUBLISHED and need.lots.count() >= 2


def request_consortium_suggestions(need: Need, force: bool = False):
    """The stored suggestions of the need, with a background computation started when there are
    none for the current inputs (lots, candidate supplier profiles) — or always with ``force``.
    A computation already under way for the same inputs is not started twice; a failed one is
    retried only when asked (``force``) or when the inputs change. None for a need without
    suggestions (not published, fewer than two lots)."""

    if not wants_consortia(need):
        return None
    fingerprint = selectors.consortium_fingerprint(need)
    row = ConsortiumSuggestions.objects.filter(need=need).first()
    now = timezone.now()
    # A computation lost by a dead worker (stale rule) is queued again for the same inputs.
    if row is not None and not force and row.fingerprint == fingerprint and not row.is_stale:
        return row
    row, _created = ConsortiumSuggestions.objects.update_or_create(
        need=need,
        defaults={
            "fingerprint": fingerprint,
            "state": ConsortiumSuggestions.State.PENDING,
            "created_at": now,
            "started_at": None,
            "finished_at": None,
            "heartbeat_at": None,
            "progress": 0,
            "step": "",
            "error": "",
        },
    )
    # cycle: the task module imports this one to run the computation.
    from maillage.marketplace.tasks import compute_consortium_suggestions

    compute_consortium_suggestions.enqueue(need.pk)
    row.refresh_from_db()  # an immediate backend has already computed it
    return row


def compute_consortium_suggestions(need_id: int) -> ConsortiumSuggestions:
    """Compute and store the groups of a need (the background task's work). The fingerprint
    stored is the one of the inputs read here, so a change made meanwhile is seen as stale on
    the next page view and computed again. A row no longer pending (recovered as lost, or
    taken by another worker) is left as is."""
    need = Need.objects.select_related("buyer").get(pk=need_id)
    row = ConsortiumSuggestions.objects.get(need=need)
    if not row.start():
        return row
    row.advance(10, _("lecture des lots et des fournisseurs"))
    fingerprint = selectors.consortium_fingerprint(need)
    try:
        groups, candidates = selectors.compute_consortia(need)
    except Exception as exc:
        # Shown on the buyer's page; the worker logs the traceback too.
        row.fail(str(exc))
        raise
    row.finish(fingerprint=fingerprint, groups=groups, candidates=candidates)
    return row
