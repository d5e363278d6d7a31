"""The whole path in a real browser: an advisor records a visit with two flows, runs detection and
proposes an introduction; both companies sign in and accept; each then sees the other's contacts."""

import pytest

from maillage.synergies.models import Suggestion
from tests.browser.session import sign_in, sign_out
from tests.factories import FlowFactory

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def immediate_tasks(settings):
    # Detection runs in the request instead of a separate worker process.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def test_visit_detection_introduction_and_double_opt_in(live_server, page, brie):
    base = live_server.url
    sawmill, boiler = brie["sawmill"], brie["boiler"]
    FlowFactory(
        establishment=boiler, direction="need", resource_class="wood_fuel", quantity=500, unit="t"
    )

    # The advisor finds the sawmill and records a visit with two flows.
    sign_in(page, base, "conseillere")
    page.click("nav >> text=Établissements")
    page.fill("#id_q", "Brie")
    page.wait_for_selector("#results >> text=1 établissement")  # htmx replaced the table
    assert "Chaufferie de Melun" not in page.inner_text("#results")
    page.click("#results >> text=Scierie de la Brie")
    page.click("text=Enregistrer une visite")
    page.fill("#id_date", "2025-06-12")
    page.select_option("#id_flux-0-direction", "offer")
    page.fill("#id_flux-0-waste_code", "03 01")  # autocompletion from the List of Waste
    page.wait_for_selector("#maillage-waste-codes option[value='03 01 05']", state="attached")
    page.fill("#id_flux-0-waste_code", "03 01 05")
    page.fill("#id_flux-0-quantity", "400")
    page.fill("#id_flux-0-unit", "t")
    page.fill("#id_flux-0-description", "Sciure et copeaux de chêne")
    page.select_option("#id_flux-1-direction", "need")
    page.fill("#id_flux-1-resource_class", "electricity")
    page.fill("#id_flux-1-quantity", "120")
    page.fill("#id_flux-1-unit", "MWh")
    page.click("text=Enregistrer la visite et ses flux")
    page.wait_for_selector("text=Visite enregistrée avec 2 flux")
    assert "Sciure et copeaux de chêne" in page.content()

    # Detection, then the introduction from the suggestion's page.
    page.goto(f"{base}/")
    page.click("text=Lancer la détection des synergies")
    page.wait_for_selector("text=terminée", timeout=20_000)
    suggestion = Suggestion.objects.get(
        kind="substitution", offer_flow__establishment=sawmill, need_flow__establishment=boiler
    )
    page.goto(f"{base}/synergies/tableau/")
    page.click(f"#column-detected a[href='/synergies/{suggestion.pk}/']")
    page.click("text=Proposer une mise en relation")
    page.wait_for_selector("text=Mise en relation proposée")
    sign_out(page)

    # Each company sees an anonymous opportunity and accepts it.
    for username, other, other_email in (
        ("scierie", "Chaufferie de Melun", "bruno@melun.test"),
        ("chaufferie", "Scierie de la Brie", "anne@brie.test"),
    ):
        sign_in(page, base, username)
        page.click("nav >> text=Mes opportunités")
        page.wait_for_selector("text=Déchets de bois non traité")
        assert other not in page.content() and other_email not in page.content()
        page.click("text=Accepter la mise en relation")
        page.wait_for_selector("text=Vous avez accepté la mise en relation")
        if username == "chaufferie":
            # both accepted: the contacts are revealed
            page.wait_for_selector(f"text={other_email}")
            assert other in page.content()
        sign_out(page)

    sign_in(page, base, "scierie")
    page.click("nav >> text=Mes opportunités")
    page.wait_for_selector("text=bruno@melun.test")
    assert "Chaufferie de Melun" in page.content()
    suggestion.refresh_from_db()
    assert suggestion.status == "discussion"
