"""An advisor opens the map: the establishments are drawn, the filters change what is shown, a
click opens the side panel; the dashboard shows an implemented synergy's impact."""

import datetime

import pytest

from maillage.accounts.models import User
from maillage.synergies import services
from maillage.synergies.models import Suggestion
from tests.browser.session import sign_in
from tests.factories import FlowFactory

pytestmark = pytest.mark.browser


def test_map_and_dashboard(
    live_server, page, reference_data, make_chamber, make_establishment, make_user
):
    chamber = make_chamber("cci-77", "77")
    sawmill = make_establishment(
        "77288", name="Scierie de la Brie", latitude=48.5394, longitude=2.6606
    )
    boiler = make_establishment(
        "77186",
        name="Chaufferie de Fontainebleau",
        naf="35.30Z",
        latitude=48.4047,
        longitude=2.7016,
    )
    FlowFactory(
        establishment=sawmill, direction="offer", waste_code="030105", quantity=120, unit="t"
    )
    FlowFactory(
        establishment=boiler, direction="need", resource_class="wood_fuel", quantity=300, unit="t"
    )
    advisor = make_user("conseillere", User.Role.ADVISOR, chamber)
    services.detect()
    synergy = Suggestion.objects.get(kind="substitution", offer_flow__establishment=sawmill)
    services.change_status(synergy, advisor, "proposed")
    services.change_status(
        synergy,
        advisor,
        "discussion",
        "Accord obtenu hors plateforme",
        agreement_on=datetime.date.today(),
    )
    services.change_status(synergy, advisor, "implemented", "", 110.0, 4000.0)
    synergy.refresh_from_db()

    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live_server.url, "conseillere")
    page.click("header >> text=Carte")
    page.wait_for_selector("#map[data-ready='1']")
    assert not errors, errors
    assert page.locator("#map-count").get_attribute("data-establishments") == "2"
    markers = "document.querySelectorAll('path.establishment-marker').length"
    page.wait_for_function(f"{markers} === 2")  # drawn once the view fits them
    assert "1 lien(s) de synergie" in page.inner_text("#map-count")

    page.select_option("select[name=category]", "waste")
    page.wait_for_function("document.getElementById('map-count').dataset.establishments === '1'")
    page.wait_for_function(f"{markers} === 1")
    page.locator("path.establishment-marker").first.click(force=True)
    page.wait_for_selector("#panel-body >> text=Scierie de la Brie")

    page.select_option("select[name=category]", "")
    page.select_option("select[name=direction]", "need")
    page.wait_for_function("document.getElementById('map-count').dataset.establishments === '1'")
    page.select_option("select[name=level]", "epci")
    page.wait_for_function(
        "document.getElementById('map-count').textContent.includes('territoire')"
    )

    page.click("header >> text=Tableau de bord")
    page.wait_for_selector("#impact-tonnes")
    # the 110 t actually exchanged, not the detection's estimate
    expected = "110,0"
    assert f"{synergy.tonnes_diverted:.1f}".replace(".", ",") != expected
    assert expected in page.inner_text("#impact-tonnes")
    assert "1 synergie mise en œuvre" in page.inner_text("#impact-tonnes")
    assert synergy.resource_class.label in page.inner_text("#implemented")
