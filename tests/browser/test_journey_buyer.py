"""The buyer's and the suppliers' journey on the marketplace, walked in headless Chromium: publish
a need with two lots (categories picked from their French labels), invite matched suppliers,
respond to a lot and revise the response, compare, shortlist, award each lot to a different
supplier; each winner and the buyer see each other's contact, a losing supplier does not."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from maillage.accounts.models import User
from maillage.marketplace.models import Match, Need, Response
from tests.browser.session import sign_in
from tests.directory.factories import ContactFactory
from tests.marketplace.factories import SupplierProfileFactory

pytestmark = pytest.mark.browser


def _profile(establishment, capabilities, categories):
    SupplierProfileFactory(
        establishment=establishment,
        capabilities=capabilities,
        categories=categories,
        service_radius_km=50,
    )


def _user(make_user, username, establishment, email):
    user = make_user(username, User.Role.COMPANY, establishments=[establishment])
    user.email = email
    user.save(update_fields=["email"])
    return user


def test_buyer_publishes_invites_compares_awards_two_lots_and_contacts_reach_winners_only(
    live_server, page, reference_data, make_establishment, make_user
):
    buyer = make_establishment("77288", name="Donneur d'Ordre Briard", naf="29.10Z")
    shop = make_establishment(
        "77288", name="Atelier Usinage Melun", naf="25.62B", latitude=48.54, longitude=2.66
    )
    silent = make_establishment(
        "77288", name="Tôlerie Sans Compte", naf="25.62A", latitude=48.55, longitude=2.65
    )
    _profile(shop, "Usinage, tournage et fraisage de bagues et pièces mécaniques.", "mechanics")
    _profile(silent, "Tournage et fraisage de pièces mécaniques en séries.", "mechanics")
    ContactFactory(
        establishment=silent, first_name="Inès", last_name="Roux", email="ines@tolerie.test"
    )
    ContactFactory(
        establishment=shop,
        first_name="Paul",
        last_name="Briard",
        role="gérant",
        email="paul@atelier.test",
        phone="01 64 00 00 01",
    )
    ContactFactory(
        establishment=buyer, first_name="Anne", last_name="Achat", email="anne@donneur.test"
    )
    wiring = make_establishment(
        "77288", name="Câblage Melunais", naf="43.21A", latitude=48.54, longitude=2.66
    )
    rival = make_establishment(
        "77288", name="Décolletage Rival", naf="25.62A", latitude=48.53, longitude=2.67
    )
    _profile(wiring, "Câblage d'armoires électriques et automatismes.", "electricity")
    _profile(rival, "Décolletage et tournage de bagues en séries.", "mechanics")
    ContactFactory(
        establishment=wiring, first_name="Léa", last_name="Fil", email="lea@cablage.test"
    )
    ContactFactory(
        establishment=rival, first_name="Marc", last_name="Rival", email="marc@rival.test"
    )
    _user(make_user, "acheteuse", buyer, "acheteuse@donneur.test")
    _user(make_user, "fournisseur", shop, "fournisseur@atelier.test")
    _user(make_user, "electricien", wiring, "electricien@cablage.test")
    _user(make_user, "concurrent", rival, "concurrent@rival.test")
    url = live_server.url

    # -- the buyer publishes a need with two lots, categories named in French ------------------
    sign_in(page, url, "acheteuse")
    page.goto(f"{url}/marche/besoins/nouveau/")
    page.select_option("#id_theme", "purchasing")
    page.select_option("#id_kind", "service")
    page.fill("#id_title", "Bagues mécaniques et câblage")
    page.fill("#id_description", "Tournage de bagues en bronze et câblage d'une armoire.")
    page.select_option("#id_category", label="mécanique, usinage, chaudronnerie")
    # lot categories are picked from their French labels, not typed
    page.get_by_label("Intitulé du lot 1").fill("Tournage de bagues")
    page.get_by_label("Catégorie du lot 1").select_option(label="mécanique, usinage, chaudronnerie")
    page.get_by_label("Intitulé du lot 2").fill("Câblage de l'armoire")
    page.get_by_label("Catégorie du lot 2").select_option(label="électricité, automatismes")
    page.fill("#id_closes_on", (timezone.localdate() + datetime.timedelta(days=15)).isoformat())
    page.click("button:has-text('Enregistrer')")
    page.wait_for_selector("text=Besoin enregistré en brouillon")
    assert "Câblage de l'armoire — électricité, automatismes" in page.inner_text("main")
    page.click("button:has-text('Publier')")
    page.wait_for_selector("text=Besoin publié")
    need = Need.objects.get(title="Bagues mécaniques et câblage")
    matched = Match.objects.filter(need=need).count()
    notified = Match.objects.filter(need=need, notified_at__isnull=False).count()
    assert matched >= 3  # the machining shops at least are relevant
    # only the shop without an account could not be told: the page says so, truly
    assert not Match.objects.get(need=need, supplier=silent).notified_at
    assert notified == matched - 1
    assert (
        f"{matched} fournisseur(s) pertinent(s) trouvé(s), {notified} prévenu(s)"
        in page.inner_text("main")
    )
    assert f"{notified} fournisseurs prévenus," in page.inner_text("#counters")
    matches = page.inner_text("#matches")
    assert "Tôlerie Sans Compte" in matches and "mots communs" in matches
    assert "mécaniques" in matches  # the reasons keep the buyer's accents

    # -- ... and invites the other one from the match list --------------------------------------
    page.check(f"#match-{silent.pk} input[name=supplier]")
    page.click("button:has-text('Inviter les fournisseurs cochés')")
    page.wait_for_selector("text=1 fournisseur invité.")
    assert f"{notified + 1} fournisseurs prévenus," in page.inner_text("#counters")
    assert "✓" in page.inner_text(f"#match-{silent.pk}")
    page.click("text=Se déconnecter")

    # -- the supplier sees the notification, answers lot 1, then revises ------------------------
    sign_in(page, url, "fournisseur")
    page.goto(f"{url}/marche/notifications/")
    page.click("text=Nouveau besoin : Bagues mécaniques et câblage")
    page.select_option("#id_lot", label="Lot 1 : Tournage de bagues")
    page.fill("#id_message", "Cent bagues livrées sous trois semaines.")
    page.click("button:has-text('Envoyer ma réponse')")
    page.wait_for_selector("text=Réponse envoyée à l'acheteur")
    page.select_option("#id_lot", label="Lot 1 : Tournage de bagues")
    page.fill("#id_message", "Cent bagues livrées sous deux semaines, prix revu.")
    page.select_option("#id_price_band", label="5 000 à 25 000 €")
    page.click("button:has-text('Envoyer ma réponse')")
    page.wait_for_selector("text=Réponse envoyée à l'acheteur")
    mine = page.inner_text("table")
    assert "Lot 1 : Tournage de bagues" in mine
    assert "Cent bagues livrées sous deux semaines, prix revu." in mine
    page.click("summary:has-text('2 versions')")
    history = page.inner_text("details.history")
    assert "version 1 du" in history and "sous trois semaines" in history
    assert "version 2 du" in history
    assert Response.objects.filter(need=need).count() == 1  # revised, not duplicated
    page.click("text=Se déconnecter")

    # -- a rival answers lot 1 too, the electrician answers lot 2 -------------------------------
    for username, lot, message in (
        ("concurrent", "Lot 1 : Tournage de bagues", "Bagues décolletées, délai un mois."),
        ("electricien", "Lot 2 : Câblage de l'armoire", "Câblage de l'armoire en une semaine."),
    ):
        sign_in(page, url, username)
        page.goto(f"{url}/marche/besoins/{need.pk}/")
        page.select_option("#id_lot", label=lot)
        page.fill("#id_message", message)
        page.click("button:has-text('Envoyer ma réponse')")
        page.wait_for_selector("text=Réponse envoyée à l'acheteur")
        page.click("text=Se déconnecter")
    shop_r = Response.objects.get(need=need, supplier=shop)
    wiring_r = Response.objects.get(need=need, supplier=wiring)
    rival_r = Response.objects.get(need=need, supplier=rival)

    # -- the buyer compares, shortlists, awards lot 1 to the shop and lot 2 to the electrician --
    sign_in(page, url, "acheteuse")
    page.goto(f"{url}/marche/besoins/{need.pk}/")
    assert "3 réponses." in page.inner_text("#counters")
    row = page.inner_text(f"#response-{shop_r.pk}")
    assert "Atelier Usinage Melun" in row and "Lot 1 : Tournage de bagues" in row
    assert "5 000 à 25 000 €" in row and "2 versions" in row
    page.click(f"#response-{shop_r.pk} button:has-text('Présélectionner')")  # htmx swaps the row
    page.wait_for_selector(f"#response-{shop_r.pk} button:has-text('Retirer de la présélection')")
    # lot 1's choices are its responses: the shop and the rival, not the electrician
    choices = page.inner_text("#lot-award-1 select[name=winner]")
    assert "Atelier Usinage Melun" in choices and "Décolletage Rival" in choices
    assert "Câblage Melunais" not in choices
    page.get_by_label("Réponse retenue pour le lot 1").select_option(
        label="Atelier Usinage Melun — lot 1"
    )
    page.click("button:has-text('Attribuer le lot 1')")
    page.wait_for_selector("text=Lot 1 attribué à Atelier Usinage Melun")
    assert page.inner_text("#need-status") == "publié"  # lot 2 is still open
    assert "attribué" in page.inner_text("#lot-award-1")
    page.get_by_label("Réponse retenue pour le lot 2").select_option(
        label="Câblage Melunais — lot 2"
    )
    page.click("button:has-text('Attribuer le lot 2')")
    page.wait_for_selector("text=Tous les lots sont décidés : le besoin est clos.")
    assert page.inner_text("#need-status") == "clos — attribué"
    contacts = page.inner_text("#award-contacts")
    assert "Contact du fournisseur retenu" in contacts
    assert "Paul Briard, gérant" in contacts and "paul@atelier.test" in contacts
    assert "fournisseur@atelier.test" in contacts
    assert "lea@cablage.test" in contacts and "electricien@cablage.test" in contacts
    assert "marc@rival.test" not in contacts  # the losing supplier's contact is not given
    assert "Atelier Usinage Melun : lot(s) 1" in contacts
    assert "Câblage Melunais : lot(s) 2" in contacts
    history = page.inner_text("main")
    assert "lot 1 attribué à Atelier Usinage Melun" in history
    assert "lot 2 attribué à Câblage Melunais" in history
    page.click("text=Se déconnecter")

    # -- each winner sees its award and the buyer's contact -------------------------------------
    for username, response, lot in (
        ("fournisseur", shop_r, "lot 1 (Tournage de bagues)"),
        ("electricien", wiring_r, "lot 2 (Câblage de l'armoire)"),
    ):
        sign_in(page, url, username)
        page.goto(f"{url}/marche/notifications/")
        page.wait_for_selector(
            f"text=Votre réponse au {lot} de « Bagues mécaniques et câblage » est retenue"
        )
        assert "Votre réponse à « Bagues mécaniques et câblage » est retenue" in page.inner_text(
            "main"
        )
        assert "anne@donneur.test" in page.inner_text("main")
        page.goto(f"{url}/marche/besoins/{need.pk}/")
        assert "retenue" in page.inner_text(f"#response-{response.pk}")
        contacts = page.inner_text("#award-contacts")
        assert "Contact de l'acheteur" in contacts and "anne@donneur.test" in contacts
        page.click("text=Se déconnecter")

    # -- the losing supplier is told, and sees no contact ----------------------------------------
    sign_in(page, url, "concurrent")
    page.goto(f"{url}/marche/notifications/")
    page.wait_for_selector(
        "text=Le lot 1 (Tournage de bagues) de « Bagues mécaniques et câblage » est attribué "
        "à une autre entreprise"
    )
    assert "anne@donneur.test" not in page.inner_text("main")
    page.goto(f"{url}/marche/besoins/{need.pk}/")
    assert page.locator("#award-contacts").count() == 0
    main = page.inner_text("main")
    assert "anne@donneur.test" not in main and "paul@atelier.test" not in main
    assert "retenue" not in page.inner_text(f"#response-{rival_r.pk}")
