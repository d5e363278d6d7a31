"""The buyer's and the supplier's journey on the marketplace, walked in headless Chromium: publish
a need with two lots, invite matched suppliers, respond to one lot and revise the response, compare,
shortlist, award, and both sides see each other's contact."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from maillage.accounts.models import User
from maillage.directory.models import Contact
from maillage.marketplace.models import Match, Need, Response, SupplierProfile
from maillage.marketplace.services import profile_search_text

pytestmark = pytest.mark.browser


def _sign_in(page, url, username):
    page.goto(f"{url}/comptes/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-test-123")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Se déconnecter")


def _profile(establishment, capabilities, categories):
    p = SupplierProfile(
        establishment=establishment, capabilities=capabilities, categories=categories
    )
    p.search_text = profile_search_text(p)
    p.save()


def _user(make_user, username, establishment, email):
    user = make_user(username, User.Role.COMPANY, establishments=[establishment])
    user.email = email
    user.save(update_fields=["email"])
    return user


def test_buyer_publishes_invites_compares_awards_and_both_sides_get_contacts(
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
    Contact.objects.create(
        establishment=silent, first_name="Inès", last_name="Roux", email="ines@tolerie.test"
    )
    Contact.objects.create(
        establishment=shop,
        first_name="Paul",
        last_name="Briard",
        role="gérant",
        email="paul@atelier.test",
        phone="01 64 00 00 01",
    )
    Contact.objects.create(
        establishment=buyer, first_name="Anne", last_name="Achat", email="anne@donneur.test"
    )
    _user(make_user, "acheteuse", buyer, "acheteuse@donneur.test")
    _user(make_user, "fournisseur", shop, "fournisseur@atelier.test")
    url = live_server.url

    # -- the buyer publishes a need with two lots, categories named in French ------------------
    _sign_in(page, url, "acheteuse")
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
    assert matched == 2  # both machining shops are relevant
    # only the shop with an account could be told: the page says so, truly
    assert f"{matched} fournisseur(s) pertinent(s) trouvé(s), 1 prévenu(s)" in page.inner_text(
        "main"
    )
    assert "1 fournisseur prévenu," in page.inner_text("#counters")
    matches = page.inner_text("#matches")
    assert "Tôlerie Sans Compte" in matches and "mots communs" in matches
    assert "mécaniques" in matches  # the reasons keep the buyer's accents

    # -- ... and invites the other one from the match list --------------------------------------
    page.check(f"#match-{silent.pk} input[name=supplier]")
    page.click("button:has-text('Inviter les fournisseurs cochés')")
    page.wait_for_selector("text=1 fournisseur invité.")
    assert "2 fournisseurs prévenus," in page.inner_text("#counters")
    assert "✓" in page.inner_text(f"#match-{silent.pk}")
    page.click("text=Se déconnecter")

    # -- the supplier sees the notification, answers lot 1, then revises ------------------------
    _sign_in(page, url, "fournisseur")
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

    # -- the buyer compares, shortlists, awards -------------------------------------------------
    _sign_in(page, url, "acheteuse")
    page.goto(f"{url}/marche/besoins/{need.pk}/")
    assert "1 réponse." in page.inner_text("#counters")
    row = page.inner_text(f"#response-{Response.objects.get(need=need).pk}")
    assert "Atelier Usinage Melun" in row and "Lot 1 : Tournage de bagues" in row
    assert "5 000 à 25 000 €" in row and "2 versions" in row
    page.click("button:has-text('Présélectionner')")  # htmx swaps the row
    page.wait_for_selector("button:has-text('Retirer de la présélection')")
    page.select_option("select[name=winner]", label="Atelier Usinage Melun — lot 1")
    page.click("button:has-text('Clore le besoin')")
    page.wait_for_selector("text=Besoin clos.")
    assert page.inner_text("#need-status") == "clos — attribué"
    contacts = page.inner_text("#award-contacts")
    assert "Contact du fournisseur retenu" in contacts
    assert "Paul Briard, gérant" in contacts and "paul@atelier.test" in contacts
    assert "fournisseur@atelier.test" in contacts
    page.click("text=Se déconnecter")

    # -- the supplier sees the award and the buyer's contact ------------------------------------
    _sign_in(page, url, "fournisseur")
    page.goto(f"{url}/marche/notifications/")
    page.wait_for_selector("text=Votre réponse à « Bagues mécaniques et câblage » est retenue")
    assert "anne@donneur.test" in page.inner_text("main")
    page.goto(f"{url}/marche/besoins/{need.pk}/")
    assert "retenue" in page.inner_text(f"#response-{Response.objects.get(need=need).pk}")
    contacts = page.inner_text("#award-contacts")
    assert "Contact de l'acheteur" in contacts and "anne@donneur.test" in contacts
