"""NAF and commune autocompletion as an advisor uses it: on the « Ajouter un établissement » form,
type « scierie » and « Dunk », pick the proposed « 16.10A — Sciage… » and « Dunkerque (59183) »,
save, and read the activity and the town on the establishment page."""

from __future__ import annotations

import pytest

from maillage.accounts.models import User
from maillage.directory.models import Establishment
from tests.browser.session import sign_in
from tests.factories import make_siret

pytestmark = pytest.mark.browser


def test_advisor_picks_the_activity_and_the_commune_from_the_suggestions(
    live_server, page, reference_data, make_chamber, make_user
):
    chamber = make_chamber("cci-littoral", "59")
    make_user("nadia", User.Role.ADVISOR, chamber=chamber)
    siret = make_siret()

    sign_in(page, live_server.url, "nadia")
    page.goto(f"{live_server.url}/etablissements/")
    page.click("text=Ajouter un établissement absent du répertoire SIRENE")
    page.wait_for_selector("h1:has-text('Ajouter un établissement')")

    page.fill("#id_siret", siret)
    page.fill("#id_name", "Scierie du Port")
    page.locator("#id_naf").press_sequentially("scierie", delay=30)
    naf_option = page.locator("#id_naf-suggestions [role=option]").first
    naf_option.wait_for()
    assert naf_option.inner_text() == "16.10A — Sciage et rabotage du bois, hors imprégnation"
    naf_option.click()
    assert page.input_value("#id_naf").startswith("16.10A — Sciage")
    assert page.locator("#id_naf-suggestions").is_hidden()

    page.locator("#id_commune").press_sequentially("Dunk", delay=30)
    page.wait_for_selector("#id_commune-suggestions [role=option]:has-text('Dunkerque (59183)')")
    # the keyboard picks too: first suggestion, Enter (which must not submit the form)
    page.press("#id_commune", "ArrowDown")
    page.press("#id_commune", "Enter")
    assert page.input_value("#id_commune") == "Dunkerque (59183)"
    assert page.locator("h1:has-text('Ajouter un établissement')").is_visible()

    page.select_option("#id_headcount_band", "12")
    page.click("button:has-text('Enregistrer')")

    page.wait_for_selector("text=Établissement ajouté.")
    main = page.inner_text("main")
    assert "16.10A — Sciage et rabotage du bois" in main
    assert "Dunkerque" in main
    saved = Establishment.objects.get(siret=siret)
    assert (saved.naf_id, saved.commune_id) == ("16.10A", "59183")
