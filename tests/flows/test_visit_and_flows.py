"""A visit and its flows in one form (formset, unit checks), flows added, edited and archived with
their history, the autocompletion endpoints; and who may do each."""

import pytest
from django.urls import reverse

from maillage.flows.models import Flow, FlowRevision, Visit
from tests.factories import FlowFactory
from tests.pages import html_of

pytestmark = pytest.mark.django_db


def flow_row(i, **values):
    base = {
        "direction": "offer",
        "category": "",
        "resource_class": "",
        "waste_code": "",
        "quantity": "",
        "unit": "",
        "period": "year",
        "physical_state": "na",
        "temperature_c": "",
        "available_from": "",
        "available_until": "",
        "description": "",
    }
    base.update(values)
    return {f"flux-{i}-{k}": v for k, v in base.items()}


def visit_post(*rows, date="2025-06-12"):
    data = {
        "date": date,
        "notes": "Visite du site",
        "flux-TOTAL_FORMS": str(len(rows)),
        "flux-INITIAL_FORMS": "0",
        "flux-MIN_NUM_FORMS": "0",
        "flux-MAX_NUM_FORMS": "30",
    }
    for i, row in enumerate(rows):
        data.update(flow_row(i, **row))
    return data


def test_advisor_records_a_visit_with_two_flows(client, territory):
    e77 = territory["e77"]
    client.force_login(territory["advisor77"])
    url = reverse("visit-create", args=[e77.pk])
    html = html_of(client.get(url))
    assert 'list="maillage-waste-codes"' in html and 'id="maillage-resource-classes"' in html
    response = client.post(
        url,
        visit_post(
            {"waste_code": "03 01 05", "quantity": "12", "unit": "t", "period": "month"},
            {"direction": "need", "resource_class": "wood_fuel", "quantity": "500", "unit": "kg"},
            {"direction": ""},  # an untouched row is ignored
        ),
    )
    assert response.status_code == 302, html_of(response)
    visit = Visit.objects.get()
    assert visit.advisor == territory["advisor77"] and visit.establishment == e77
    flows = list(visit.flows.order_by("direction"))
    assert [f.direction for f in flows] == ["need", "offer"]
    assert flows[1].yearly_quantity == pytest.approx(144) and flows[1].category == "waste"
    assert flows[0].yearly_quantity == pytest.approx(0.5)
    assert FlowRevision.objects.filter(action="create").count() == 2


def test_a_wrong_unit_is_refused_in_french_and_nothing_is_saved(client, territory):
    client.force_login(territory["advisor77"])
    url = reverse("visit-create", args=[territory["e77"].pk])
    response = client.post(
        url,
        visit_post(
            {"waste_code": "03 01 05", "quantity": "12", "unit": "t"},
            {"resource_class": "wood_fuel", "quantity": "5", "unit": "MWh"},
        ),
    )
    html = html_of(response)
    assert response.status_code == 200
    assert "se mesure en t" in html
    bad_unit = client.post(
        url, visit_post({"waste_code": "03 01 05", "quantity": "12", "unit": "brouettes"})
    )
    assert "Unité « brouettes » inconnue" in html_of(bad_unit)
    unknown = client.post(url, visit_post({"waste_code": "99 99 99", "quantity": "1", "unit": "t"}))
    assert "Code déchet « 99 99 99 » inconnu" in html_of(unknown)
    assert not Visit.objects.exists() and not Flow.objects.exists()


@pytest.mark.parametrize(
    "who,status", [("advisor91", 403), ("company77", 403), ("advisor78", 404), ("company78", 404)]
)
def test_only_the_own_chamber_records_visits(client, territory, who, status):
    client.force_login(territory[who])
    url = reverse("visit-create", args=[territory["e77"].pk])
    assert client.get(url).status_code == status
    data = visit_post({"waste_code": "03 01 05", "quantity": "12", "unit": "t"})
    assert client.post(url, data).status_code == status
    client.logout()
    assert client.post(url, data).status_code == 302
    assert not Visit.objects.exists()


