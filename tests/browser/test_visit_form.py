"""The advisor's visit, as a user walks it: open the visit form of a sawmill, see the typical
flows of its activity proposed, give a quantity to one, add a row, type « Chaleur », save, and
read the flows on the establishment page."""

from __future__ import annotations

import pytest

from maillage.accounts.models import User
from maillage.engine.taxonomy import profile_entries
from maillage.flows.models import Flow
from maillage.reference.models import ResourceClass
from tests.browser.session import sign_in

pytestmark = pytest.mark.browser


def test_advisor_records_a_visit_from_the_proposed_rows(
    live_server, page, reference_data, make_chamber, make_establishment, make_user
):
    chamber = make_chamber("cci-77", "77")
    sawmill = make_establishment("77288", name="Scierie de la Brie")
    make_user("claire", User.Role.ADVISOR, chamber=chamber)
    entries = profile_entries(sawmill.naf_id)
    first = ResourceClass.objects.get(pk=entries[0].class_code)

    sign_in(page, live_server.url, "claire")
    page.goto(f"{live_server.url}/etablissements/?q=Brie")
    page.click("text=Scierie de la Brie")
    page.click("text=Enregistrer une visite")

    # The typical flows of a sawmill are there, by their French label, quantity left empty.
    page.wait_for_selector("h1:has-text('Visite de Scierie de la Brie')")
    assert page.locator("fieldset.flow-row .badge").count() == len(entries)
    assert page.input_value("#id_flux-0-resource_class") == first.label
    assert page.input_value("#id_flux-0-unit") == first.unit
    assert page.input_value("#id_flux-0-quantity") == ""
    page.fill("#id_flux-0-quantity", "40")

    # One more row than the page offered, typed in French.
    rows = page.locator("fieldset.flow-row").count()
    page.click("text=Ajouter une ligne")
    assert page.locator("fieldset.flow-row").count() == rows + 1
    new = f"#id_flux-{rows}"
    page.select_option(f"{new}-direction", "need")
    page.fill(f"{new}-resource_class", "Chaleur")
    page.fill(f"{new}-quantity", "120")
    page.fill(f"{new}-unit", "MWh")
    page.fill("#id_date", "2026-11-30")
    page.click("text=Enregistrer la visite et ses flux")

    page.wait_for_selector("text=Visite enregistrée avec 2 flux.")
    flows = page.inner_text("main")
    assert first.label in flows and "Chaleur (chauffage et procédés)" in flows
    assert sorted(Flow.objects.values_list("resource_class_id", flat=True)) == sorted(
        [first.code, "heat"]
    )
