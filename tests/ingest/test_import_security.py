"""Spreadsheet import, hardened (issue 17 points 1, 5, 7, 9, 10, 11; issue 16 points 6 and 7):
who may write which establishment, files that used to crash or stall the page, the confirmation
of the exact file checked, bounded and summarised errors, the audit log, and the same unit and
quantity rules as the web form, in French."""

import csv
import io
import zipfile

import pytest
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from maillage.accounts.models import AuditLog
from maillage.directory.models import Establishment
from maillage.flows.forms import DESCRIPTION_MAX_LENGTH, RecordedFlowForm
from maillage.flows.models import Flow
from maillage.ingest import spreadsheet_format
from maillage.ingest.spreadsheet import run
from maillage.ingest.spreadsheet_format import (
    COLUMNS,
    MAX_ROWS,
    MAX_UNCOMPRESSED_BYTES,
    FileError,
    template,
)
from tests.factories import EstablishmentFactory, make_siret

pytestmark = pytest.mark.django_db

ESTABLISHMENT_HEADER = list(COLUMNS["etablissements"])
FLOW_HEADER = list(COLUMNS["flux"])


def as_csv(rows, header=ESTABLISHMENT_HEADER, encoding="utf-8") -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode(encoding)


def as_xlsx(rows, header=FLOW_HEADER) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet()
    ws.append(header)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def upload(content: bytes, name: str) -> io.BytesIO:
    f = io.BytesIO(content)
    f.name = name
    return f


def establishment_row(siret, name="Scierie Importée", commune="77288"):
    return [siret, name, "16.10A", "12", "1 rue du Port", commune, "", ""]


def flow_row(siret, klass="", quantity="10", unit="t", description="", waste=""):
    return [siret, "", "offre", klass, waste, quantity, unit, "an", "", description]


# -- 17.1: an advisor cannot take over another chamber's establishment ----------------------------


@pytest.mark.parametrize("who, commune", [("advisor78", "78646"), ("advisor91", "91228")])
def test_advisor_cannot_take_over_an_establishment_of_another_chamber(territory, who, commune):
    """Chamber 78 has no agreement with 77, chamber 91 has one (flows scope): neither may
    rewrite 77's establishment, even with a commune of their own; the whole file is refused."""
    e77 = territory["e77"]
    newcomer = make_siret()
    rows = [
        establishment_row(newcomer, "Nouvelle Scierie", commune),
        establishment_row(e77.siret, "Prise de contrôle", commune),
    ]
    result = run(territory[who], "etablissements", "e.csv", as_csv(rows), commit=True)
    assert not result.written
    assert [(e.line, e.column) for e in result.errors] == [(3, "siret")]
    assert "autre chambre" in result.errors[0].message
    e77.refresh_from_db()
    assert (e77.name, e77.commune_id) == ("Scierie de Melun-Test", "77288")
    assert not Establishment.objects.filter(siret=newcomer).exists()
    assert not AuditLog.objects.exists()


def test_advisor_updates_an_establishment_of_their_own_chamber(territory):
    e77 = territory["e77"]
    rows = [establishment_row(e77.siret, "Scierie renommée")]
    result = run(territory["advisor77"], "etablissements", "e.csv", as_csv(rows), commit=True)
    assert result.written and result.updated == 1
    e77.refresh_from_db()
    assert e77.name == "Scierie renommée"


# -- 17.5: files that used to be a server error ---------------------------------------------------


def test_a_csv_in_neither_utf8_nor_cp1252_gets_a_french_message(client, territory):
    client.force_login(territory["advisor77"])
    content = as_csv([establishment_row(make_siret())]) + b"\x81\x8d\x8f\x90\x9d\xff\n"
    response = client.post(
        reverse("import"), {"kind": "etablissements", "file": upload(content, "e.csv")}
    )
    assert response.status_code == 200
    assert "Encodage illisible" in response.content.decode()


@pytest.fixture
def default_csv_field_limit():
    """Loading reference data raises the process-wide csv limit; a web worker may run with
    Python's default (131,072 characters), which is where the 500 happened."""
    previous = csv.field_size_limit(131_072)
    yield
    csv.field_size_limit(previous)


