"""Who may see and organise events and one-to-one meetings:

- an event organised by a chamber is open to every signed-in user (an invitation); an event of a
  network is visible to the network's members (users of member establishments; for a federation,
  members of its clubs too), its animators and the staff of the network's chamber;
- organisers: staff of the event's chamber (or of the network's chamber) and the network's
  animators; they see registrations, answers and the schedule, and run the scheduler;
- a company user registers for one of their own establishments; participants see the meeting
  profile (establishment, offers, seeks) of the other confirmed participants of the same event,
  their own requests and their own agenda — never another participant's agenda or answers.
  What a participant is told of synergies with other participants is ``selectors.meeting_synergies``.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from maillage.accounts.models import Chamber
from maillage.accounts.policy import Standing, is_company_user, standing
from maillage.directory.models import Establishment
from maillage.events.models import Event, Registration
from maillage.networks.policy import managed_networks, network_member_ids


def visible_events(user) -> QuerySet:
    qs = Event.objects.all()
    match standing(user):
        case Standing.ANONYMOUS:
            return qs.none()
        case Standing.PLATFORM:
            return qs
    networks = network_member_ids(user)
    q = Q(network__isnull=True) | Q(network_id__in=networks)
    if standing(user) == Standing.CHAMBER:
        q |= Q(network__chamber_id=user.chamber_id)
    return qs.filter(q)


def can_organise_event(user, event) -> bool:
    match standing(user):
        case Standing.ANONYMOUS:
            return False
        case Standing.PLATFORM:
            return True
        case Standing.CHAMBER:
            if event.chamber_id == user.chamber_id:
                return True
            if event.network_id and event.network.chamber_id == user.chamber_id:
                return True
    return bool(event.network_id) and event.network.animators.filter(pk=user.pk).exists()


def organised_events(user) -> QuerySet:
    match standing(user):
        case Standing.ANONYMOUS:
            return Event.objects.none()
        case Standing.PLATFORM:
            return Event.objects.all()
    q = Q(network__animators=user)
    if standing(user) == Standing.CHAMBER:
        q |= Q(chamber_id=user.chamber_id) | Q(network__chamber_id=user.chamber_id)
    return Event.objects.filter(q).distinct()


def registrable_establishments(user, event) -> QuerySet:
    """The establishments a user may register for this event: their own (company users)."""
    if not is_company_user(user):
        return Establishment.objects.none()
    if not visible_events(user).filter(pk=event.pk).exists():
        return Establishment.objects.none()
    return Establishment.objects.filter(users=user).order_by("name", "pk")


def visible_participants(user, event) -> QuerySet:
    """Organisers see every registration; a confirmed participant sees the other confirmed
    participants (meeting profile only); others nobody."""
    qs = Registration.objects.filter(event=event)
    if can_organise_event(user, event):
        return qs
    if (
        user.is_authenticated
        and qs.filter(user=user, status=Registration.Status.CONFIRMED).exists()
    ):
        return qs.filter(status=Registration.Status.CONFIRMED)
    return qs.none()


def can_view_agenda(user, registration) -> bool:
    return user.is_authenticated and (
        registration.user_id == user.pk or can_organise_event(user, registration.event)
    )


def event_organiser_choices(user) -> tuple[QuerySet, QuerySet]:
    """Where a user may create an event: (chambers, networks). Chamber staff for their chamber
    and its networks; animators for the networks they animate."""
    match standing(user):
        case Standing.PLATFORM:
            chambers = Chamber.objects.all()
        case Standing.CHAMBER:
            chambers = Chamber.objects.filter(pk=user.chamber_id)
        case _:
            chambers = Chamber.objects.none()
    return chambers, managed_networks(user)
