"""An advisor walks the map: a hostile establishment name stays text (tooltip and side panel),
the background names the towns once zoomed in, only the best links are drawn until « afficher
tous les liens » is ticked, and the choropleth has a legend with its classes and unit."""

import pytest

from maillage.accounts.models import User
from maillage.atlas import selectors
from maillage.flows.services import build_flow
from maillage.synergies import services
from tests.browser.test_map_dashboard import sign_in
from tests.factories import FlowFactory

pytestmark = pytest.mark.browser

HOSTILE = "<img src=x onerror=window.__xss=1>"


def _errors(page):
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def test_hostile_name_is_text_in_tooltip_and_panel(
    live_server, page, reference_data, make_chamber, make_establishment, make_user
):
    chamber = make_chamber("cci-77", "77")
    hostile = make_establishment("77288", name=HOSTILE, latitude=48.5394, longitude=2.6606)
    FlowFactory(
        establishment=hostile, direction="offer", waste_code="030105", quantity=12.5, unit="t"
    )
    make_user("conseillere", User.Role.ADVISOR, chamber)

    errors = _errors(page)
    sign_in(page, live_server.url, "conseillere")
    page.goto(f"{live_server.url}/carte/")
    page.wait_for_selector("#map[data-ready='1']")
    marker = page.locator("path.establishment-marker").first
    marker.dispatch_event("mouseover")
    tooltip = page.locator(".leaflet-tooltip").first
    tooltip.wait_for()
    assert tooltip.inner_text() == HOSTILE
    assert page.locator(".leaflet-tooltip img").count() == 0
    marker.click(force=True)
    page.wait_for_selector("#panel-body h2")
    assert page.inner_text("#panel-body h2") == HOSTILE
    assert page.locator("#map-panel img").count() == 0
    assert "12,5 t" in page.inner_text("#panel-body")  # French decimals in the panel
    # Nothing clipped: the SIRET and the commune fit in the panel.
    for value in (hostile.siret, "Melun"):
        dd = page.locator("#panel-body dd", has_text=value)
        assert dd.evaluate("e => e.scrollWidth <= e.clientWidth + 1")
        assert dd.evaluate(
            "e => e.getBoundingClientRect().right <= "
            "document.getElementById('map-panel').getBoundingClientRect().right"
        )
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert not errors, errors


def test_towns_best_links_and_legend(
    live_server, page, reference_data, make_chamber, make_establishment, make_user, monkeypatch
):
    monkeypatch.setattr(selectors, "LINKS_DEFAULT", 2)
    chamber = make_chamber("cci-77", "77")
    for i in range(3):
        sawmill = make_establishment(
            "77288", name=f"Scierie {i}", latitude=48.535 + i / 200, longitude=2.655 + i / 200
        )
        build_flow(
            sawmill, direction="offer", waste_code="030105", quantity=100 + 40 * i, unit="t"
        ).save()
    boiler = make_establishment(
        "77288", name="Chaufferie de Melun", naf="35.30Z", latitude=48.545, longitude=2.665
    )
    FlowFactory(
        establishment=boiler, direction="need", resource_class="wood_fuel", quantity=300, unit="t"
    )
    make_user("conseillere", User.Role.ADVISOR, chamber)
    services.detect()

    errors = _errors(page)
    sign_in(page, live_server.url, "conseillere")
    page.goto(f"{live_server.url}/carte/")
    page.wait_for_selector("#map[data-ready='1']")

    # Zoomed on the establishments: the background names the town they are in.
    page.wait_for_function("Number(document.getElementById('map').dataset.towns || 0) > 0")
    page.wait_for_selector(".town-name >> text=Melun")

    # Links: only the best 2 of 3, the rest on demand.
    page.select_option("select[name=links]", "all")
    page.wait_for_function("document.getElementById('map').dataset.links === '2'")
    assert "2 lien(s) de synergie (les meilleurs sur 3)" in page.inner_text("#map-count")
    assert page.locator(".leaflet-links-pane path").count() == 2
    page.check("input[name=all_links]")
    page.wait_for_function("document.getElementById('map').dataset.links === '3'")
    assert page.locator(".leaflet-links-pane path").count() == 3

    # Choropleth by commune: a legend with classes, colours and the unit.
    page.select_option("select[name=level]", "commune")
    legend = page.locator("#choropleth-legend")
    legend.wait_for(state="visible")
    assert "t/an" in legend.inner_text()
    items = legend.locator("li")
    assert items.count() >= 2
    assert "secret statistique" in items.last.inner_text()
    colours = {
        items.nth(i).locator(".swatch").evaluate("e => e.style.background")
        for i in range(items.count())
    }
    assert len(colours) == items.count()
    page.select_option("select[name=level]", "")
    legend.wait_for(state="hidden")
    assert not errors, errors
