"""Events factories (factory_boy): events (of a chamber or of a network), their registration
questions, registrations, meeting requests, meetings and meeting-schedule runs, with valid defaults built on ``tests.factories``.

    event = EventFactory(chamber=c77, meetings_enabled=True)
    EventFactory(network=club, chamber=None)                # a network's event
    RegistrationFactory(event=event, user=company, establishment=e77)

Rows are written as they stand (no seat counting, no e-mail): registering as a user does goes
through ``maillage.events.services``.
"""

from __future__ import annotations

import datetime

import factory
from django.utils import timezone

from maillage.events.models import (
    Event,
    Meeting,
    MeetingRequest,
    Question,
    Registration,
    ScheduleRun,
)
from tests.factories import ChamberFactory, EstablishmentFactory, UserFactory


class EventFactory(factory.django.DjangoModelFactory):
    """An event of a chamber in three days, two hours long; ``network=`` (with ``chamber=None``)
    for a network's."""

    class Meta:
        model = Event

    title = factory.Sequence(lambda n: f"Rencontre d'affaires n°{n}")
    starts_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=3))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + datetime.timedelta(hours=2))
    place = "Melun, salle des fêtes"
    capacity = 10
    chamber = factory.SubFactory(ChamberFactory)
    network = None


class QuestionFactory(factory.django.DjangoModelFactory):
    """A question of the registration form, optional unless ``required=True``."""

    class Meta:
        model = Question

    event = factory.SubFactory(EventFactory)
    label = factory.Sequence(lambda n: f"Question {n}")


class RegistrationFactory(factory.django.DjangoModelFactory):
    """A confirmed registration of a company user for their own establishment."""

    class Meta:
        model = Registration

    event = factory.SubFactory(EventFactory)
    establishment = factory.SubFactory(EstablishmentFactory)
    user = factory.LazyAttribute(lambda o: UserFactory(establishments=[o.establishment]))
    status = Registration.Status.CONFIRMED


class MeetingRequestFactory(factory.django.DjangoModelFactory):
    """A pending request between two registrations of the same event, open for a week."""

    class Meta:
        model = MeetingRequest

    requester = factory.SubFactory(RegistrationFactory)
    target = factory.SubFactory(
        RegistrationFactory, event=factory.SelfAttribute("..requester.event")
    )
    event = factory.SelfAttribute("requester.event")
    expires_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=7))


class ScheduleRunFactory(factory.django.DjangoModelFactory):
    """A meeting-schedule run just asked for (pending, no worker has taken it yet)."""

    class Meta:
        model = ScheduleRun

    event = factory.SubFactory(EventFactory, meetings_enabled=True)
    requested_by = None


class MeetingFactory(factory.django.DjangoModelFactory):
    """A scheduled meeting between two registrations of the same event, in slot 0 at table 0."""

    class Meta:
        model = Meeting

    a = factory.SubFactory(RegistrationFactory)
    b = factory.SubFactory(RegistrationFactory, event=factory.SelfAttribute("..a.event"))
    event = factory.SelfAttribute("a.event")
    slot = 0
    table = 0
