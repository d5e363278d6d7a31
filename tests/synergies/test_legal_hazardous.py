"""Hazardous waste per establishment: the ICPE rubriques an advisor records decide who may be
offered hazardous waste (else the activity's default), the explanation says which, and only the
chamber's advisors set them."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from maillage.directory import services as directory_services
from maillage.directory.models import Establishment
from maillage.synergies import services
from maillage.synergies.explain import explain
from maillage.synergies.models import Suggestion
from tests.factories import FlowFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def oil(territory, make_establishment):
    """Waste oil (13 02 05*) offered in Melun; four would-be receivers needing chemicals nearby."""
    offer = FlowFactory(
        establishment=territory["e77"],
        direction="offer",
        waste_code="13 02 05*",
        quantity=50,
        unit="t",
    )
    receivers = {
        "chem_2790": make_establishment(
            "77288", "Chimie autorisée", "20.59Z", icpe_rubriques=["2790"]
        ),
        "chem_none": make_establishment("77288", "Chimie sans rubrique", "20.59Z"),
        "treat_default": make_establishment("77288", "Traitement DD", "38.22Z"),
        "treat_2791": make_establishment(
            "77288", "Traitement non dangereux", "38.22Z", icpe_rubriques=["2791"]
        ),
    }
    needs = {}
    for name, est in receivers.items():
        need = FlowFactory(
            establishment=est,
            direction="need",
            resource_class="chemicals_raw",
            quantity=100,
            unit="t",
        )
        needs[name] = need
    return {**territory, "offer": offer, "receivers": receivers, "needs": needs}


def receivers_of(offer):
    return set(
        Suggestion.objects.filter(kind=Suggestion.Kind.SUBSTITUTION, offer_flow=offer).values_list(
            "need_flow__establishment__name", flat=True
        )
    )


def test_recorded_rubriques_decide_then_the_activity_default(oil):
    services.detect(oil["chambers"][0])
    assert receivers_of(oil["offer"]) == {"Chimie autorisée", "Traitement DD"}


def test_explanation_names_the_recorded_or_assumed_rubrique(oil):
    services.detect(oil["chambers"][0])
    by_name = {
        s.need_flow.establishment.name: s
        for s in Suggestion.objects.filter(offer_flow=oil["offer"]).select_related(
            "need_flow__establishment"
        )
    }
    recorded = by_name["Chimie autorisée"]
    assert recorded.explanation["hazardous_rubriques_recorded"] == ["2790"]
    assert any(
        "autorisation ICPE 2790 enregistrée" in line
        for line in explain("substitution", recorded.explanation)
    )
    assumed = by_name["Traitement DD"]
    assert assumed.explanation["hazardous_rubriques_assumed"] == ["2790", "2718"]
    assert any(
        "suppose une autorisation ICPE 2790/2718 du receveur" in line
        for line in explain("substitution", assumed.explanation)
    )


def test_model_validates_rubriques_in_french(territory):
    e = territory["e77"]
    e.icpe_rubriques = ["27A0"]
    with pytest.raises(ValidationError, match="quatre chiffres"):
        e.full_clean()
    e.icpe_rubriques = ["1234"]
    with pytest.raises(ValidationError, match="inconnue"):
        e.full_clean()
    e.icpe_rubriques = ["2770", "2790"]
    e.full_clean()


def test_only_the_chambers_advisors_set_rubriques(territory):
    e = territory["e77"]
    with pytest.raises(PermissionDenied):
        directory_services.update_establishment(
            territory["company77"], e, {"icpe_rubriques": ["2790"]}
        )
    with pytest.raises(PermissionDenied):  # a partner chamber's advisor
        directory_services.update_establishment(
            territory["advisor91"], e, {"icpe_rubriques": ["2790"]}
        )
    changed = directory_services.update_establishment(
        territory["advisor77"], e, {"icpe_rubriques": ["2790"]}
    )
    assert changed == ["icpe_rubriques"]
    assert Establishment.objects.get(pk=e.pk).icpe_rubriques == ["2790"]


def test_edit_page_field_for_advisors_only(client, territory):
    e = territory["e77"]
    url = f"/etablissements/{e.pk}/modifier/"
    form = {"name": e.name, "naf": e.naf_id, "headcount_band": e.headcount_band, "address": ""}
    client.force_login(territory["advisor77"])
    assert "icpe_rubriques" in client.get(url).content.decode()
    r = client.post(url, {**form, "icpe_rubriques": "2790, 27A0"})
    assert r.status_code == 200
    page = r.content.decode()
    assert "27A0" in page and "quatre chiffres" in page  # French error, input kept
    assert Establishment.objects.get(pk=e.pk).icpe_rubriques == []
    r = client.post(url, {**form, "icpe_rubriques": "2790; 2770"})
    assert r.status_code == 302
    assert Establishment.objects.get(pk=e.pk).icpe_rubriques == ["2770", "2790"]
    # the company edits its establishment but neither sees nor changes the rubriques
    client.force_login(territory["company77"])
    assert "icpe_rubriques" not in client.get(url).content.decode()
    client.post(url, {**form, "icpe_rubriques": ""})
    assert Establishment.objects.get(pk=e.pk).icpe_rubriques == ["2770", "2790"]
    # another chamber's advisor and an anonymous visitor cannot reach the form
    client.force_login(territory["advisor78"])
    assert client.get(url).status_code in (403, 404)
    client.logout()
    assert client.get(url).status_code == 302


def test_cement_kiln_assumed_2770_2771_and_operation_stored(territory, make_establishment):
    """A cement works (23.51) with nothing recorded is assumed to co-incinerate under 2770/2771;
    the recovery operation and its expected rubriques are stored and reach the legal path."""
    from maillage.engine import recovery
    from maillage.synergies import selectors

    offer = FlowFactory(
        establishment=territory["e77"],
        direction="offer",
        waste_code="13 02 05*",
        quantity=50,
        unit="t",
    )
    kiln = make_establishment("77288", "Cimenterie", "23.51Z")
    need = FlowFactory(
        establishment=kiln, direction="need", resource_class="fuels", quantity=500, unit="t"
    )
    services.detect(territory["chambers"][0])
    s = Suggestion.objects.get(offer_flow=offer, need_flow=need)
    e = s.explanation
    assert e["hazardous_rubriques_assumed"] == ["2770", "2771"]
    assert any(
        "suppose une autorisation ICPE 2770/2771 du receveur" in line
        for line in explain("substitution", e)
    )
    assert e["operation"] == recovery.operation_for("13 02 05*", "23.51", True) == "R1"
    path = selectors.legal_path(s)
    assert path.operation == "R1" and path.stays_waste
    assert any("Trackdéchets" in step for step in path.steps)
    assert any("2770" in step and "aucune n'est enregistrée" in step for step in path.steps)
