"""What the benchmarks that load a generated territory (``generator``) into Django share: a fresh
database with the reference data, one chamber covering France and an API client of its advisor,
the nearest commune of each point, a NAF subclass per division, valid SIRETs, and the rows of
generated establishments and flows. Import it after ``django.setup()``.
"""

from __future__ import annotations

import io

import numpy as np
from django.core.management import call_command
from django.test import Client
from scipy.spatial import cKDTree
from stdnum import luhn

from maillage.accounts.models import Chamber, TerritoryCommune, User
from maillage.accounts.tokens import create_token
from maillage.directory.models import Establishment
from maillage.flows.models import Flow
from maillage.reference.models import Commune, NafCode

UNITS = {u: u for u in ("t", "MWh", "m3", "unit", "h", "m2")}


def reference_database() -> None:
    """The schema and the reference data (communes, NAF, waste codes, resource classes)."""
    call_command("migrate", verbosity=0)
    call_command("load_reference", stdout=io.StringIO())


def france_chamber() -> Chamber:
    """A chamber whose territory is every commune, so that one advisor sees the whole bench."""
    chamber = Chamber.objects.create(slug="france", name="Toutes les CCI (banc d'essai)")
    TerritoryCommune.objects.bulk_create(
        TerritoryCommune(chamber=chamber, commune_id=c)
        for c in Commune.objects.values_list("code", flat=True)
    )
    return chamber


def advisor_client(chamber: Chamber) -> Client:
    """A test client calling the API with the token of an advisor of ``chamber``."""
    advisor = User.objects.create_user("bench", role=User.Role.ADVISOR, chamber=chamber)
    return Client(headers={"Authorization": f"Bearer {create_token(advisor, 'bench')}"})


def nearest_communes(lat, lon) -> list[str]:
    """The INSEE code of the nearest commune of each point, for the establishments' foreign key."""
    communes = list(
        Commune.objects.exclude(latitude=None).values_list("code", "latitude", "longitude")
    )
    tree = cKDTree(np.array([[c[1], c[2]] for c in communes]))
    _d, nearest = tree.query(np.column_stack((lat, lon)))
    return [communes[i][0] for i in nearest]


def naf_of_division() -> dict[str, str]:
    """One NAF subclass per division (the generator draws divisions)."""
    naf: dict[str, str] = {}
    for code in NafCode.objects.filter(level="subclass").values_list("code", flat=True):
        naf.setdefault(code[:2], code)
    return naf


def siret(number: int) -> str:
    """A valid SIRET (Luhn keys) made from a number: the SIREN ``number``, establishment 0001."""
    base = f"{number:08d}"
    head = base + luhn.calc_check_digit(base) + "0001"
    return head + luhn.calc_check_digit(head)


def establishment_row(
    number: int, naf_id: str, commune_id: str, lat: float, lon: float, **fields
) -> Establishment:
    """Generated establishment ``number``, unsaved (for ``bulk_create``)."""
    return Establishment(
        siret=siret(number),
        name=f"Établissement {number}",
        naf_id=naf_id,
        headcount_band="11",
        commune_id=commune_id,
        latitude=float(lat),
        longitude=float(lon),
        **fields,
    )


def flow_row(tax, flows, j: int, establishment_id: int, quantity: float, **fields) -> Flow:
    """Generated flow ``j`` of establishment ``establishment_id``, a yearly ``quantity`` in the
    class's unit, unsaved (for ``bulk_create``)."""
    cls = int(flows.resource_class[j])
    unit = UNITS[tax.unit[cls]]
    temperature = float(flows.temperature[j])
    return Flow(
        establishment_id=establishment_id,
        direction="offer" if flows.is_offer[j] else "need",
        category=tax.category[cls],
        resource_class_id=tax.codes[cls],
        quantity=round(quantity, 3),
        unit=unit,
        period="year",
        yearly_quantity=round(quantity, 3),
        canonical_unit=unit,
        temperature_c=None if np.isnan(temperature) else temperature,
        **fields,
    )
