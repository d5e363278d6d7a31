"""The detection loader gives the engine each flow's own List of Waste code: recovery routes then
reach receivers no class substitution reaches, and the suggestion names the operation, the ICPE
condition and the legal path's R-code."""

import pytest

from maillage.flows.services import build_flow
from maillage.synergies import selectors, services
from maillage.synergies.explain import explain
from maillage.synergies.models import Suggestion

pytestmark = pytest.mark.django_db


@pytest.fixture
def solvents(territory, make_establishment):
    """Spent halogen-free solvents (07 01 04*) offered in Melun; a cement works and a feed mill
    nearby both need solid recovered fuel."""
    offer = build_flow(
        territory["e77"], direction="offer", waste_code="07 01 04*", quantity=40, unit="t"
    )
    offer.save()
    kiln = make_establishment("77288", "Cimenterie Test", "23.51Z")
    mill = make_establishment("77288", "Aliments du bétail Test", "10.91Z")
    for est in (kiln, mill):
        build_flow(
            est, direction="need", resource_class="solid_recovered_fuel", quantity=500, unit="t"
        ).save()
    return {**territory, "offer": offer, "kiln": kiln, "mill": mill}


def test_the_snapshot_carries_each_flows_waste_code(solvents):
    snap = services.snapshot(None)
    row = list(snap.flows.id).index(solvents["offer"].pk)
    assert int(snap.flows.waste_code[row]) == 70104
    assert bool(snap.flows.hazardous[row])
    assert (snap.flows.waste_code[snap.flows.id != solvents["offer"].pk] == -1).all()


def test_a_route_reaches_the_kiln_only_and_names_its_operation(solvents):
    services.detect(solvents["chambers"][0])
    found = Suggestion.objects.filter(
        kind=Suggestion.Kind.SUBSTITUTION, offer_flow=solvents["offer"]
    )
    assert {s.need_flow.establishment.name for s in found} == {"Cimenterie Test"}
    suggestion = found.get()
    e = suggestion.explanation
    assert e["recovery_route"] == "R1" and e["operation"] == "R1"
    text = " ".join(explain("substitution", e))
    assert "Valorisation R1" in text and "2770" in text
    path = selectors.legal_path(suggestion)
    assert path is not None and path.operation == "R1"
    assert any("BSDD" in step for step in path.steps)