@pytest.fixture
def flow(territory):
    f = FlowFactory(
        establishment=territory["e77"],
        direction="offer",
        waste_code="030105",
        quantity=42,
        unit="t",
    )
    return f


def form_data(**values):
    return {k.split("-", 2)[2]: v for k, v in flow_row(0, **values).items()}


def test_company_adds_edits_archives_and_restores_with_history(client, territory, flow):
    client.force_login(territory["company77"])
    add = client.post(
        reverse("flow-create", args=[territory["e77"].pk]),
        form_data(direction="need", resource_class="wood_fuel", quantity="80", unit="t"),
    )
    assert add.status_code == 302 and Flow.objects.filter(direction="need").exists()
    url = reverse("flow-edit", args=[flow.pk])
    assert "03 01 05" in html_of(client.get(url))
    response = client.post(
        url, form_data(waste_code="03 01 05", quantity="50", unit="t", description="Copeaux")
    )
    assert response.status_code == 302
    flow.refresh_from_db()
    assert flow.quantity == 50 and flow.yearly_quantity == 50
    revision = flow.revisions.get(action="update")
    assert revision.user == territory["company77"]
    assert revision.changes == {"quantity": ["42", "50"], "description": [None, "Copeaux"]}
    unchanged = client.post(
        url, form_data(waste_code="030105", quantity="50.0", unit="t", description="Copeaux")
    )
    assert unchanged.status_code == 302 and flow.revisions.filter(action="update").count() == 1
    client.post(reverse("flow-archive", args=[flow.pk]))
    flow.refresh_from_db()
    assert flow.is_archived
    client.post(reverse("flow-archive", args=[flow.pk]), {"restaurer": "1"})
    flow.refresh_from_db()
    assert not flow.is_archived
    history = html_of(client.get(reverse("flow-history", args=[flow.pk])))
    for word in ("archivage", "restauration", "modification", "Quantité", "co77"):
        assert word in history


def test_an_edit_with_a_bad_quantity_changes_nothing(client, territory, flow):
    client.force_login(territory["advisor77"])
    response = client.post(
        reverse("flow-edit", args=[flow.pk]),
        form_data(waste_code="030105", quantity="-3", unit="t"),
    )
    assert response.status_code == 200
    flow.refresh_from_db()
    assert flow.quantity == 42 and not flow.revisions.filter(action="update").exists()


@pytest.mark.parametrize("who", ["company78", "advisor78"])
def test_other_companies_and_chambers_get_404_and_no_leak(client, territory, flow, who):
    client.force_login(territory[who])
    for name in ("flow-edit", "flow-history"):
        response = client.get(reverse(name, args=[flow.pk]))
        assert response.status_code == 404 and "03 01 05" not in response.content.decode()
    assert client.post(reverse("flow-archive", args=[flow.pk])).status_code == 404
    response = client.post(reverse("flow-edit", args=[flow.pk]), form_data(quantity="1", unit="t"))
    assert response.status_code == 404
    client.logout()
    assert client.get(reverse("flow-history", args=[flow.pk])).status_code == 302
    flow.refresh_from_db()
    assert flow.quantity == 42 and not flow.is_archived


def test_partner_chamber_reads_history_but_cannot_edit(client, territory, flow):
    from maillage.accounts.models import AuditLog

    client.force_login(territory["advisor91"])
    assert client.get(reverse("flow-history", args=[flow.pk])).status_code == 200
    assert AuditLog.objects.filter(user=territory["advisor91"]).exists()
    assert client.get(reverse("flow-edit", args=[flow.pk])).status_code == 403
    assert client.post(reverse("flow-archive", args=[flow.pk])).status_code == 403


def test_autocompletion_endpoints(client, territory):
    client.force_login(territory["company77"])
    waste = html_of(client.get(reverse("options-waste-codes"), {"flux-0-waste_code": "15 01"}))
    assert '<option value="15 01 03">' in waste and "170605" not in waste
    words = html_of(client.get(reverse("options-waste-codes"), {"q": "sciure"}))
    assert "03 01 05" in words
    client.logout()
    assert client.get(reverse("options-waste-codes"), {"q": "15"}).status_code == 302
