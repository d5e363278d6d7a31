"""Responses to a need: consortia of co-contractors, versions and attachments, the shortlist, and
the notifications they send."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from maillage.directory.models import Establishment
from maillage.marketplace import policy, selectors
from maillage.marketplace.models import (
    Attachment,
    Consortium,
    Lot,
    Match,
    Need,
    Response,
    ResponseVersion,
)
from maillage.marketplace.notifications import (
    CONSORTIUM_RESPONSE,
    NEW_RESPONSE,
    SHORTLISTED,
)
from maillage.marketplace.services.needs import check_attachment
from maillage.notifications import notify
from maillage.notifications.registry import subject_key

MAX_PARTNERS = 4  # co-contractors besides the lead


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
    elif (old := response.consortium) is not None:
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
    members = selectors.group_member_ids(response)
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
