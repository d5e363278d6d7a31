"""The stored explanation of a substitution carries the rules that ranked it (class strength in
the waste hierarchy, activities that practise it, intermediary receiver, declared or inferred
need) and the French explanation renders each one only where it applies."""

import numpy as np
import pytest

from maillage.engine.data_model import Establishments, Flows
from maillage.engine.taxonomy import compiled
from maillage.synergies import candidates, snapshot
from maillage.synergies.explain import explain

pytestmark = pytest.mark.django_db

# Melun-like coordinates: the receivers sit about 1 km east of the offer.
LAT, LON = 48.54, 2.66


def _snapshot(offer_class, need_class, need_naf, need_declared=True, offer_naf="22"):
    """One offer and one need, each at its own establishment, as the engine's tables; NAF codes
    at any level ("16", "16.21Z")."""
    tax = compiled()
    est = Establishments.build(
        id=[1, 2],
        lat=[LAT, LAT],
        lon=[LON, LON + 0.014],
        division=[offer_naf[:2], need_naf[:2]],
        headcount=[50, 50],
        naf=[offer_naf, need_naf],
    )
    flows = Flows.build(
        id=[10, 20],
        establishment=[0, 1],
        resource_class=[tax.index[offer_class], tax.index[need_class]],
        is_offer=[True, False],
        quantity=[100.0, 80.0],
        declared=[True, need_declared],
    )
    meta = [{"waste_code": None, "unit": "t", "quantity": 100.0}] * 2
    return snapshot.Snapshot(
        est=est, flows=flows, est_chamber=np.zeros(2, np.int64), flow_meta=meta
    )


def _explained(*args, **kwargs):
    found = candidates.substitution_suggestions(_snapshot(*args, **kwargs), k=20)
    assert len(found) == 1, found
    e = found[0]["explanation"]
    return e, "\n".join(explain("substitution", e))


def test_direct_reuse_of_the_same_class():
    e, text = _explained("plastic_waste", "plastic_waste", "38")
    assert e["same_class"] and e["class_strength"] == 1.0 and not e["below_recycling"]
    assert "Réemploi direct" in text
    assert "Valorisation de rang inférieur" not in text and "Substitution (" not in text


def test_recycling_substitution_at_full_rank():
    e, text = _explained("plastic_waste", "recycled_plastic_raw", "22.22Z")
    assert not e["same_class"] and e["class_strength"] == pytest.approx(0.85)
    assert not e["below_recycling"]
    assert "Substitution (0,85)" in text
    assert "Réemploi direct" not in text and "hiérarchie des déchets" not in text


def test_energy_recovery_ranks_below_recycling():
    e, text = _explained("plastic_waste", "solid_recovered_fuel", "23")
    assert e["below_recycling"] and e["class_strength"] == pytest.approx(0.7)
    assert "Valorisation de rang inférieur (0,70)" in text
    assert "hiérarchie des déchets" in text and "valorisation énergétique" in text


def test_substitution_reserved_to_some_activities_names_the_receiver_activity():
    e, text = _explained("wood_waste", "wood_raw_material", "16.21Z")
    assert e["reserved_to_divisions"] == ["16.21"] and e["receiver_division"] == "16"
    assert e["receiver_naf"] == "16.21"
    assert "Substitution pratiquée seulement par certaines activités (NAF 16.21)" in text
    assert "le receveur (NAF 16" in text
    # a receiver known only by its division is not among those of a reserved class
    assert (
        candidates.substitution_suggestions(
            _snapshot("wood_waste", "wood_raw_material", "16"), k=20
        )
        == []
    )
    # an unrestricted substitution says nothing of the kind
    e, text = _explained("wood_packaging_waste", "wood_fuel", "35")
    assert e["reserved_to_divisions"] == [] and not e["same_class"]
    assert "seulement par certaines activités" not in text


def test_receiver_activity_label_comes_from_the_naf_nomenclature():
    from maillage.reference.models import NafCode

    NafCode.objects.update_or_create(
        code="16",
        defaults={
            "label": "Travail du bois et fabrication d'articles en bois",
            "level": "division",
        },
    )
    e, text = _explained("wood_waste", "wood_raw_material", "16.21Z")
    assert e["receiver_division_label"] == "Travail du bois et fabrication d'articles en bois"
    assert "NAF 16 « Travail du bois et fabrication d'articles en bois »" in text


def test_a_waste_operator_is_an_intermediary_route():
    e, text = _explained("plastic_waste", "plastic_waste", "38")
    assert e["receiver_is_waste_operator"] and e["receiver_division"] == "38"
    assert "filière intermédiaire" in text and "passe devant" in text
    e, text = _explained("plastic_waste", "plastic_waste", "22")
    assert not e["receiver_is_waste_operator"]
    assert "filière intermédiaire" not in text


def test_declared_and_inferred_needs_are_told_apart():
    e, text = _explained("plastic_waste", "recycled_plastic_raw", "22.22Z", need_declared=True)
    assert e["need_declared"] is True
    assert "Besoin déclaré" in text and "profil sectoriel" not in text
    e, text = _explained("plastic_waste", "recycled_plastic_raw", "22.22Z", need_declared=False)
    assert e["need_declared"] is False
    assert "Besoin déduit du profil sectoriel" in text and "Besoin déclaré" not in text


def test_explanations_stored_before_the_rules_render_without_them():
    old = {
        "offer_class": "plastic_waste",
        "need_class": "recycled_plastic_raw",
        "same_class": False,
        "distance_km": 1.0,
        "max_distance_km": 100.0,
        "unit": "t",
    }
    text = "\n".join(explain("substitution", old))
    assert "peut remplacer" in text
    for absent in ("Réemploi direct", "Substitution (", "Besoin déclaré", "Besoin déduit"):
        assert absent not in text


def test_numbers_in_explanations_use_the_french_decimal_comma():
    """Issue 16.12: « 19.9 km » beside « 34,3 tCO2e »; every number a French reader sees in an
    explanation is written with a decimal comma and grouped thousands."""
    sub = {
        "offer_class": "plastic_waste",
        "need_class": "recycled_plastic_raw",
        "same_class": False,
        "class_strength": 0.85,
        "distance_km": 19.94,
        "max_distance_km": 100.0,
        "unit": "t",
        "offer_quantity": 1234.0,
        "need_quantity": 2.5,
        "coverage": 0.456,
        "offer_temperature": 90.0,
        "need_temperature": 60.0,
    }
    text = "\n".join(explain("substitution", sub))
    assert "Distance : 19,9 km" in text and "19.9" not in text
    assert "Substitution (0,85)" in text
    assert "1\u202f234 t/an" in text and "2,5 t/an" in text
    assert "couvre 46 % du besoin" in text
    prospect = {
        "direction": "need",
        "prospect_division": "16",
        "prospect_class": "wood_waste",
        "sector_weight": 0.4,
        "distance_km": 3.24,
    }
    text = "\n".join(explain("prospect", prospect))
    assert "À 3,2 km" in text
    assert "(40 % d'entre eux" in text
