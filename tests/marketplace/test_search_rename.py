"""The sourcing directory finds a company by its new name (and no longer by the old one) after
every kind of rename — the web form, a SIRENE re-import, a model save — on SQLite (folded words
kept in ``search_text``) as on PostgreSQL (vector kept by triggers)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from maillage.directory.models import Establishment
from maillage.ingest.sirene import import_file
from maillage.marketplace import selectors
from maillage.marketplace.models import SupplierProfile
from tests.ingest import sirene_file as sf

pytestmark = pytest.mark.django_db


def found(user, q) -> list[str]:
    return [p.establishment.name for p, _d in selectors.search_suppliers(user, q=q)]


def test_rename_through_the_edit_form(client, market, profile):
    e77 = market["e77"]
    profile(e77, "Sciage de planches de chêne et de hêtre.", categories="wood")
    searcher = market["users"]["buyer"]
    assert found(searcher, "scierie melun") == ["Scierie de Melun-Test"]
    client.force_login(market["company77"])
    response = client.post(
        reverse("establishment-edit", args=[e77.pk]),
        {"name": "Boulangeries Hervé", "naf": "16.10A", "headcount_band": "12", "address": ""},
    )
    assert response.status_code == 302
    # Accents and plurals folded: "Boulangeries Hervé" is found by "boulangerie herve".
    assert found(searcher, "boulangerie herve") == ["Boulangeries Hervé"]
    assert found(searcher, "BOULANGERIES HERVÉ") == ["Boulangeries Hervé"]
    assert found(searcher, "herve") == ["Boulangeries Hervé"]
    assert found(searcher, "scierie melun") == []
    assert found(searcher, "scierie") == []
    # The capabilities still count.
    assert found(searcher, "planches chene") == ["Boulangeries Hervé"]


def test_rename_by_a_model_save_and_a_save_of_other_fields(market, profile):
    elec = market["elec"]
    searcher = market["users"]["buyer"]
    elec.name = "Câblages Hervé"
    elec.save()
    assert found(searcher, "cablage herve") == ["Câblages Hervé"]
    assert found(searcher, "melunaise") == []
    elec.address = "3 rue des Fils"
    elec.save(update_fields=["address"])  # the name is not written: the words stay right
    assert found(searcher, "cablage herve") == ["Câblages Hervé"]


def test_sirene_reimport_with_a_new_name(tmp_path, market, profile):
    cols = sf.header()
    path = tmp_path / "StockEtablissement_utf8.csv"
    sf.write(path, [sf.row(cols, n) for n in (1, 2, 3)], cols)
    assert import_file(path).created == 3
    renamed = Establishment.objects.get(siret=sf.siret(2))
    profile(renamed, "Sciage et rabotage de bois de charpente.", categories="wood")
    searcher = market["users"]["buyer"]
    assert found(searcher, "scierie 2") == ["SCIERIE 2"]
    untouched = SupplierProfile.objects.get(establishment=market["elec"]).search_text

    rows = [sf.row(cols, 1), sf.row(cols, 2, name="BOULANGERIES HERVÉ"), sf.row(cols, 3)]
    sf.write(path, rows, cols)
    report = import_file(path)
    assert report.updated == 1 and report.unchanged == 2
    assert found(searcher, "boulangerie herve") == ["BOULANGERIES HERVÉ"]
    assert found(searcher, "Boulangeries Hervé") == ["BOULANGERIES HERVÉ"]
    assert found(searcher, "scierie 2") == []
    assert found(searcher, "charpente") == ["BOULANGERIES HERVÉ"]
    assert SupplierProfile.objects.get(establishment=market["elec"]).search_text == untouched
