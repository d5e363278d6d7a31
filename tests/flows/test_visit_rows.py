"""The visit form's rows: the typical flows of the establishment's NAF profile proposed as
pre-filled rows, as many rows as needed, resource classes typed by their French label, and one
wrong row saving nothing while keeping everything typed."""

import pytest
from django.urls import reverse

from maillage.engine.taxonomy import profile_entries
from maillage.flows.models import Flow, Visit
from tests.factories import FlowFactory

from .test_visit_and_flows import html_of, visit_post

pytestmark = pytest.mark.django_db


def test_the_typical_flows_of_the_naf_profile_are_proposed(client, territory):
    e77 = territory["e77"]
    client.force_login(territory["advisor77"])
    response = client.get(reverse("visit-create", args=[e77.pk]))
    html = html_of(response)
    formset = response.context["formset"]
    entries = profile_entries(e77.naf_id)
    assert entries, "the test establishment's activity has a sector profile"
    forms = list(formset)
    assert len(forms) == len(entries) + 2  # the proposed rows, then two empty ones
    for form, entry in zip(forms, entries, strict=False):
        assert form["direction"].value() == entry.direction
        assert form.initial["resource_class"] == entry.class_code
        assert form["quantity"].value() in (None, "")
    klass = forms[0].fields["resource_class"].queryset.get(pk=entries[0].class_code)
    assert forms[0]["resource_class"].value() == klass.label  # its French label, not its code
    assert f'value="{klass.label}"' in html
    assert forms[0]["unit"].value() == klass.unit
    assert forms[-1]["resource_class"].value() in (None, "")
    assert 'id="add-flow-row"' in html and "flows/visit_form.js" in html
    assert 'id="flow-row-template"' in html and "flux-__prefix__-quantity" in html
    assert html.count("flux typique proposé") == len(entries)


def test_proposed_rows_without_quantity_are_skipped_and_removed_rows_dropped(client, territory):
    client.force_login(territory["advisor77"])
    url = reverse("visit-create", args=[territory["e77"].pk])
    rows = [
        # proposed, kept with a quantity
        {"resource_class": "wood_waste", "unit": "t", "quantity": "30", "proposed": "1"},
        # proposed, left without quantity: not recorded
        {"direction": "need", "resource_class": "electricity", "unit": "MWh", "proposed": "1"},
        # proposed, completed then removed: not recorded
        {
            "resource_class": "cardboard_paper_waste",
            "unit": "t",
            "quantity": "8",
            "proposed": "1",
            "DELETE": "on",
        },
        # a row added by the advisor, class typed as its short French label
        {"direction": "need", "resource_class": "Chaleur", "quantity": "120", "unit": "MWh"},
        {"direction": ""},
    ]
    response = client.post(url, visit_post(*rows))
    assert response.status_code == 302, html_of(response)
    flows = sorted(Visit.objects.get().flows.all(), key=lambda f: f.resource_class_id)
    assert [(f.direction, f.resource_class_id, f.quantity) for f in flows] == [
        ("need", "heat", 120),
        ("offer", "wood_waste", 30),
    ]


@pytest.mark.parametrize(
    "typed", ["Chaleur", "chaleur", "Chaleur (chauffage et procédés)", "heat", " CHALEUR "]
)
def test_a_resource_class_is_accepted_by_label_short_label_or_code(client, territory, typed):
    client.force_login(territory["advisor77"])
    url = reverse("visit-create", args=[territory["e77"].pk])
    data = visit_post({"resource_class": typed, "quantity": "12", "unit": "MWh"})
    response = client.post(url, data)
    assert response.status_code == 302, html_of(response)
    assert Flow.objects.get().resource_class_id == "heat"


def test_as_many_rows_as_needed(client, territory):
    client.force_login(territory["advisor77"])
    url = reverse("visit-create", args=[territory["e77"].pk])
    rows = [
        {"resource_class": "Électricité", "quantity": str(i + 1), "unit": "MWh"} for i in range(12)
    ]
    response = client.post(url, visit_post(*rows))
    assert response.status_code == 302, html_of(response)
    assert Flow.objects.filter(resource_class_id="electricity").count() == 12


def test_one_wrong_row_saves_nothing_and_keeps_everything_typed(client, territory):
    client.force_login(territory["advisor77"])
    url = reverse("visit-create", args=[territory["e77"].pk])
    data = visit_post(
        {"resource_class": "Chaleur", "quantity": "12", "unit": "MWh", "description": "Four"},
        {"resource_class": "Sciure inventée", "quantity": "3", "unit": "t"},
        {"resource_class": "Électricité", "quantity": "5", "unit": "t"},
        {"direction": "need", "resource_class": "wood_waste", "unit": "t", "proposed": "1"},
    )
    data["notes"] = "Rencontre avec le directeur"
    response = client.post(url, data)
    html = html_of(response)
    assert response.status_code == 200
    assert not Visit.objects.exists() and not Flow.objects.exists()
    assert "Rien n'a été enregistré" in html
    forms = list(response.context["formset"])
    assert not forms[0].errors and not forms[3].errors
    assert "Classe de ressource inconnue" in str(forms[1].errors["resource_class"])
    assert "se mesure en MWh" in str(forms[2].errors["unit"])
    # what was typed comes back as typed, on its own row
    assert 'value="Sciure inventée"' in html and 'value="Chaleur"' in html
    assert "Rencontre avec le directeur" in html and "Four</textarea>" in html
    assert 'name="flux-3-proposed" value="1"' in html


def test_a_kept_proposed_row_needs_its_quantity(client, territory):
    client.force_login(territory["advisor77"])
    url = reverse("visit-create", args=[territory["e77"].pk])
    data = visit_post(
        {"resource_class": "wood_waste", "unit": "t", "proposed": "1", "description": "Chutes"}
    )
    response = client.post(url, data)
    assert response.status_code == 200 and not Flow.objects.exists()
    assert response.context["formset"].forms[0].errors["quantity"]


def test_the_edit_form_shows_the_class_by_its_label(client, territory):

    flow = FlowFactory(
        establishment=territory["e77"],
        direction="need",
        resource_class="heat",
        quantity=3,
        unit="MWh",
    )
    client.force_login(territory["company77"])
    html = html_of(client.get(reverse("flow-edit", args=[flow.pk])))
    assert 'value="Chaleur (chauffage et procédés)"' in html


@pytest.mark.parametrize(
    "who,status", [("advisor91", 403), ("company77", 403), ("advisor78", 404), (None, 302)]
)
def test_no_one_else_sees_the_proposed_rows_or_saves_a_visit(client, territory, who, status):
    """Another chamber's advisor (partner agreement: 403, none: 404), the company itself and an
    anonymous visitor (sent to the login page) neither see the form nor record a visit."""
    if who:
        client.force_login(territory[who])
    url = reverse("visit-create", args=[territory["e77"].pk])
    response = client.get(url)
    assert response.status_code == status
    assert "flux typique proposé" not in response.content.decode()
    data = visit_post({"resource_class": "Chaleur", "quantity": "12", "unit": "MWh"})
    assert client.post(url, data).status_code == status
    assert not Visit.objects.exists() and not Flow.objects.exists()
