"""The end of a need: the award of its lots, its closing with or without a winner, the outcome
told to everyone who answered, and the daily closing of expired needs with reminders."""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from maillage.accounts import services as audit
from maillage.accounts.models import AuditLog
from maillage.marketplace import policy, selectors
from maillage.marketplace.models import (
    Consortium,
    Lot,
    Match,
    Need,
    NeedEvent,
    Response,
)
from maillage.marketplace.notifications import (
    LOT_AWARD,
    NEED_EXPIRED,
    OUTCOME,
    REMINDER,
)
from maillage.marketplace.services.needs import apply_transition, transition
from maillage.notifications import notify
from maillage.notifications.registry import subject_key


def _winner_side(response: Response) -> list[int]:
    """The establishments a retained response speaks for: its supplier and, for a group, every
    member."""
    return list(dict.fromkeys([response.supplier_id, *selectors.group_member_ids(response)]))


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
    apply_transition(user, need, to_status, note)
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
    awarded = need.lots.filter(winner__isnull=False).order_by("number")
    for winner_id, number in awarded.values_list("winner__supplier_id", "number"):
        won_lots.setdefault(winner_id, []).append(number)
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
            apply_transition(
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
