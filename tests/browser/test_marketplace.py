"""A buyer publishes a need, a supplier responds, the buyer closes it (headless Chromium)."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from maillage.accounts.models import User
from tests.browser.session import sign_in
from tests.marketplace.factories import SupplierProfileFactory

pytestmark = pytest.mark.browser


def test_buyer_publishes_supplier_responds_buyer_closes(
    live_server, page, reference_data, make_establishment, make_user
):
    buyer = make_establishment("77288", name="Donneur d'Ordre Briard", naf="29.10Z")
    shop = make_establishment("77288", name="Atelier Usinage Melun", naf="25.62B")
    SupplierProfileFactory(
        establishment=shop,
        capabilities="Usinage, tournage et fraisage de pièces mécaniques.",
        categories="",
        service_radius_km=50,
        search_text=" usinage tournage fraisage piece mecanique ",
    )
    make_user("acheteuse", User.Role.COMPANY, establishments=[buyer])
    make_user("fournisseur", User.Role.COMPANY, establishments=[shop])

    sign_in(page, live_server.url, "acheteuse")
    page.goto(f"{live_server.url}/marche/besoins/nouveau/")
    page.select_option("#id_theme", "purchasing")
    page.select_option("#id_kind", "service")
    page.fill("#id_title", "Fraisage de platines")
    page.fill("#id_description", "Cinquante platines en aluminium à fraiser.")
    page.select_option("#id_category", "mechanics")
    page.fill("#id_closes_on", (timezone.localdate() + datetime.timedelta(days=15)).isoformat())
    page.click("button:has-text('Enregistrer')")
    page.wait_for_selector("text=Besoin enregistré en brouillon")
    page.click("button:has-text('Publier')")
    page.wait_for_selector("text=1 fournisseur(s) pertinent(s) trouvé(s), 1 prévenu(s)")
    need_url = page.url
    page.click("text=Se déconnecter")

    sign_in(page, live_server.url, "fournisseur")
    page.goto(f"{live_server.url}/marche/notifications/")
    page.click("text=Nouveau besoin : Fraisage de platines")
    page.fill("#id_message", "Nous pouvons livrer sous trois semaines.")
    page.click("button:has-text('Envoyer ma réponse')")
    page.wait_for_selector("text=Réponse envoyée à l'acheteur")
    page.click("text=Se déconnecter")

    sign_in(page, live_server.url, "acheteuse")
    page.goto(need_url)
    page.wait_for_selector("text=Nous pouvons livrer sous trois semaines.")
    page.click("button:has-text('Présélectionner')")  # htmx swaps the row
    page.wait_for_selector("button:has-text('Retirer de la présélection')")
    page.select_option("select[name=winner]", label="Atelier Usinage Melun")
    page.click("button:has-text('Clore le besoin')")
    page.wait_for_selector("text=Besoin clos.")
    assert page.inner_text("#need-status") == "clos — attribué"