@pytest.mark.parametrize("limit", ["default", "raised"])
def test_a_cell_over_the_csv_field_limit_gets_a_french_message(client, territory, request, limit):
    if limit == "default":
        request.getfixturevalue("default_csv_field_limit")
    client.force_login(territory["advisor77"])
    content = as_csv([establishment_row(make_siret(), name="x" * 140_000)])
    response = client.post(
        reverse("import"), {"kind": "etablissements", "file": upload(content, "e.csv")}
    )
    assert response.status_code == 200
    expected = "Ligne 2 illisible" if limit == "default" else "Texte trop long : 140000"
    assert expected in response.content.decode()
    assert not Establishment.objects.filter(name__startswith="xxx").exists()


# -- 17.7: the confirmation names the file it confirms --------------------------------------------


def test_a_rejected_upload_after_a_valid_dry_run_cannot_confirm_the_earlier_file(client, territory):
    client.force_login(territory["advisor77"])
    first = as_csv([establishment_row(make_siret(), "Fichier A")])
    valid = client.post(
        reverse("import"), {"kind": "etablissements", "file": upload(first, "a.csv")}
    )
    digest = valid.context["result"].digest
    assert digest[:12] in valid.content.decode() and "a.csv" in valid.content.decode()
    second = as_csv([[make_siret(), "Fichier B", "99.99Q", "12", "", "77288", "", ""]])
    rejected = client.post(
        reverse("import"), {"kind": "etablissements", "file": upload(second, "b.csv")}
    )
    assert "Confirmer l'import" not in rejected.content.decode()
    for data in ({"confirm": "1"}, {"confirm": "1", "digest": digest}):
        response = client.post(reverse("import"), data)
        assert "plus celui en attente" in response.content.decode()
    assert not Establishment.objects.filter(name__startswith="Fichier").exists()


def test_confirming_with_another_files_digest_imports_nothing(client, territory):
    client.force_login(territory["advisor77"])
    a = as_csv([establishment_row(make_siret(), "Fichier A")])
    b = as_csv([establishment_row(make_siret(), "Fichier B")])
    digest_a = (
        client.post(reverse("import"), {"kind": "etablissements", "file": upload(a, "a.csv")})
        .context["result"]
        .digest
    )
    client.post(reverse("import"), {"kind": "etablissements", "file": upload(b, "b.csv")})
    response = client.post(reverse("import"), {"confirm": "1", "digest": digest_a})
    assert "plus celui en attente" in response.content.decode()
    assert not Establishment.objects.filter(name__startswith="Fichier").exists()


# -- 17.9: bounded files, summarised errors -------------------------------------------------------


def test_more_rows_than_the_limit_are_refused_before_any_validation(territory):
    rows = [flow_row(territory["e77"].siret, "heat", "1", "MWh")] * (MAX_ROWS + 1)
    with pytest.raises(FileError, match="Trop de lignes"):
        run(territory["advisor77"], "flux", "flux.xlsx", as_xlsx(rows), commit=False)
    with pytest.raises(FileError, match="Trop de lignes"):
        run(territory["advisor77"], "flux", "flux.csv", as_csv(rows, FLOW_HEADER), commit=False)


def test_an_xlsx_too_big_once_uncompressed_is_refused_before_parsing(territory, monkeypatch):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/padding.bin", b"\0" * (MAX_UNCOMPRESSED_BYTES + 1))
    source = as_xlsx([flow_row(territory["e77"].siret, "heat", "1", "MWh")])
    with zipfile.ZipFile(io.BytesIO(source)) as archive, zipfile.ZipFile(out, "a") as bomb:
        for info in archive.infolist():
            bomb.writestr(info, archive.read(info))
    assert len(out.getvalue()) < 200_000  # small on disk, big once inflated

    def must_not_parse(*args, **kwargs):
        raise AssertionError("parsed before its size was checked")

    monkeypatch.setattr(spreadsheet_format, "load_workbook", must_not_parse)
    with pytest.raises(FileError, match="trop volumineux une fois décompressé"):
        run(territory["advisor77"], "flux", "flux.xlsx", out.getvalue(), commit=False)


