"""ICPE rubriques imported from the establishments spreadsheet (column ``rubriques_icpe``)."""

import pytest

from maillage.directory.models import Establishment
from maillage.ingest.spreadsheet import run
from maillage.ingest.spreadsheet_format import COLUMNS
from tests.factories import make_siret
from tests.ingest.test_spreadsheet import as_csv

pytestmark = pytest.mark.django_db

HEADER = list(COLUMNS["etablissements"])


def row(siret, name, rubriques):
    values = {
        "siret": siret,
        "raison_sociale": name,
        "code_naf": "38.22Z",
        "tranche_effectif": "12",
        "code_commune": "77288",
        "rubriques_icpe": rubriques,
    }
    return [values.get(column, "") for column in HEADER]


def test_rubriques_column_validated_with_line_and_reason(territory):
    a, b = make_siret(), make_siret()
    bad = [row(a, "Régénérateur", "2790;2770"), row(b, "Traiteur", "2790; 27X; 9999")]
    result = run(territory["advisor77"], "etablissements", "e.csv", as_csv(bad), commit=True)
    assert not result.written
    errors = [(e.line, e.column, e.message) for e in result.errors]
    assert [(line, column) for line, column, _m in errors] == [
        (3, "rubriques_icpe"),
        (3, "rubriques_icpe"),
    ]
    assert "27X" in errors[0][2] and "quatre chiffres" in errors[0][2]
    assert "9999" in errors[1][2] and "inconnue" in errors[1][2]
    assert not Establishment.objects.filter(siret__in=[a, b]).exists()

    good = [row(a, "Régénérateur", "2790;2770"), row(b, "Traiteur", "2791")]
    result = run(territory["advisor77"], "etablissements", "e.csv", as_csv(good), commit=True)
    assert result.ok and result.written
    assert Establishment.objects.get(siret=a).icpe_rubriques == ["2770", "2790"]
    assert Establishment.objects.get(siret=b).icpe_rubriques == ["2791"]
    # a later file without rubriques keeps what was recorded
    again = [row(a, "Régénérateur", ""), row(b, "Traiteur", "")]
    run(territory["advisor77"], "etablissements", "e.csv", as_csv(again), commit=True)
    assert Establishment.objects.get(siret=a).icpe_rubriques == ["2770", "2790"]
