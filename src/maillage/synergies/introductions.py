"""Introductions: the advisor proposes to put the two sides of a synergy in touch, each company
answers for its establishment, and contacts are revealed only once both accepted (double opt-in)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from maillage.accounts.models import User
from maillage.flows.models import Flow
from maillage.notifications import notify
from maillage.synergies import policy
from maillage.synergies.models import Introduction, Suggestion
from maillage.synergies.notifications import INTRODUCTION_MUTUAL, INTRODUCTION_PROPOSED
from maillage.synergies.services import transition


def establishments_without_users(establishment_ids) -> list[int]:
    """The establishments among these that no active user represents (nobody can answer)."""
    ids = set(establishment_ids)
    represented = set(
        User.objects.filter(is_active=True, establishments__in=ids).values_list(
            "establishments", flat=True
        )
    )
    return sorted(ids - represented)


def _notify_sides(suggestion: Suggestion, establishment_ids, kind: str, title: str, body: str):

    users = User.objects.filter(is_active=True, establishments__in=establishment_ids).distinct()
    return notify(
        users.order_by("pk"), kind, title=title, body=body, url=reverse("opportunity-list")
    )


@transaction.atomic
def propose_introduction(suggestion: Suggestion, user) -> list[Introduction]:
    """The advisor proposes to introduce the two establishments of a substitution to each other:
    one introduction row per establishment, and the suggestion becomes "proposed"."""
    if not policy.can_propose_introduction(user, suggestion):
        raise PermissionDenied(_("Vous ne pouvez pas proposer cette mise en relation."))
    suggestion = Suggestion.objects.select_for_update().get(pk=suggestion.pk)
    if suggestion.status != Suggestion.Status.DETECTED:
        raise ValidationError(
            _(
                "Cette suggestion est déjà « %(s)s » : la mise en relation ne peut plus être proposée."
            )
            % {"s": suggestion.get_status_display()}
        )
    sides = Flow.objects.filter(pk__in=[suggestion.offer_flow_id, suggestion.need_flow_id])
    establishment_ids = sorted(set(sides.values_list("establishment_id", flat=True)))
    if len(establishment_ids) != 2:
        raise ValidationError(_("Une mise en relation réunit deux établissements distincts."))
    Introduction.objects.filter(suggestion=suggestion).delete()  # an earlier, abandoned round
    now = timezone.now()
    introductions = Introduction.objects.bulk_create(
        Introduction(suggestion=suggestion, establishment_id=pk, proposed_at=now, proposed_by=user)
        for pk in establishment_ids
    )
    transition(suggestion, user, Suggestion.Status.PROPOSED, _("Mise en relation proposée."))

    _notify_sides(
        suggestion,
        establishment_ids,
        INTRODUCTION_PROPOSED,
        _("Proposition de mise en relation : %(r)s") % {"r": suggestion.resource_class.label},
        _(
            "Votre conseiller CCI propose de vous mettre en relation avec une entreprise proche "
            "pour une synergie (%(r)s). Acceptez ou déclinez depuis votre espace : les contacts "
            "ne sont communiqués que si les deux entreprises acceptent."
        )
        % {"r": suggestion.resource_class.label},
    )
    return introductions


def mark_viewed(user, introductions) -> int:
    """Record the first time a company user saw their side of these introductions."""
    ids = [i.pk for i in introductions if i.viewed_at is None]
    if not ids:
        return 0
    return (
        policy.visible_introductions(user)
        .filter(pk__in=ids, viewed_at__isnull=True)
        .update(viewed_at=timezone.now())
    )


@transaction.atomic
def respond_introduction(user, introduction: Introduction, accept: bool) -> Introduction:
    """A company answers for its establishment. When every side accepted, the suggestion moves to
    "in discussion" and contacts are revealed; a refusal abandons it, with the reason logged."""
    if not policy.can_respond_introduction(user, introduction):
        raise PermissionDenied(_("Vous ne pouvez pas répondre pour cet établissement."))
    suggestion = Suggestion.objects.select_for_update().get(pk=introduction.suggestion_id)
    introduction = Introduction.objects.get(pk=introduction.pk)
    if suggestion.status != Suggestion.Status.PROPOSED:
        raise ValidationError(_("Cette mise en relation n'attend plus de réponse."))
    if introduction.accepted_at or introduction.declined_at:
        raise ValidationError(_("Vous avez déjà répondu à cette mise en relation."))
    now = timezone.now()
    introduction.viewed_at = introduction.viewed_at or now
    introduction.responded_by = user
    if accept:
        introduction.accepted_at = now
    else:
        introduction.declined_at = now
    introduction.save(update_fields=["viewed_at", "responded_by", "accepted_at", "declined_at"])
    if not accept:
        transition(
            suggestion,
            user,
            Suggestion.Status.ABANDONED,
            _("Mise en relation déclinée par une des entreprises."),
        )
    elif policy.introduction_is_mutual(suggestion.introductions.all()):
        _notify_sides(
            suggestion,
            list(suggestion.introductions.values_list("establishment_id", flat=True)),
            INTRODUCTION_MUTUAL,
            _("Mise en relation acceptée : %(r)s") % {"r": suggestion.resource_class.label},
            _(
                "Les deux entreprises ont accepté la mise en relation (%(r)s) : leurs contacts "
                "sont visibles dans votre espace."
            )
            % {"r": suggestion.resource_class.label},
        )
        transition(
            suggestion,
            user,
            Suggestion.Status.DISCUSSION,
            _("Les deux entreprises ont accepté : leurs contacts leur sont communiqués."),
        )
    return introduction
