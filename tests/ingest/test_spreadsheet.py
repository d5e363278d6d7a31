"""Spreadsheet import: every error with its line and column, nothing written until all is valid."""

import csv
import io

import pytest
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from maillage.directory.models import Establishment
from maillage.flows.models import Flow
from maillage.ingest.spreadsheet import run
from maillage.ingest.spreadsheet_format import COLUMNS, template
from tests.factories import make_siret

pytestmark = pytest.mark.django_db

HEADER = list(COLUMNS["etablissements"])


def establishment_rows(n=1000):
    return [
        [make_siret(), f"Entreprise {i}", "16.10A", "12", f"{i} rue du Bois", "77288", "", ""]
        for i in range(n)
    ]


def as_csv(rows, header=HEADER, delimiter=";", encoding="cp1252") -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode(encoding)


def test_ten_errors_among_a_thousand_rows_then_the_fixed_file(territory):
    rows = establishment_rows()
    good = {i: list(r) for i, r in enumerate(rows)}
    broken = {  # row index → (column, cell value)
        10: ("siret", "12345678901234"),
        120: ("siret", "1234"),
        230: ("code_naf", "99.99Q"),
        340: ("code_naf", "16.10"),
        450: ("code_commune", "78646"),
        560: ("code_commune", "00000"),
        670: ("tranche_effectif", "99"),
        780: ("latitude", "quarante-huit"),
        890: ("raison_sociale", ""),
        999: ("siret", rows[0][0]),
    }
    for i, (column, value) in broken.items():
        rows[i][HEADER.index(column)] = value
    result = run(territory["advisor77"], "etablissements", "etabs.csv", as_csv(rows), commit=True)
    found = {(e.line, e.column) for e in result.errors}
    expected = {(i + 2, column) for i, (column, _v) in broken.items()}
    assert found == expected, sorted(found ^ expected)
    assert not result.written
    assert not Establishment.objects.filter(name__startswith="Entreprise").exists()
    messages = {(e.line, e.column): e.message for e in result.errors}
    assert "Luhn" in messages[(12, "siret")] or "clé" in messages[(12, "siret")]
    assert "hors du territoire" in messages[(452, "code_commune")]
    assert "déjà présent ligne 2" in messages[(1001, "siret")]

    fixed = [good[i] for i in range(len(rows))]
    result = run(territory["advisor77"], "etablissements", "etabs.csv", as_csv(fixed), commit=True)
    assert result.ok and result.written and result.created == 1000
    assert Establishment.objects.filter(name__startswith="Entreprise").count() == 1000
    # importing the same file again updates nothing new and duplicates nothing
    again = run(territory["advisor77"], "etablissements", "etabs.csv", as_csv(fixed), commit=True)
    assert again.created == 0 and again.updated == 1000
    assert Establishment.objects.filter(name__startswith="Entreprise").count() == 1000


def test_flows_from_xlsx_with_errors_by_column(territory):
    wb = Workbook()
    ws = wb.active
    header = list(COLUMNS["flux"])
    ws.append(header)
    siret = territory["e77"].siret
    ws.append([siret, "2025-03-14", "offre", "", "03 01 05", 120, "t", "an", "", "Sciure"])
    ws.append([siret, "2025-03-14", "besoin", "wood_fuel", "", "5", "km", "an", "", ""])
    ws.append([siret, "2025-03-14", "offre", "", "99 99 99", "3", "t", "an", "", ""])
    ws.append([territory["e78"].siret, "", "offre", "wood_waste", "", "3", "t", "an", "", ""])
    ws.append([siret, "", "peut-être", "wood_waste", "", "3", "t", "an", "", ""])
    ws.append([siret, "", "offre", "", "", "4", "t", "an", "", "palettes cassées"])
    out = io.BytesIO()
    wb.save(out)
    result = run(territory["advisor77"], "flux", "flux.xlsx", out.getvalue(), commit=True)
    assert {(e.line, e.column) for e in result.errors} == {
        (3, "unite"),
        (4, "code_dechet"),
        (5, "siret"),
        (6, "sens"),
    }
    assert Flow.objects.count() == 0


def test_template_has_the_columns(territory):
    wb = load_workbook(io.BytesIO(template("flux")))
    assert [c.value for c in wb.active[1]] == list(COLUMNS["flux"])


def test_web_import_preview_then_confirm(client, territory):
    client.force_login(territory["advisor77"])
    page = client.get(reverse("import"))
    assert page.status_code == 200
    bad = as_csv([[make_siret(), "Scierie", "99.99Q", "12", "", "77288", "", ""]])
    upload = io.BytesIO(bad)
    upload.name = "etabs.csv"
    html = client.post(reverse("import"), {"kind": "etablissements", "file": upload}).content
    assert "code_naf" in html.decode() and "1 erreur : rien n'a été écrit" in html.decode()
    good = io.BytesIO(as_csv([[make_siret(), "Scierie Web", "16.10A", "12", "", "77288", "", ""]]))
    good.name = "etabs.csv"
    response = client.post(reverse("import"), {"kind": "etablissements", "file": good})
    assert "Confirmer l'import" in response.content.decode()
    assert not Establishment.objects.filter(name="Scierie Web").exists()
    client.post(reverse("import"), {"confirm": "1", "digest": response.context["result"].digest})
    assert Establishment.objects.filter(name="Scierie Web").exists()
    xlsx = client.get(reverse("import-template", args=["contacts"]))
    assert xlsx.status_code == 200 and xlsx["Content-Type"].startswith("application/vnd")


def test_only_chamber_staff_may_import(client, territory):
    for who in ("company77", "company78"):
        client.force_login(territory[who])
        assert client.get(reverse("import")).status_code == 403
        assert client.get(reverse("import-template", args=["flux"])).status_code == 403
    client.logout()
    assert client.get(reverse("import")).status_code == 302
