"""The animator's loop, as a user walks it: the animator adds members to the club, creates an
event, the members register and request a meeting, the animator runs « Calculer le planning »
and the page shows the schedule without a reload, a participant sees it in their agenda."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from maillage.accounts.models import User
from maillage.networks.models import Membership
from tests.browser.session import sign_in, sign_out
from tests.networks.factories import NetworkFactory

pytestmark = pytest.mark.browser


def _add_member(page, query: str, name: str) -> None:
    page.fill("input[name=q]", query)
    page.click("button:has-text('Chercher')")
    page.click(f"button[data-add='{name}']")
    page.wait_for_selector(f"text={name} est maintenant membre du réseau.")


def test_animator_members_event_meetings_schedule_agenda(
    live_server, page, reference_data, make_chamber, make_establishment, make_user, settings
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    chamber = make_chamber("cci-77", "77")
    club = NetworkFactory(name="Club des entreprises de la Brie", chamber=chamber)
    club.animators.add(make_user("hugo", User.Role.ANIMATOR))
    sawmill = make_establishment("77288", name="Scierie de la Brie")
    joinery = make_establishment("77288", name="Menuiserie du Gâtinais", naf="16.23Z")
    make_user("alice", User.Role.COMPANY, establishments=[sawmill])
    make_user("bob", User.Role.COMPANY, establishments=[joinery])
    base = live_server.url

    # The animator adds both companies to the club, by name.
    sign_in(page, base, "hugo")
    page.click("nav >> text=Réseaux")
    page.click("text=gérer les membres")
    _add_member(page, "Scierie", "Scierie de la Brie")
    _add_member(page, "Gâtinais", "Menuiserie du Gâtinais")
    members = page.inner_text("#members")
    assert "Scierie de la Brie" in members and "Menuiserie du Gâtinais" in members
    assert page.inner_text("h2:has-text('membres')") == "2 membres"

    # … then creates the club's event, with business meetings.
    page.click("text=Créer un événement")
    start = timezone.localtime(timezone.now() + datetime.timedelta(days=5)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    page.fill("#id_title", "Rendez-vous d'affaires du club")
    page.fill("#id_starts_at", start.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#id_ends_at", (start + datetime.timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#id_place", "Melun")
    page.fill("#id_capacity", "20")
    assert page.input_value("#id_network") == str(club.pk)  # pre-selected from the club
    page.check("#id_meetings_enabled")
    page.click("button:has-text('Créer')")
    page.wait_for_selector("text=Événement créé.")
    assert "Organisation" in page.inner_text("h1")
    sign_out(page)

    # Both members register; Alice asks Bob for a meeting; Bob accepts.
    def open_event(who: str) -> None:
        sign_in(page, base, who)
        page.click("nav >> text=Événements")
        page.click("text=Rendez-vous d'affaires du club")

    for who in ("alice", "bob"):
        open_event(who)
        page.click("button:has-text('S\\'inscrire')")
        page.wait_for_selector("#my-status:has-text('inscrit')")
        sign_out(page)
    open_event("alice")
    page.click("text=Mes rendez-vous d'affaires")
    page.click("button[data-request='Menuiserie du Gâtinais']")
    page.wait_for_selector("text=Demande de rendez-vous envoyée")
    sign_out(page)
    open_event("bob")
    page.click("text=Mes rendez-vous d'affaires")
    page.click("button:has-text('Accepter')")
    page.wait_for_selector("li:has-text('Scierie de la Brie') strong:has-text('acceptée')")
    sign_out(page)

    # The animator computes the schedule: the panel fills in place, without a page load.
    open_event("hugo")
    page.click("text=Organiser : participants")
    assert "Pas encore de planning." in page.inner_text("#schedule")
    page.evaluate("window.__samePage = true")
    page.click("#run-scheduler")
    page.wait_for_selector("#schedule-status:has-text('1 rendez-vous placé sur 1 demandé')")
    assert page.evaluate("window.__samePage === true")  # no reload happened
    assert "Planning optimal" in page.inner_text("#schedule-status")
    schedule = page.inner_text("#schedule")
    assert "Scierie de la Brie – Menuiserie du Gâtinais" in schedule or (
        "Menuiserie du Gâtinais – Scierie de la Brie" in schedule
    )
    sign_out(page)

    # A participant sees the meeting in their agenda.
    open_event("alice")
    page.click("text=Mon agenda")
    page.wait_for_selector("tr.meeting:has-text('Menuiserie du Gâtinais')")
    assert Membership.objects.filter(network=club).count() == 2
