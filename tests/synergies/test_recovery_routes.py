"""The detection loader gives the engine each flow's own List of Waste code: recovery routes then
reach receivers no class substitution reaches, and the suggestion names the operation, the ICPE
condition and the legal path's R-code."""

import pytest

from maillage.synergies import selectors, services, snapshot
from maillage.synergies.explain import explain
from maillage.synergies.models import Suggestion
from tests.factories import FlowFactory
from tests.synergies.factories import scrap_outcomes

pytestmark = pytest.mark.django_db


@pytest.fixture
def solvents(territory, make_establishment):
    """Spent halogen-free solvents (07 01 04*) offered in Melun; a cement works and a feed mill
    nearby both need solid recovered fuel."""
    offer = FlowFactory(
        establishment=territory["e77"],
        direction="offer",
        waste_code="07 01 04*",
        quantity=40,
        unit="t",
    )
    kiln = make_establishment("77288", "Cimenterie Test", "23.51Z")
    mill = make_establishment("77288", "Aliments du bétail Test", "10.91Z")
    for est in (kiln, mill):
        FlowFactory(
            establishment=est,
            direction="need",
            resource_class="solid_recovered_fuel",
            quantity=500,
            unit="t",
        )
    return {**territory, "offer": offer, "kiln": kiln, "mill": mill}


def test_the_snapshot_carries_each_flows_waste_code(solvents):
    snap = snapshot.snapshot(None)
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


def test_a_prospect_found_by_the_codes_route_says_so(solvents, make_establishment):
    """A second cement works without any flow: a prospect for the solvents, by R1."""
    make_establishment("77288", "Cimenterie sans flux", "23.51Z")
    services.detect(solvents["chambers"][0])
    prospect = Suggestion.objects.get(
        kind=Suggestion.Kind.PROSPECT,
        offer_flow=solvents["offer"],
        prospect__name="Cimenterie sans flux",
    )
    e = prospect.explanation
    assert e["recovery_route"] == "R1" and e["waste_code"] == "07 01 04"
    text = " ".join(explain("prospect", e))
    assert "valorisent ce déchet (07 01 04)" in text and "2770" in text
    assert e["feedback_implemented"] == 0


def _implemented_history(territory, receiver_naf, pairs):
    """Implemented suggestions of chamber 78 (no agreement with 77): steel scrap (17 04 05) from
    producer i to receiver j of activity ``receiver_naf``."""
    scrap_outcomes(
        territory["chambers"][2],
        pairs,
        Suggestion.Status.IMPLEMENTED,
        receiver="Fonderie",
        receiver_naf=receiver_naf,
    )


def _prospect_scores(territory):
    services.detect(territory["chambers"][0])
    return {
        s.prospect.name: s
        for s in Suggestion.objects.filter(
            kind=Suggestion.Kind.PROSPECT, offer_flow=territory["scrap"]
        )
    }


@pytest.fixture
def scrap_prospects(territory, make_establishment):
    """Steel scrap (17 04 05) offered in Melun; a foundry (24.51Z) without flows nearby."""
    offer = FlowFactory(
        establishment=territory["e77"],
        direction="offer",
        waste_code="17 04 05",
        quantity=80,
        unit="t",
    )
    make_establishment("77288", "Fonderie de Melun", "24.51Z")
    return {**territory, "scrap": offer}


def test_the_platforms_outcomes_rank_prospects_too(scrap_prospects):
    baseline = _prospect_scores(scrap_prospects)["Fonderie de Melun"]
    assert baseline.explanation["feedback_implemented"] == 0
    _implemented_history(scrap_prospects, "24.51Z", [(1, 1), (2, 2), (1, 2)])
    after = _prospect_scores(scrap_prospects)["Fonderie de Melun"]
    assert after.score > baseline.score
    assert after.explanation["feedback_implemented"] == 3
    assert any("Favorisé : 3" in line for line in explain("prospect", after.explanation))
    assert "Ferrailleur" not in str(after.explanation)


def test_prospects_ignore_outcomes_below_the_minimum(scrap_prospects):
    baseline = _prospect_scores(scrap_prospects)["Fonderie de Melun"].score
    # three suggestions but one receiving company: one company's story, not a pattern
    _implemented_history(scrap_prospects, "24.51Z", [(1, 1), (2, 1), (3, 1)])
    assert _prospect_scores(scrap_prospects)["Fonderie de Melun"].score == baseline
