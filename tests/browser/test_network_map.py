"""A member opens their network's members' space: the network's map draws the member
establishments (Leaflet, offline background) without a script error."""

import datetime

import pytest

from maillage.accounts.models import User
from tests.browser.session import sign_in
from tests.networks.factories import MembershipFactory, NetworkFactory

pytestmark = pytest.mark.browser


def test_member_sees_the_network_map(
    live_server, page, reference_data, make_chamber, make_establishment, make_user
):
    chamber = make_chamber("cci-77", "77")
    club = NetworkFactory(name="Club des entreprises de la Brie", chamber=chamber)
    members = [
        make_establishment("77288", name="Scierie de la Brie", latitude=48.5394, longitude=2.6606),
        make_establishment("77186", name="Menuiserie", latitude=48.4047, longitude=2.7016),
        make_establishment("77288", name="Sans position"),
    ]
    for e in members:
        MembershipFactory(establishment=e, network=club, since=datetime.date(2020, 1, 1))
    make_user("membre", User.Role.COMPANY, establishments=[members[0]])

    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live_server.url, "membre")
    page.goto(f"{live_server.url}/reseaux/{club.pk}/")
    page.wait_for_selector("#network-map[data-ready='1']")
    page.wait_for_function(
        "document.querySelectorAll('#network-map path.establishment-marker').length === 2"
    )
    assert "2 établissement(s) membre(s)" in page.inner_text("#network-map-count")
    assert not errors, errors
