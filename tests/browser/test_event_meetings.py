"""A participant registers for a business event, requests a meeting; the other accepts; the
organiser computes the schedule; both see the meeting in their agenda and download the .ics."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from django.utils import timezone

from maillage.accounts.models import User
from maillage.events import services
from tests.browser.session import sign_in, sign_out
from tests.events.factories import EventFactory

pytestmark = pytest.mark.browser


def test_register_request_schedule_agenda_ics(
    live_server, page, reference_data, make_chamber, make_establishment, make_user, settings
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    chamber = make_chamber("cci-77", "77")
    make_user("organisatrice", User.Role.ADVISOR, chamber)
    sawmill = make_establishment("77288", name="Scierie de la Brie")
    joinery = make_establishment("77288", name="Menuiserie du Gâtinais", naf="16.23Z")
    make_user("alice", User.Role.COMPANY, establishments=[sawmill])
    bob = make_user("bob", User.Role.COMPANY, establishments=[joinery])
    start = timezone.now() + datetime.timedelta(days=3)
    event = EventFactory(
        title="Rencontres d'affaires de la Brie",
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=3),
        place="Melun",
        capacity=20,
        chamber=chamber,
        meetings_enabled=True,
        slot_count=6,
        table_count=3,
        max_meetings=4,
    )
    services.register(bob, event, joinery, {})
    base = live_server.url

    # Alice registers and asks Bob for a meeting.
    sign_in(page, base, "alice")
    page.click("text=Événements")
    page.click("text=Rencontres d'affaires de la Brie")
    page.click("button:has-text('S\\'inscrire')")
    page.wait_for_selector("#my-status:has-text('inscrit')")
    page.click("text=Mes rendez-vous d'affaires")
    page.fill("textarea[name=offers]", "Sciure et chutes de chêne")
    page.fill("textarea[name=seeks]", "Palettes")
    page.click("button:has-text('Enregistrer')")
    page.wait_for_selector("text=Profil enregistré")
    page.select_option("select[name=priority]", "3")
    page.click("button[data-request='Menuiserie du Gâtinais']")
    page.wait_for_selector("text=Demande de rendez-vous envoyée")
    sign_out(page)

    # Bob accepts.
    sign_in(page, base, "bob")
    page.goto(f"{base}/evenements/{event.pk}/rendez-vous/")
    page.click("button:has-text('Accepter')")
    page.wait_for_selector("li:has-text('Scierie de la Brie') strong:has-text('acceptée')")
    sign_out(page)

    # The organiser computes the schedule.
    sign_in(page, base, "organisatrice")
    page.goto(f"{base}/evenements/{event.pk}/organisation/")
    page.click("#run-scheduler")
    page.wait_for_selector("#schedule-status:has-text('Terminé')")
    assert "Menuiserie du Gâtinais – Scierie de la Brie" in page.content() or (
        "Scierie de la Brie – Menuiserie du Gâtinais" in page.content()
    )
    sign_out(page)

    # Both see it in their agenda and download the .ics.
    for who, other in (("alice", "Menuiserie du Gâtinais"), ("bob", "Scierie de la Brie")):
        sign_in(page, base, who)
        page.goto(f"{base}/evenements/{event.pk}/agenda/")
        page.wait_for_selector(f"tr.meeting:has-text('{other}')")
        with page.expect_download() as info:
            page.click("text=Télécharger (.ics)")
        content = Path(info.value.path()).read_text(encoding="utf-8")
        assert "BEGIN:VCALENDAR" in content and f"Rendez-vous avec {other}" in content
        sign_out(page)
