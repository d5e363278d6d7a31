"""Factories for the flows app: visits, and the offer and need most synergy tests start from
(``wood_synergy``, ``scrap_synergy``). Flows themselves: ``tests.factories.FlowFactory``, which
validates them as the web form does."""

from __future__ import annotations

import datetime

import factory

from maillage.accounts.models import User
from maillage.flows.models import Flow, Visit
from tests.factories import EstablishmentFactory, FlowFactory, UserFactory


class VisitFactory(factory.django.DjangoModelFactory):
    """An advisor's visit to an establishment."""

    class Meta:
        model = Visit

    establishment = factory.SubFactory(EstablishmentFactory)
    advisor = factory.SubFactory(UserFactory, role=User.Role.ADVISOR)
    date = datetime.date(2025, 3, 1)


def offer_and_need(
    territory: dict, waste_code: str, resource_class: str, offered, needed, **offer_fields
) -> tuple[Flow, Flow]:
    """One substitution for detection to find: establishment e77 (chamber 77) offering
    ``offered`` t a year of the waste ``waste_code``, establishment e91 (chamber 91, bound to 77
    by a flows agreement) needing ``needed`` t of ``resource_class``. ``offer_fields`` go to the
    offer (``description``, ``visit``). Returns ``(offer, need)``."""
    offer = FlowFactory(
        establishment=territory["e77"],
        direction="offer",
        waste_code=waste_code,
        quantity=offered,
        unit="t",
        **offer_fields,
    )
    need = FlowFactory(
        establishment=territory["e91"],
        direction="need",
        resource_class=resource_class,
        quantity=needed,
        unit="t",
    )
    return offer, need


def wood_synergy(territory: dict, offered=400, needed=500, **offer_fields) -> tuple[Flow, Flow]:
    """The sawmill of chamber 77 offering wood waste (03 01 05), the boiler of chamber 91
    needing wood fuel (``offer_and_need``)."""
    return offer_and_need(territory, "03 01 05", "wood_fuel", offered, needed, **offer_fields)


def scrap_synergy(territory: dict, offered=80, needed=100, **offer_fields) -> tuple[Flow, Flow]:
    """Steel scrap (17 04 05) offered in chamber 77, needed as ferrous scrap in chamber 91
    (``offer_and_need``)."""
    return offer_and_need(
        territory, "17 04 05", "ferrous_metal_scrap", offered, needed, **offer_fields
    )
