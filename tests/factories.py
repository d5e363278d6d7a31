"""Test factories (factory_boy), one per core model: a test asks for the object it needs and gets
valid defaults for the rest, instead of rebuilding a near-identical world per file.

    chamber = ChamberFactory(departement="77")         # with the département's communes
    e = EstablishmentFactory(commune_id="77288")        # a valid, unique SIRET
    advisor = UserFactory(role=User.Role.ADVISOR, chamber=chamber)
    company = UserFactory(establishments=[e])
    root = SuperuserFactory(username="root")            # platform staff
    offer = FlowFactory(establishment=e, waste_code="03 01 05", quantity=420)

The shared fixtures of ``tests/conftest.py`` (``make_chamber``, ``make_establishment``,
``make_user``, ``territory``) are built on these; ``build_territory`` is the ``territory``
fixture's world, for a world built once per module (``tests/worlds.py``).
"""

from __future__ import annotations

import datetime
import itertools

import factory
from stdnum import luhn

from maillage.accounts.models import Chamber, DataSharingAgreement, TerritoryCommune, User
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
    """A chamber; ``departement="77"`` gives it that département's communes as territory,
    ``communes=["77288", …]`` only those communes."""

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

    @factory.post_generation
    def communes(chamber, create, value, **kwargs):
        if create and value:
            TerritoryCommune.objects.bulk_create(
                TerritoryCommune(chamber=chamber, commune_id=code) for code in value
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


class SuperuserFactory(UserFactory):
    """A platform administrator, as ``createsuperuser`` makes one (``is_staff`` and
    ``is_superuser``, the model's default role, no chamber)."""

    username = factory.Sequence(lambda n: f"root-{n}")
    is_staff = True
    is_superuser = True


class DataSharingAgreementFactory(factory.django.DjangoModelFactory):
    """An agreement in force since 2024, with the "flows" scope unless told otherwise."""

    class Meta:
        model = DataSharingAgreement

    chamber_a = factory.SubFactory(ChamberFactory)
    chamber_b = factory.SubFactory(ChamberFactory)
    scope = DataSharingAgreement.Scope.FLOWS
    start = datetime.date(2024, 1, 1)


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


def build_territory() -> dict:
    """Three chambers (77, 91 with a flows agreement; 78 alone), one establishment and users each."""
    c77 = ChamberFactory(slug="cci-77", departement="77")
    c91 = ChamberFactory(slug="cci-91", departement="91")
    c78 = ChamberFactory(slug="cci-78", departement="78")
    agreement = DataSharingAgreementFactory(chamber_a=c77, chamber_b=c91)
    e77 = EstablishmentFactory(commune_id="77288", name="Scierie de Melun-Test")  # Melun
    e91 = EstablishmentFactory(commune_id="91228", name="Chaufferie d'Évry-Test", naf_id="35.30Z")
    e78 = EstablishmentFactory(
        commune_id="78646", name="Boulangerie de Versailles-Test", naf_id="10.71C"
    )

    def user(username, role, chamber=None, establishments=()):
        return UserFactory(
            username=username, role=role, chamber=chamber, establishments=list(establishments)
        )

    return {
        "chambers": (c77, c91, c78),
        "agreement": agreement,
        "e77": e77,
        "e91": e91,
        "e78": e78,
        "advisor77": user("adv77", User.Role.ADVISOR, c77),
        "advisor91": user("adv91", User.Role.ADVISOR, c91),
        "advisor78": user("adv78", User.Role.ADVISOR, c78),
        "admin78": user("adm78", User.Role.CHAMBER_ADMIN, c78),
        "company77": user("co77", User.Role.COMPANY, establishments=[e77]),
        "company78": user("co78", User.Role.COMPANY, establishments=[e78]),
    }
