"""The reference data is real and complete, and loading it twice changes nothing."""

import csv
import difflib
import statistics

import pytest

from maillage.reference import services
from maillage.reference.models import Commune, Departement, Epci, NafCode, Region, WasteCode
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.django_db


def test_naf_levels_are_complete():
    counts = {level: NafCode.objects.filter(level=level).count() for level in NafCode.Level.values}
    assert counts == {"section": 21, "division": 88, "group": 272, "class": 615, "subclass": 732}


def test_known_naf_entries():
    assert NafCode.objects.get(pk="38.32Z").label == "Récupération de déchets triés"
    sawmill = NafCode.objects.get(pk="16.10A")
    assert sawmill.parent.parent.parent.parent.pk == "C"  # class → group → division → section


def _oracle():
    with open(SHARED_DATA / "ewc_liste_dechets_fr_en.csv", encoding="utf-8") as fh:
        return {row["code"]: row for row in csv.DictReader(fh)}


def _norm(text: str) -> str:
    return " ".join(text.lower().replace("’", "'").split())


def test_waste_list_matches_the_official_list():
    oracle = _oracle()
    ours = {w.code: w for w in WasteCode.objects.filter(level="entry")}
    assert len(ours) == 842
    assert set(ours) == set(oracle)
    assert sum(w.hazardous for w in ours.values()) == 408
    mismatched = [c for c, w in ours.items() if w.hazardous != (oracle[c]["dangerous"] == "True")]
    assert mismatched == []
    ratios = [
        difflib.SequenceMatcher(None, _norm(ours[c].label), _norm(oracle[c]["label_fr"])).ratio()
        for c in ours
    ]
    assert statistics.median(ratios) >= 0.95
    assert min(ratios) >= 0.75


def test_known_waste_entries():
    wood = WasteCode.objects.get(pk="150103")
    assert wood.label == "emballages en bois"
    assert not wood.hazardous
    assert wood.display == "15 01 03"
    assert wood.parent.pk == "1501" and wood.parent.parent.pk == "15"
    asbestos = WasteCode.objects.get(pk="170605")
    assert asbestos.hazardous
    assert asbestos.display == "17 06 05*"
    assert WasteCode.objects.filter(level="chapter").count() == 20


def test_every_waste_code_has_a_waste_class_of_matching_hazard():
    entries = WasteCode.objects.filter(level="entry").select_related("resource_class")
    assert not entries.filter(resource_class__isnull=True).exists()
    for entry in entries:
        assert entry.resource_class.category == "waste", entry.code
        assert entry.resource_class.hazardous == entry.hazardous, entry.code


def test_geography():
    assert Region.objects.count() == 18
    assert Departement.objects.count() == 101
    assert Epci.objects.count() > 1200
    assert Commune.objects.count() > 34_000
    versailles = Commune.objects.select_related("departement__region", "epci").get(pk="78646")
    assert versailles.name == "Versailles"
    assert "78000" in versailles.postal_codes.split(",")
    assert versailles.departement.region.name == "Île-de-France"
    assert versailles.epci is not None and "Versailles" in versailles.epci.name
    assert 48.7 < versailles.latitude < 48.9 and 2.0 < versailles.longitude < 2.2
    # Municipal arrondissements are kept (SIRENE locates establishments there).
    assert Commune.objects.get(pk="75101").epci_id == Commune.objects.get(pk="75056").epci_id
    assert Commune.objects.filter(latitude__isnull=True).count() < 10


def test_load_reference_is_idempotent():
    before = {m: m.objects.count() for m in (NafCode, WasteCode, Commune, Epci, Region)}
    results = services.load_all()
    assert all(r.created == 0 and r.updated == 0 for r in results.values()), results
    assert before == {m: m.objects.count() for m in before}
