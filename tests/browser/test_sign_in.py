"""An advisor signs in, sees their chamber's dashboard, opens an establishment with its flows."""

import pytest

from maillage.accounts.models import User
from maillage.flows.services import build_flow

pytestmark = pytest.mark.browser


def test_advisor_signs_in_and_reads_an_establishment(
    live_server, page, reference_data, make_chamber, make_establishment, make_user
):
    chamber = make_chamber("cci-77", "77")
    sawmill = make_establishment("77288", name="Scierie de la Brie")
    build_flow(
        sawmill,
        direction="offer",
        waste_code="030105",
        quantity=120,
        unit="t",
        description="Sciure et copeaux de hêtre",
    ).save()
    make_user("conseillere", User.Role.ADVISOR, chamber)

    page.goto(f"{live_server.url}/")
    assert "Scierie de la Brie" not in page.content()
    page.click("text=Se connecter")
    page.fill("#id_username", "conseillere")
    page.fill("#id_password", "pw-test-123")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Espace conseiller")
    assert "CCI cci-77" in page.content()

    page.goto(f"{live_server.url}/etablissements/{sawmill.pk}/")
    page.wait_for_selector("text=Flux de ressources")
    assert "Sciure et copeaux de hêtre" in page.content()

    page.click("text=Se déconnecter")
    page.wait_for_selector("a:has-text('Se connecter')")
    assert "Sciure et copeaux" not in page.content()


def test_wrong_password_is_refused_in_french(live_server, page, reference_data, make_user):
    make_user("someone", User.Role.COMPANY)
    page.goto(f"{live_server.url}/comptes/login/")
    page.fill("#id_username", "someone")
    page.fill("#id_password", "wrong")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Identifiant ou mot de passe incorrect")
