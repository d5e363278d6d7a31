"""Exports (CSV for Excel-FR, XLSX) on the web, the command line and the API: the access policy,
the audit of exported flows, the file formats, constant queries, and nothing for outsiders."""

import csv
import io

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from maillage.accounts.models import AuditLog
from maillage.accounts.tokens import create_token
from maillage.synergies import services
from tests.factories import FlowFactory

pytestmark = pytest.mark.django_db

SECRET_77 = "Sciure secrète"
SECRET_78 = "Palettes secrètes de Versailles"


@pytest.fixture
def data(territory):
    for establishment, kw in (
        ("e77", {"direction": "offer", "waste_code": "03 01 05", "description": SECRET_77}),
        ("e91", {"direction": "need", "resource_class": "wood_fuel"}),
        ("e78", {"direction": "offer", "waste_code": "15 01 03", "description": SECRET_78}),
    ):
        FlowFactory(establishment=territory[establishment], quantity=400.5, unit="t", **kw)
    services.detect()
    return territory


def read_csv(content: bytes) -> list[list[str]]:
    assert content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))


def download(client, user, url):
    if user is not None:
        client.force_login(user)
    response = client.get(url)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


def test_csv_for_excel_fr(client, data):
    data["e77"].name = '=HYPERLINK("http://x")'  # a formula must reach Excel as plain text
    data["e77"].save()
    response, body = download(client, data["advisor77"], "/export/flux.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="maillage_flux_' in response["Content-Disposition"]
    rows = read_csv(body)
    header, lines = rows[0], rows[1:]
    assert header[:3] == ["Identifiant", "SIRET", "Établissement"]
    by_description = {r[header.index("Description")]: r for r in lines}
    assert set(by_description) == {SECRET_77, ""}  # the 77 offer and the 91 need (agreement)
    offer = by_description[SECRET_77]
    assert offer[header.index("Quantité")] == "400,5"  # decimal comma
    assert offer[header.index("Sens")] == "Offre (sortant)"
    assert offer[header.index("Établissement")] == '\'=HYPERLINK("http://x")'
    assert offer[header.index("Dangereux")] == "non"


def test_establishments_follow_the_policy(client, data):
    expected = {
        "advisor77": {"Scierie de Melun-Test", "Chaufferie d'Évry-Test"},  # own + agreement
        "advisor78": {"Boulangerie de Versailles-Test"},
        "company78": {"Boulangerie de Versailles-Test"},
        "company77": {"Scierie de Melun-Test"},
    }
    for who, names in expected.items():
        client.logout()
        _response, body = download(client, data[who], "/export/etablissements.csv")
        rows = read_csv(body)
        assert {r[1] for r in rows[1:]} == names, who


@pytest.mark.parametrize("who", ["advisor78", "company78", "company77", None])
def test_nobody_else_gets_the_flows_of_77(client, data, who):
    user = data[who] if who else None
    for fmt in ("csv", "xlsx"):
        response, body = download(client, user, f"/export/flux.{fmt}")
        if who is None:
            assert response.status_code == 302 and "/comptes/login/" in response["Location"]
        if fmt == "csv" and response.status_code == 200:
            text = body.decode("utf-8-sig")
            if who == "company77":
                assert SECRET_77 in text and SECRET_78 not in text
            else:
                assert SECRET_77 not in text
        elif response.status_code == 200:
            cells = {
                c
                for row in load_workbook(io.BytesIO(body)).active.iter_rows(values_only=True)
                for c in row
            }
            assert (SECRET_77 in cells) == (who == "company77")


def test_suggestions_are_for_chamber_staff_only(client, data):
    response, body = download(client, data["advisor91"], "/export/suggestions.csv")
    rows = read_csv(body)
    header, lines = rows[0], rows[1:]
    assert lines, "the 77 offer matches the 91 need"
    pairs = {
        (r[header.index("Offre : établissement")], r[header.index("Besoin : établissement")])
        for r in lines
    }
    assert ("Scierie de Melun-Test", "Chaufferie d'Évry-Test") in pairs
    assert all(r[header.index("Explication")] for r in lines)
    client.logout()
    for who in ("company77", "advisor78"):
        response, body = download(client, data[who], "/export/suggestions.csv")
        if who == "company77":
            assert response.status_code == 403
        else:
            assert "Scierie de Melun-Test" not in body.decode("utf-8-sig")
        client.logout()


def test_export_page_lists_what_each_user_may_download(client, data):
    client.force_login(data["advisor77"])
    page = client.get("/export/").content.decode()
    assert "/export/suggestions.xlsx" in page and "/export/flux.csv" in page
    client.force_login(data["company77"])
    page = client.get("/export/").content.decode()
    assert "/export/flux.csv" in page and "suggestions" not in page
    client.logout()
    assert client.get("/export/").status_code == 302


def test_exported_flows_are_audited(client, data):
    download(client, data["advisor77"], "/export/flux.xlsx")
    logged = AuditLog.objects.filter(user=data["advisor77"], action=AuditLog.Action.EXPORT)
    assert set(logged.values_list("establishment_id", flat=True)) == {
        data["e77"].pk,
        data["e91"].pk,
    }
    download(client, data["company77"], "/export/flux.csv")
    assert not AuditLog.objects.filter(user=data["company77"]).exists()


def test_xlsx_keeps_types_and_text(client, data):
    data["e77"].name = "=1+1"
    data["e77"].latitude, data["e77"].longitude = 48.5394, 2.6596
    data["e77"].save()
    response, body = download(client, data["advisor77"], "/export/etablissements.xlsx")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(body)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "SIRET"
    melun = next(r for r in rows[1:] if r[6] == "77288")
    assert melun[1] == "=1+1"  # text, not a formula
    assert (melun[10], melun[11], melun[12]) == (48.5394, 2.6596, True)


def test_exports_run_in_constant_queries(
    client, data, make_establishment, django_assert_max_num_queries
):
    client.force_login(data["advisor77"])
    for i in range(40):
        e = make_establishment("77288", name=f"Atelier {i}")
        FlowFactory(establishment=e, direction="offer", waste_code="15 01 03", quantity=1, unit="t")
    services.detect()
    for name in ("etablissements", "flux", "suggestions"):
        with django_assert_max_num_queries(12):
            _response, body = download(client, None, f"/export/{name}.csv")
        assert len(read_csv(body)) > 40


def test_command_line(tmp_path, data):
    out = tmp_path / "flux.csv"
    call_command("export_data", "flux", "--user", "adv78", "-o", str(out))
    text = out.read_bytes().decode("utf-8-sig")
    assert SECRET_78 in text and SECRET_77 not in text
    xlsx = tmp_path / "e.xlsx"
    call_command("export_data", "etablissements", "--user", "co77", "-o", str(xlsx))
    rows = list(load_workbook(xlsx).active.iter_rows(values_only=True))
    assert [r[1] for r in rows[1:]] == ["Scierie de Melun-Test"]
    with pytest.raises(CommandError, match="pas accès"):
        call_command("export_data", "suggestions", "--user", "co77", "-o", str(tmp_path / "s.csv"))
    assert not (tmp_path / "s.csv").exists()


def test_api_exports_follow_the_policy(client, data):
    def get(who, url):
        headers = {"Authorization": f"Bearer {create_token(data[who], 't')}"} if who else {}
        response = client.get(f"/api{url}", headers=headers)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        return response, body

    response, body = get("advisor77", "/exports/flux")
    assert response.status_code == 200 and SECRET_77 in body.decode("utf-8-sig")
    response, body = get("advisor78", "/exports/flux?format=xlsx")
    assert response.status_code == 200 and SECRET_77.encode() not in body
    response, body = get("company78", "/exports/suggestions")
    assert response.status_code == 403 and "detail" in response.json()
    response, body = get(None, "/exports/etablissements")
    assert response.status_code == 401
    assert get("advisor77", "/exports/flux?format=pdf")[0].status_code == 422
