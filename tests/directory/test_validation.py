"""Invalid SIRET, unknown NAF, unknown waste code and impossible units: clear errors everywhere."""

import pytest
from django.core.exceptions import ValidationError

from maillage.directory.forms import EstablishmentForm
from maillage.directory.models import Establishment
from maillage.directory.services import upsert_establishment
from maillage.flows.forms import FlowForm
from maillage.flows.services import build_flow
from tests.factories import make_siret

pytestmark = pytest.mark.django_db

VALID = {
    "name": "Scierie du Gâtinais",
    "naf": "16.10A",
    "commune": "77288",
    "headcount_band": "12",
    "address": "1 rue du Bois",
    "is_active": True,
}


def test_service_creates_then_updates_without_duplicate():
    siret = make_siret()
    e, created = upsert_establishment({**VALID, "siret": siret})
    assert created and e.naf_id == "16.10A" and e.chamber is None
    e2, created = upsert_establishment({**VALID, "siret": siret, "name": "Scierie renommée"})
    assert not created and e2.pk == e.pk and e2.name == "Scierie renommée"
    assert Establishment.objects.filter(siret=siret).count() == 1


@pytest.mark.parametrize(
    ("siret", "message"),
    [
        ("12345678901234", "clé de contrôle"),
        ("1234", "14 chiffres"),
        ("ABCDEFGHIJKLMN", "14 chiffres"),
    ],
)
def test_invalid_siret_in_service_and_form(siret, message):
    with pytest.raises(ValidationError) as exc:
        upsert_establishment({**VALID, "siret": siret})
    assert message in " ".join(exc.value.message_dict["siret"])
    form = EstablishmentForm(data={**VALID, "siret": siret})
    assert not form.is_valid()
    assert message in " ".join(form.errors["siret"])


def test_unknown_naf_in_service_and_form():
    with pytest.raises(ValidationError) as exc:
        upsert_establishment({**VALID, "siret": make_siret(), "naf": "99.99Q"})
    assert "Code NAF « 99.99Q » inconnu" in exc.value.message_dict["naf"][0]
    form = EstablishmentForm(data={**VALID, "siret": make_siret(), "naf": "99.99Q"})
    assert not form.is_valid()
    assert "inconnu" in form.errors["naf"][0]
    # A class (not a sub-class) is not precise enough.
    form = EstablishmentForm(data={**VALID, "siret": make_siret(), "naf": "16.10"})
    assert not form.is_valid()


def test_form_accepts_loose_naf_notation():
    form = EstablishmentForm(data={**VALID, "siret": make_siret(), "naf": "1610a"})
    assert form.is_valid(), form.errors
    assert form.save().naf_id == "16.10A"


@pytest.fixture
def sawmill(make_establishment):
    return make_establishment("77288")


def test_unknown_waste_code_in_service_and_form(sawmill):
    with pytest.raises(ValidationError) as exc:
        build_flow(sawmill, direction="offer", waste_code="15 01 42", quantity=3, unit="t")
    assert "Code déchet « 15 01 42 » inconnu" in exc.value.message_dict["waste_code"][0]
    form = FlowForm(
        data={
            "establishment": sawmill.pk,
            "direction": "offer",
            "category": "waste",
            "waste_code": "99 99 99",
            "quantity": "3",
            "unit": "t",
            "period": "year",
            "physical_state": "solid",
        }
    )
    assert not form.is_valid()
    assert "inconnu" in form.errors["waste_code"][0]


def test_sawdust_in_kwh_is_fine_but_km_is_not(sawmill):
    flow = build_flow(
        sawmill,
        direction="offer",
        resource_class=_sawdust_class(),
        quantity=5,
        unit="kWh",
        period="year",
    )
    flow.save()
    assert flow.yearly_quantity == pytest.approx(0.005) and flow.canonical_unit == "MWh"
    with pytest.raises(ValidationError) as exc:
        build_flow(
            sawmill,
            direction="offer",
            resource_class=_sawdust_class(),
            quantity=5,
            unit="km",
            period="year",
        )
    assert "n'est pas une unité de quantité" in exc.value.message_dict["unit"][0]
    form = FlowForm(
        data={
            "establishment": sawmill.pk,
            "direction": "offer",
            "category": "waste",
            "resource_class": _sawdust_class(),
            "quantity": "5",
            "unit": "km",
            "period": "year",
            "physical_state": "solid",
        }
    )
    assert not form.is_valid()
    assert "n'est pas une unité de quantité" in form.errors["unit"][0]


def test_waste_code_gives_class_and_hazard(sawmill):
    flow = build_flow(sawmill, direction="offer", waste_code="17 06 05*", quantity=2, unit="t")
    assert flow.hazardous and flow.category == "waste"
    flow = build_flow(sawmill, direction="offer", waste_code="150103", quantity=2, unit="t")
    assert not flow.hazardous


def _sawdust_class():
    from maillage.reference.models import WasteCode

    # 03 01 05: sciure, copeaux, chutes… de bois (non dangereux)
    return WasteCode.objects.get(pk="030105").resource_class_id


def test_class_is_found_from_the_description_when_nothing_else_is_given(sawmill):
    flow = build_flow(
        sawmill,
        direction="offer",
        quantity=3,
        unit="t",
        description="Palettes cassées, environ 3 t par an",
    )
    assert flow.resource_class_id == "wood_packaging_waste"
    with pytest.raises(ValidationError) as exc:
        build_flow(sawmill, direction="offer", quantity=3, unit="t", description="divers")
    assert "description" in exc.value.message_dict["resource_class"][0]
