"""Needs and their lifecycle: checks, drafts and lots, status transitions, publication with
matching and notification of the suppliers, invitations, the buyer's visits."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from maillage.accounts import services as audit
from maillage.accounts.models import AuditLog
from maillage.marketplace import policy, selectors, workflow
from maillage.marketplace.models import (
    THEME_KINDS,
    Attachment,
    Lot,
    Match,
    Need,
    NeedEvent,
)
from maillage.marketplace.notifications import NEW_NEED
from maillage.marketplace.services.consortia import request_consortium_suggestions
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
def save_need(user, need: Need, lots: Sequence[tuple[str, str]] = (), files=()) -> Need:
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
        current = existing.get(number)
        if current is None:
            Lot.objects.create(need=need, number=number, title=title[:200], category=category)
        elif (current.title, current.category) != (title[:200], category):
            current.title, current.category = title[:200], category
            current.save(update_fields=["title", "category"])


def transition(user, need: Need, to_status: str, note: str = "") -> Need:
    """Move a need along its lifecycle if allowed (workflow.TRANSITIONS), logged with who/when."""
    if not policy.can_edit_need(user, need):
        raise PermissionDenied(_("Seul l'acheteur peut faire avancer ce besoin."))
    return apply_transition(user, need, to_status, note)


def apply_transition(user, need: Need, to_status: str, note: str = "") -> Need:
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
            transaction.on_commit(partial(send_email, address, str(title), text))
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