def test_errors_are_summarised_first_hundred_and_counts_by_column(client, territory):
    client.force_login(territory["advisor77"])
    rows = [[make_siret(), "Scierie", "99.99Q", "12", "", "77288", "", ""] for _ in range(140)]
    rows += [[make_siret(), "Scierie", "16.10A", "99", "", "77288", "", ""] for _ in range(10)]
    response = client.post(
        reverse("import"), {"kind": "etablissements", "file": upload(as_csv(rows), "e.csv")}
    )
    html = response.content.decode()
    assert (
        "150 erreurs : rien n&#x27;a été écrit" in html
        or "150 erreurs : rien n'a été écrit" in html
    )
    detail = html.split('id="errors"')[1].split("</table>")[0]
    assert detail.count("<tr>") == 1 + 100  # header and the first 100
    assert "50 autres ne sont pas affichées" in html
    counts = html.split('id="error-counts"')[1].split("</table>")[0]
    assert '<td>code_naf</td><td class="num">140</td>' in counts
    assert '<td>tranche_effectif</td><td class="num">10</td>' in counts


# -- 17.10: NUL characters and overlong text ------------------------------------------------------


def test_nul_and_control_characters_are_refused_in_their_column(territory):
    rows = [establishment_row(make_siret(), "Scierie\x00 cachée")]
    result = run(territory["advisor77"], "etablissements", "e.csv", as_csv(rows), commit=True)
    assert [(e.line, e.column) for e in result.errors] == [(2, "raison_sociale")]
    assert "caractère nul" in result.errors[0].message
    assert not Establishment.objects.filter(name__contains="cachée").exists()


def test_an_overlong_flow_description_is_refused_by_the_import_and_the_form(territory):
    siret = territory["e77"].siret
    long_text = "é" * (DESCRIPTION_MAX_LENGTH + 1)
    content = as_xlsx([flow_row(siret, "heat", "5", "MWh", description=long_text)])
    result = run(territory["advisor77"], "flux", "flux.xlsx", content, commit=True)
    assert [(e.line, e.column) for e in result.errors] == [(2, "description")]
    assert "trop long" in result.errors[0].message
    assert not Flow.objects.exists()
    data = {
        "direction": "offer",
        "resource_class": "heat",
        "quantity": "5",
        "unit": "MWh",
        "period": "year",
        "physical_state": "na",
        "description": long_text,
    }
    form = RecordedFlowForm(data, instance=Flow(establishment=territory["e77"]))
    assert not form.is_valid() and "description" in form.errors
    form = RecordedFlowForm(
        {**data, "description": "court"}, instance=Flow(establishment=territory["e77"])
    )
    assert form.is_valid(), form.errors


# -- 17.11: every import commit is in the audit log -----------------------------------------------


def test_an_import_commit_is_audited_per_establishment_and_a_dry_run_is_not(territory):
    advisor = territory["advisor77"]
    e77 = territory["e77"]
    other = EstablishmentFactory(name="Deuxième", naf_id="16.10A", commune_id="77288")
    rows = [flow_row(e77.siret, "heat", "5", "MWh"), flow_row(other.siret, "heat", "7", "MWh")]
    rows.append(flow_row(e77.siret, "electricity", "9", "MWh"))
    run(advisor, "flux", "flux_mars.xlsx", as_xlsx(rows), commit=False)
    assert not AuditLog.objects.exists()
    result = run(advisor, "flux", "flux_mars.xlsx", as_xlsx(rows), commit=True)
    assert result.written
    entries = AuditLog.objects.filter(user=advisor, action=AuditLog.Action.CHANGE_FLOWS)
    assert sorted(entries.values_list("establishment_id", flat=True)) == sorted([e77.pk, other.pk])
    for entry in entries:
        assert "import flux « flux_mars.xlsx »" in entry.detail
        assert "3 lignes, 3 créations" in entry.detail
        assert result.digest[:12] in entry.detail
    rows = [establishment_row(make_siret(), "Scierie neuve"), establishment_row(e77.siret)]
    run(advisor, "etablissements", "etabs.csv", as_csv(rows), commit=True)
    audited = AuditLog.objects.filter(detail__startswith="import etablissements")
    assert audited.count() == 2
    assert set(audited.values_list("action", flat=True)) == {AuditLog.Action.CHANGE_ESTABLISHMENT}
    assert set(audited.values_list("establishment__name", flat=True)) == {
        "Scierie neuve",
        "Scierie Importée",
    }
    contacts = as_csv([[e77.siret, "Camille", "Durand", "", "", ""]], list(COLUMNS["contacts"]))
    run(advisor, "contacts", "contacts.csv", contacts, commit=True)
    assert AuditLog.objects.get(detail__startswith="import contacts").establishment_id == e77.pk


