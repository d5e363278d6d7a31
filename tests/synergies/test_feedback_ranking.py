"""Outcomes feed back into ranking across the platform, by aggregate counts only, past a minimum."""

import pytest

from maillage.synergies import selectors, services
from maillage.synergies.explain import explain
from maillage.synergies.models import Suggestion
from tests.flows.factories import scrap_synergy
from tests.synergies.factories import scrap_outcomes

pytestmark = pytest.mark.django_db


@pytest.fixture
def scrap(territory):
    """Steel scrap (17 04 05) in Melun (77) for a scrap need at a heat plant (35.30Z) in Évry."""
    offer, need = scrap_synergy(territory, offered=80, needed=100)
    return {**territory, "offer": offer, "need": need}


def history(territory, pairs, status, reason="", code=""):
    """Past suggestions of chamber 78 (no agreement with 77): producer i → receiver j of steel
    scrap to 35.30Z heat plants, with the given outcome."""
    scrap_outcomes(
        territory["chambers"][2],
        pairs,
        status,
        receiver="Réseau de chaleur",
        receiver_naf="35.30Z",
        abandon_reason=reason,
        abandon_reason_code=code,
    )


def detected(scrap):
    services.detect(scrap["chambers"][0])
    return Suggestion.objects.get(offer_flow=scrap["offer"], need_flow=scrap["need"])


def test_implemented_pairs_rank_higher_across_chambers(scrap):
    baseline = detected(scrap).score
    history(scrap, [(1, 1), (2, 2), (1, 2)], Suggestion.Status.IMPLEMENTED)
    s = detected(scrap)
    assert s.score > baseline
    assert s.explanation["feedback_implemented"] == 3
    lines = explain("substitution", s.explanation)
    assert "Favorisé : 3 synergies de ce type réalisées sur la plateforme." in lines
    # nothing of chamber 78's companies is stored with chamber 77's suggestion
    stored = str(s.explanation)
    assert "Ferrailleur" not in stored and "Réseau de chaleur" not in stored


def test_technically_impossible_pairs_rank_lower(scrap):
    baseline = detected(scrap).score
    history(
        scrap,
        [(1, 1), (2, 2), (2, 1)],
        Suggestion.Status.ABANDONED,
        reason="Techniquement impossible : teneur en cuivre trop haute",
    )
    s = detected(scrap)
    assert s.score < baseline
    assert s.explanation["feedback_impossible"] == 3
    assert any(
        "techniquement impossibles" in line for line in explain("substitution", s.explanation)
    )


def test_other_abandon_reasons_change_nothing(scrap):
    baseline = detected(scrap).score
    history(
        scrap,
        [(1, 1), (2, 2), (2, 1)],
        Suggestion.Status.ABANDONED,
        "Pas rentable",
    )
    assert detected(scrap).score == baseline


def test_below_the_minimum_nothing_changes(scrap):
    baseline = detected(scrap).score
    # two implemented suggestions: below the minimum count
    history(scrap, [(1, 1), (2, 2)], Suggestion.Status.IMPLEMENTED)
    s = detected(scrap)
    assert s.score == baseline and s.explanation["feedback_implemented"] == 0


def test_one_receiving_company_cannot_be_inferred(scrap):
    """Chamber 78 has one heat plant that took scrap from three producers: chamber 77's ranking
    and explanation must not move, or 77 would learn that a 35.30 company of another chamber
    takes steel scrap."""
    baseline = detected(scrap)
    history(scrap, [(1, 1), (2, 1), (3, 1)], Suggestion.Status.IMPLEMENTED)
    s = detected(scrap)
    assert s.score == baseline.score
    assert s.explanation["feedback_implemented"] == 0
    assert not any("Favorisé" in line for line in explain("substitution", s.explanation))


def test_outcome_table_holds_counts_only(scrap):
    history(scrap, [(1, 1), (2, 2), (1, 2)], Suggestion.Status.IMPLEMENTED)
    table = selectors.outcome_table()
    assert list(table.keys) == ["170405|35.30"]
    assert (
        table.implemented[0],
        table.implemented_producers[0],
        table.implemented_receivers[0],
    ) == (3, 2, 2)


def test_reason_type_technically_impossible_via_the_pipeline(scrap):
    s = detected(scrap)
    services.change_status(
        s,
        scrap["advisor77"],
        Suggestion.Status.ABANDONED,
        "",
        reason_code=Suggestion.AbandonReason.TECHNICALLY_IMPOSSIBLE,
    )
    s.refresh_from_db()
    assert s.abandon_reason_code == "technically_impossible"
    assert s.abandon_reason == "techniquement impossible"
    assert selectors.outcome_table().impossible.tolist() == [1]
