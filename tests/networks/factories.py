"""Networks factories (factory_boy): networks (clubs, federations) and their memberships.

club = NetworkFactory(name="Club 77", chamber=c77, animators=[animator])
MembershipFactory(establishment=e77, network=club)
"""

from __future__ import annotations

import datetime

import factory

from maillage.networks.models import Membership, Network
from tests.factories import EstablishmentFactory


class NetworkFactory(factory.django.DjangoModelFactory):
    """A club attached to no chamber; ``animators=[user, …]`` are the users who animate it."""

    class Meta:
        model = Network
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Réseau test {n}")
    kind = Network.Kind.CLUB

    @factory.post_generation
    def animators(network, create, value, **kwargs):
        if create and value:
            network.animators.set(value)


class MembershipFactory(factory.django.DjangoModelFactory):
    """An establishment's membership of a network since 2024."""

    class Meta:
        model = Membership

    establishment = factory.SubFactory(EstablishmentFactory)
    network = factory.SubFactory(NetworkFactory)
    since = datetime.date(2024, 1, 1)
