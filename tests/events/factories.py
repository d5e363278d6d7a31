"""Events factories (factory_boy): events (of a chamber or of a network), registrations and
meeting requests, with valid defaults built on ``tests.factories``.

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

from maillage.events.models import Event, MeetingRequest, Registration
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
