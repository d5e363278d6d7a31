"""An advisor records a receiver's ICPE rubrique, detection offers it hazardous waste, and the
suggestion page explains the authorisation and the legal path."""

import pytest

from maillage.accounts.models import User
from maillage.flows.services import build_flow
from maillage.synergies import services
from maillage.synergies.models import Suggestion
from tests.factories import FlowFactory

pytestmark = pytest.mark.browser


def test_rubrique_recorded_then_legal_path_shown(
    live_server, page, reference_data, make_chamber, make_establishment, make_user
):
    base = live_server.url
    chamber = make_chamber("cci-77", "77")
    garage = make_establishment("77288", name="Garage de Melun", naf="45.20A")
    chemist = make_establishment("77288", name="Chimie de la Brie", naf="20.59Z")
    FlowFactory(
        establishment=garage, direction="offer", waste_code="13 02 05*", quantity=20, unit="t"
    )
    build_flow(
        chemist, direction="need", resource_class="chemicals_raw", quantity=100, unit="t"
    ).save()
    make_user("conseillere", User.Role.ADVISOR, chamber)

    page.goto(f"{base}/comptes/login/")
    page.fill("#id_username", "conseillere")
    page.fill("#id_password", "pw-test-123")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Se déconnecter")

    # Without a recorded rubrique, a chemical plant is not offered hazardous waste.
    services.detect(chamber)
    assert not Suggestion.objects.filter(need_flow__establishment=chemist).exists()

    page.goto(f"{base}/etablissements/{chemist.pk}/")
    page.click("text=Modifier l'établissement")
    page.fill("#id_icpe_rubriques", "2790, 27X")
    page.click("button:has-text('Enregistrer')")
    page.wait_for_selector("text=quatre chiffres")  # French error, the form kept
    page.fill("#id_icpe_rubriques", "2790")
    page.click("button:has-text('Enregistrer')")
    page.wait_for_selector("text=Établissement modifié.")

    services.detect(chamber)
    s = Suggestion.objects.get(need_flow__establishment=chemist)
    page.goto(f"{base}/synergies/{s.pk}/")
    block = page.inner_text("#legal-path")
    assert "Parcours réglementaire" in block
    assert "Trackdéchets" in block and "récépissé de déclaration" in block
    assert "2790" in block
    assert "autorisation ICPE 2790 enregistrée" in page.inner_text("main")
