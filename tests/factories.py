"""Test factories (factory_boy), one per core model: a test asks for the object it needs and gets
valid defaults for the rest, instead of rebuilding a near-identical world per file.

    chamber = ChamberFactory(departement="77")         # with the département's communes
    e = EstablishmentFactory(commune_id="77288")        # a valid, unique SIRET
    advisor = UserFactory(role=User.Role.ADVISOR, chamber=chamber)
    company = UserFactory(establishments=[e])
    offer = FlowFactory(establishment=e, waste_code="03 01 05", quantity=420)

The shared fixtures of ``tests/conftest.py`` (``make_chamber``, ``make_establishment``,
``make_user``, ``territory``) are built on these.
"""

from __future__ import annotations

import itertools

import factory
from stdnum import luhn

from maillage.accounts.models import Chamber, TerritoryCommune, User
from maillage.directory.models import Establishment
from maillage.flows.models import Flow
from maillage.flows.services import build_flow
from maillage.reference.models import Commune

PASSWORD = "pw-test-123"

_serial = itertools.count(1)


def make_siret() -> str:
    """A unique SIRET with valid Luhn keys on the SIREN and on the SIRET."""
    base = f"{next(_serial):08d}"
    siren = base + luhn.calc_check_digit(base)
    nic = siren + "0001"
    return nic + luhn.calc_check_digit(nic)


class ChamberFactory(factory.django.DjangoModelFactory):
    """A chamber; ``departement="77"`` gives it that département's communes as territory."""

    class Meta:
        model = Chamber
        skip_postgeneration_save = True

    slug = factory.Sequence(lambda n: f"cci-test-{n}")
    name = factory.LazyAttribute(lambda o: f"CCI {o.slug}")

    @factory.post_generation
    def departement(chamber, create, value, **kwargs):
        if create and value:
            TerritoryCommune.objects.bulk_create(
                TerritoryCommune(chamber=chamber, commune=c)
                for c in Commune.objects.filter(departement_id=value)
            )


class EstablishmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Establishment

    siret = factory.LazyFunction(make_siret)
    name = "Scierie Test"
    naf_id = "16.10A"
    commune_id = "77288"  # Melun
    headcount_band = "12"


class UserFactory(factory.django.DjangoModelFactory):
    """A user who can sign in with ``PASSWORD``; a company user by default."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user-{n}")
    role = User.Role.COMPANY
    chamber = None

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return model_class.objects.create_user(*args, password=PASSWORD, **kwargs)

    @factory.post_generation
    def establishments(user, create, value, **kwargs):
        if create and value:
            user.establishments.set(value)


class FlowFactory(factory.django.DjangoModelFactory):
    """A flow validated as the web form validates it (``build_flow``): give a ``waste_code`` or a
    ``resource_class``."""

    class Meta:
        model = Flow

    establishment = factory.SubFactory(EstablishmentFactory)
    direction = "offer"
    quantity = 100
    unit = "t"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        flow = build_flow(kwargs.pop("establishment"), **kwargs)
        flow.save()
        return flow
