"""Factories for the flows app: visits (flows themselves: ``tests.factories.FlowFactory``, which
validates them as the web form does)."""

from __future__ import annotations

import datetime

import factory

from maillage.accounts.models import User
from maillage.flows.models import Visit
from tests.factories import EstablishmentFactory, UserFactory


class VisitFactory(factory.django.DjangoModelFactory):
    """An advisor's visit to an establishment."""

    class Meta:
        model = Visit

    establishment = factory.SubFactory(EstablishmentFactory)
    advisor = factory.SubFactory(UserFactory, role=User.Role.ADVISOR)
    date = datetime.date(2025, 3, 1)
