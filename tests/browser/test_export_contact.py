"""An SME targeting Morocco asks an export advisor for a contact; the advisor signs in, lands on
their requests, accepts with a message; the SME then sees the advisor's e-mail."""

import pytest

from maillage.accounts.models import User
from tests.browser.session import sign_in
from tests.directory.factories import ExportAdvisorFactory

pytestmark = pytest.mark.browser


def test_sme_requests_an_advisor_who_accepts(
    live_server, page, reference_data, make_chamber, make_establishment, make_user
):
    make_chamber("cci-77", "77")
    sme = make_establishment("77288", name="Conserverie de la Brie", naf="10.39A")
    make_user("pme", User.Role.COMPANY, establishments=[sme])
    cce = make_user("cce", User.Role.EXPORT_ADVISOR)
    cce.email = "karim@cce.example"
    cce.save()
    ExportAdvisorFactory(
        user=cce, name="Karim Benali", countries=["MA"], sectors=["agrifood"], languages=["fr"]
    )

    sign_in(page, live_server.url, "pme")
    page.goto(f"{live_server.url}/international/etablissement/{sme.pk}/")
    page.fill("input[name=countries]", "MA")
    page.check("input[name=sectors][value=agrifood]")
    page.click("text=Enregistrer et chercher")
    page.wait_for_selector("#advisor-matches >> text=connaît Maroc")
    page.fill("#advisor-matches input[name=message]", "Salon SIAL Maroc en mars")
    page.click("#advisor-matches button:has-text('Demander un contact')")
    page.wait_for_selector("text=Demande de contact envoyée.")
    assert "karim@cce.example" not in page.content()
    page.click("text=Se déconnecter")

    sign_in(page, live_server.url, "cce")
    page.wait_for_selector("#export-inbox >> text=Conserverie de la Brie")
    page.click("#export-inbox >> text=Conserverie de la Brie")
    page.wait_for_selector("text=Salon SIAL Maroc en mars")
    page.fill("textarea[name=message]", "Avec plaisir, appelez-moi.")
    page.click("button:has-text('Accepter')")
    page.wait_for_selector("#requester-contact")
    page.click("text=Se déconnecter")

    sign_in(page, live_server.url, "pme")
    page.goto(f"{live_server.url}/international/etablissement/{sme.pk}/")
    page.wait_for_selector("#export-requests >> text=karim@cce.example")
    assert "Avec plaisir, appelez-moi." in page.content()
