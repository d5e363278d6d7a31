"""A chamber administrator downloads a contact's personal data from the establishment page, then
erases the contact: the page confirms in French, the contact is gone, the establishment stays."""

import json
from pathlib import Path

import pytest

from maillage.accounts.models import User
from maillage.directory.models import Contact, Establishment
from maillage.privacy.models import PrivacyLogEntry
from tests.browser.session import sign_in
from tests.directory.factories import ContactFactory

pytestmark = pytest.mark.browser


def test_an_administrator_exports_then_erases_a_contact(
    live_server, page, reference_data, make_chamber, make_establishment, make_user
):
    base = live_server.url
    chamber = make_chamber("cci-77", "77")
    sawmill = make_establishment("77288", name="Scierie de la Brie")
    contact = ContactFactory(
        establishment=sawmill,
        first_name="Anne",
        last_name="Martin",
        email="anne.martin@scierie.test",
        phone="01 60 00 00 00",
    )
    make_user("adm77", User.Role.CHAMBER_ADMIN, chamber)

    sign_in(page, base, "adm77")
    page.goto(f"{base}/etablissements/{sawmill.pk}/")
    page.wait_for_selector("#contacts >> text=anne.martin@scierie.test")
    with page.expect_download() as info:
        page.click("#contacts >> text=Exporter ses données")
    download = info.value
    assert download.suggested_filename.startswith(f"donnees-contact-{contact.pk}-")
    data = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert data["identite"]["email"] == "anne.martin@scierie.test"
    assert data["etablissement"]["nom"] == "Scierie de la Brie"

    page.click("#contacts >> text=Effacer…")
    page.wait_for_selector("text=Effacer le contact Anne Martin")
    page.click("button:has-text('Effacer définitivement')")
    # the browser refuses the form until the box is ticked
    assert Contact.objects.filter(pk=contact.pk).exists()
    page.check("input[name=confirm]")
    page.click("button:has-text('Effacer définitivement')")
    page.wait_for_selector("text=Contact effacé : ses données personnelles sont supprimées")
    page.wait_for_selector("#contacts >> text=Aucun contact enregistré.")
    assert "anne.martin@scierie.test" not in page.content()
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert Establishment.objects.filter(pk=sawmill.pk).exists()
    assert PrivacyLogEntry.objects.filter(action="erase_contact", subject_id=contact.pk).exists()