# -- 16.6: the same unit rule as the web form, negative quantities in their column ----------------


def test_incoherent_units_and_negative_quantities_are_refused_in_their_column(territory):
    siret = territory["e77"].siret
    rows = [
        flow_row(siret, "electricity", "10", "t"),
        flow_row(siret, "heat", "10", "m2"),
        flow_row(siret, "wood_waste", "-3", "t"),
        flow_row(siret, "electricity", "10", "MWh"),
    ]
    result = run(territory["advisor77"], "flux", "flux.xlsx", as_xlsx(rows), commit=True)
    errors = {(e.line, e.column): e.message for e in result.errors}
    assert set(errors) == {(2, "unite"), (3, "unite"), (4, "quantite")}
    assert "se mesure en MWh" in errors[(2, "unite")]
    assert "négative" in errors[(4, "quantite")]
    assert not any("constraint" in m.lower() for m in errors.values())
    # the web form refuses electricity in t with the very same message
    form = RecordedFlowForm(
        {
            "direction": "offer",
            "resource_class": "electricity",
            "quantity": "10",
            "unit": "t",
            "period": "year",
            "physical_state": "na",
        },
        instance=Flow(establishment=territory["e77"]),
    )
    assert not form.is_valid() and form.errors["unit"] == [errors[(2, "unite")]]


# -- 16.7: French headers and labels, allowed values in the template ------------------------------


def test_french_headers_and_resource_class_labels_are_accepted(territory):
    siret = territory["e77"].siret
    header = [
        "SIRET",
        "Date de visite",
        "Sens",
        "Classe de ressource",
        "Code déchet",
        "Quantité",
        "Unité",
        "Période",
        "Température (°C)",
        "Description",
    ]
    rows = [
        [siret, "", "Offre", "Chaleur", "", "12", "MWh", "Année", "85", ""],
        [siret, "", "besoin", "électricité", "", "3", "MWh", "mois", "", ""],
        [siret, "", "offre", "wood_waste", "", "4", "t", "an", "", ""],
        [siret, "", "offre", "Chaleur douce", "", "4", "MWh", "an", "", ""],
    ]
    result = run(territory["advisor77"], "flux", "flux.xlsx", as_xlsx(rows, header), commit=True)
    assert [(e.line, e.column) for e in result.errors] == [(5, "classe_ressource")]
    assert "feuille « valeurs »" in result.errors[0].message
    rows.pop()
    result = run(territory["advisor77"], "flux", "flux.xlsx", as_xlsx(rows, header), commit=True)
    assert result.written, result.errors
    assert sorted(Flow.objects.values_list("resource_class_id", flat=True)) == [
        "electricity",
        "heat",
        "wood_waste",
    ]


def test_the_template_lists_allowed_values_with_data_validation(territory):
    wb = load_workbook(io.BytesIO(template("flux")))
    sheet, values = wb.worksheets
    assert values.title == "valeurs"
    lists = {
        values.cell(row=1, column=c).value: [
            values.cell(row=r, column=c).value
            for r in range(2, values.max_row + 1)
            if values.cell(row=r, column=c).value
        ]
        for c in range(1, values.max_column + 1)
    }
    assert "Chaleur (chauffage et procédés)" in lists["Classe de ressource"]
    assert lists["Sens"] == ["offre", "besoin"]
    assert "MWh" in lists["Unité"] and "an" in lists["Période"]
    validated = {str(dv.sqref): dv.formula1 for dv in sheet.data_validations.dataValidation}
    column = {c.value: c.column_letter for c in sheet[1]}
    assert validated[f"{column['classe_ressource']}2:{column['classe_ressource']}{MAX_ROWS + 1}"]
    assert validated[f"{column['sens']}2:{column['sens']}{MAX_ROWS + 1}"].startswith("valeurs!")
    # the example row of the template is itself importable
    example = [c.value for c in sheet[2]]
    assert sheet.cell(row=2, column=FLOW_HEADER.index("classe_ressource") + 1).value == (
        "Chaleur (chauffage et procédés)"
    )
    example[0] = territory["e77"].siret
    result = run(territory["advisor77"], "flux", "f.xlsx", as_xlsx([example]), commit=False)
    assert result.ok, result.errors
    headcount = load_workbook(io.BytesIO(template("etablissements")))["valeurs"]
    assert headcount.cell(row=1, column=1).value == "Tranche d'effectif"
