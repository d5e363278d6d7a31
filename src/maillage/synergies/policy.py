"""Who may see and act on synergy suggestions, detection runs and introductions:

- chamber staff see the suggestions that involve their chamber (or whose partner chamber is
  theirs), move them along the pipeline and start detection runs for their own chamber;
- an introduction is proposed by the advisors who manage the suggestion, for a substitution only
  (two establishments); each side is answered by a company user representing that establishment;
- a company user sees the introductions of the establishments they represent, anonymised
  (resource, quantity band, distance band) until every side has accepted; then both sides see each
  other's identity and contacts. A declined introduction never reveals anything;
- a company's opportunities (``suggestions_about``, ``company_opportunities``) are shown
  anonymised only; other apps (events, atlas) read them through these functions.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from maillage.accounts.policy import (
    Standing,
    is_chamber_staff,
    is_company_user,
    is_platform_or_chamber_staff,
    standing,
)
from maillage.synergies.models import DetectionRun, Introduction, Suggestion


def visible_suggestions(user) -> QuerySet:
    """Chamber staff see the suggestions that involve their chamber or a partner chamber; the
    anonymised view offered to companies is built from ``suggestions_about`` instead."""
    qs = Suggestion.objects.all()
    match standing(user):
        case Standing.PLATFORM:
            return qs
        case Standing.CHAMBER:
            own = {user.chamber_id}
            return qs.filter(Q(chamber_id__in=own) | Q(partner_chamber_id__in=own))
    return qs.none()


def can_list_suggestions(user) -> bool:
    """The suggestion list and the advisor's pipeline: chamber and platform staff."""
    return is_platform_or_chamber_staff(user)


def can_export_suggestions(user) -> bool:
    """The suggestions' export (what ``visible_suggestions`` shows): chamber and platform staff;
    a company sees its opportunities anonymised, never this list."""
    return is_platform_or_chamber_staff(user)


def can_manage_suggestion(user, suggestion) -> bool:
    """Advisors of either chamber involved move a suggestion along the pipeline."""
    match standing(user):
        case Standing.PLATFORM:
            return True
        case Standing.CHAMBER:
            return user.chamber_id in (suggestion.chamber_id, suggestion.partner_chamber_id)
    return False


def can_run_detection(user) -> bool:
    """Chamber staff start detection runs for their own chamber."""
    return is_chamber_staff(user)


def visible_detection_runs(user) -> QuerySet:
    match standing(user):
        case Standing.PLATFORM:
            return DetectionRun.objects.all()
        case Standing.CHAMBER:
            return DetectionRun.objects.filter(chamber_id=user.chamber_id)
    return DetectionRun.objects.none()


def can_propose_introduction(user, suggestion) -> bool:
    return (
        suggestion.kind == Suggestion.Kind.SUBSTITUTION
        and suggestion.offer_flow_id is not None
        and suggestion.need_flow_id is not None
        and can_manage_suggestion(user, suggestion)
    )


def visible_introductions(user) -> QuerySet:
    """Company users: the introduction rows of the establishments they represent."""
    if is_company_user(user):
        return Introduction.objects.filter(establishment__users=user)
    return Introduction.objects.none()


def can_respond_introduction(user, introduction) -> bool:
    return (
        is_company_user(user)
        and user.establishments.filter(pk=introduction.establishment_id).exists()
    )


def introduction_is_mutual(sides) -> bool:
    """Every side of the suggestion accepted (at least two sides): then, and only then, a company
    user answering for one side (``visible_introductions``) sees the other side's identity,
    contacts and exact quantity."""
    sides = list(sides)
    return len(sides) >= 2 and all(s.accepted_at and not s.declined_at for s in sides)


def mutually_introduced(suggestion_ids) -> set[int]:
    """Which of these suggestions have an introduction every side accepted
    (``introduction_is_mutual``)."""
    sides: dict[int, list] = {pk: [] for pk in suggestion_ids}
    for side in (
        Introduction.objects.filter(suggestion_id__in=sides)
        .order_by("pk")
        .only("suggestion_id", "accepted_at", "declined_at")
    ):
        sides[side.suggestion_id].append(side)
    return {pk for pk, rows in sides.items() if introduction_is_mutual(rows)}


def can_view_opportunities(user) -> bool:
    """A company user's opportunities and introductions (anonymised until both accept)."""
    return is_company_user(user)


def suggestions_about(user) -> QuerySet:
    """Company users: the current, not abandoned substitutions that involve a flow of an
    establishment they represent. Shown anonymised only (resource, quantity band, distance band):
    the other side's identity goes through an introduction that both accept."""
    if not is_company_user(user):
        return Suggestion.objects.none()
    own = user.establishments.values("pk")
    return (
        Suggestion.objects.filter(kind=Suggestion.Kind.SUBSTITUTION, is_current=True)
        .filter(Q(offer_flow__establishment__in=own) | Q(need_flow__establishment__in=own))
        .exclude(status=Suggestion.Status.ABANDONED)
    )


def company_opportunities(user) -> QuerySet:
    """Current, not abandoned suggestions with one of the company user's own flows on one side
    (shown anonymised: see ``atlas.selectors.company_opportunities``)."""
    if not is_company_user(user):
        return Suggestion.objects.none()
    own = user.establishments.values("pk")
    return (
        Suggestion.objects.filter(is_current=True)
        .exclude(status=Suggestion.Status.ABANDONED)
        .filter(Q(offer_flow__establishment__in=own) | Q(need_flow__establishment__in=own))
    )
