"""Erasure: the person's identity goes, the establishments' business data stays."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.contrib.sessions.models import Session
from django.test import Client

from maillage.accounts.models import ApiToken, AuditLog, User
from maillage.directory.models import Contact, ExportAdvisor, ExportContactRequest
from maillage.events.models import MeetingRequest, Registration
from maillage.flows.models import Flow, Visit
from maillage.notifications.models import Notification, NotificationPreference
from maillage.privacy import services
from maillage.privacy.models import PrivacyLogEntry
from tests.accounts.factories import AccessAttemptFactory

pytestmark = pytest.mark.django_db


def _can_sign_in(username: str, password: str) -> bool:
    browser = Client()
    browser.post("/comptes/login/", {"username": username, "password": password})
    return "_auth_user_id" in browser.session


def test_the_sign_in_check_works(people):
    assert _can_sign_in("co77", "pw-test-123")


def _confirm(client, url, **extra):
    return client.post(url, {"confirm": "on", **extra})


def test_a_chamber_administrator_erases_a_company_user(client, people):
    company = people["company"]
    pk = company.pk
    AccessAttemptFactory(
        username="co77", ip_address="192.0.2.1", user_agent="x", failures_since_start=1
    )
    other = Client()
    other.force_login(company)  # an open session of the erased user
    assert Session.objects.count() == 1
    client.force_login(people["admin77"])
    page = client.get(f"/donnees-personnelles/utilisateurs/{pk}/effacement/")
    assert "Effacer le compte « co77 »" in page.content.decode()
    response = _confirm(client, f"/donnees-personnelles/utilisateurs/{pk}/effacement/")
    assert response.status_code == 302
    follow = client.get(response["Location"])
    assert "Compte effacé" in follow.content.decode()

    company = User.objects.get(pk=pk)
    assert company.username == f"utilisateur-efface-{pk}"
    assert (company.first_name, company.last_name, company.email) == ("", "", "")
    assert not company.has_usable_password()
    assert not company.is_active
    assert not company.establishments.exists()
    assert not company.animated_networks.exists()
    # tokens, notifications, preferences and sessions are gone
    assert not ApiToken.objects.filter(user_id=pk).exists()
    assert not Notification.objects.filter(user_id=pk).exists()
    assert not NotificationPreference.objects.filter(user_id=pk).exists()
    assert not AccessAttempt.objects.filter(username="co77").exists()
    # only the administrator's own session is left
    assert list(Session.objects.values_list("session_key", flat=True)) == [
        client.session.session_key
    ]
    assert other.get("/donnees-personnelles/mes-donnees/").status_code == 302  # signed out
    # business rows stay, pointing at the pseudonym
    assert ExportContactRequest.objects.get(pk=people["export_request"].pk).requested_by_id == pk
    assert Registration.objects.filter(user_id=pk).count() == 1
    assert MeetingRequest.objects.filter(pk=people["meeting_request"].pk).exists()
    assert people["e77"].flows.count() == 1
    # nobody can sign in as them any more
    for username in ("co77", company.username):
        assert not _can_sign_in(username, "pw-test-123")
    # audited without personal data
    entry = PrivacyLogEntry.objects.get(action="erase_user")
    assert (entry.actor, entry.subject_id) == (people["admin77"], pk)
    assert "co77" not in str(entry) and "Durand" not in str(entry)


def test_an_erased_advisor_keeps_their_visits_and_audit_entries_under_the_pseudonym(people):
    advisor = people["advisor77"]
    services.erase_user(people["admin77"], advisor)
    visit = Visit.objects.select_related("advisor").get(pk=people["visit"].pk)
    assert visit.advisor.username == f"utilisateur-efface-{advisor.pk}"
    audit = AuditLog.objects.select_related("user").get(establishment=people["e77"])
    assert str(audit.user) == f"utilisateur-efface-{advisor.pk}"


def test_an_export_advisor_entry_is_anonymised_and_stays_for_the_requests(people):
    cce = people["cce"]
    services.erase_user(None, cce.user)
    cce = ExportAdvisor.objects.get(pk=cce.pk)
    assert cce.name == f"utilisateur-efface-{cce.user_id}"
    assert (cce.phone, cce.bio, cce.available) == ("", "", False)
    assert cce.contact_requests.count() == 1


def test_a_chamber_administrator_erases_a_contact_and_keeps_the_establishment(client, people):
    contact, e77 = people["contact"], people["e77"]
    client.force_login(people["admin77"])
    url = f"/donnees-personnelles/contacts/{contact.pk}/effacement/"
    assert "Effacer le contact Anne Martin" in client.get(url).content.decode()
    response = _confirm(client, url)
    assert response["Location"] == f"/etablissements/{e77.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "Contact effacé" in page and "anne.martin@scierie.test" not in page
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert Flow.objects.filter(establishment=e77).count() == 1
    assert Visit.objects.filter(establishment=e77).count() == 1
    entry = PrivacyLogEntry.objects.get(action="erase_contact")
    assert entry.establishment == e77 and entry.subject_id == contact.pk


def test_erasure_needs_the_confirmation(client, people):
    contact = people["contact"]
    client.force_login(people["advisor77"])
    response = client.post(f"/donnees-personnelles/contacts/{contact.pk}/effacement/")
    assert response.status_code == 200
    assert "Cochez la case pour confirmer" in response.content.decode()
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_a_company_user_erases_their_own_account_with_their_password(client, people):
    company = people["company"]
    client.force_login(company)
    url = "/donnees-personnelles/mes-donnees/effacement/"
    wrong = client.post(url, {"confirm": "on", "password": "pas le bon"})
    assert "Mot de passe incorrect." in wrong.content.decode()
    assert User.objects.get(pk=company.pk).is_active
    response = client.post(url, {"confirm": "on", "password": "pw-test-123"})
    assert response["Location"] == "/"
    assert "Votre compte a été effacé" in client.get("/").content.decode()
    assert not User.objects.get(pk=company.pk).is_active
    assert client.get("/donnees-personnelles/mes-donnees/").status_code == 302


def test_an_advisor_asks_their_chamber_administrators(client, people):
    advisor = people["advisor77"]
    client.force_login(advisor)
    page = client.get("/donnees-personnelles/mes-donnees/").content.decode()
    assert "Demander l'effacement de mon compte" in page
    response = client.post(
        "/donnees-personnelles/mes-donnees/effacement/",
        {"confirm": "on", "password": "pw-test-123"},
    )
    assert response.status_code == 302
    assert "transmise (1 destinataire(s))" in client.get(response["Location"]).content.decode()
    advisor.refresh_from_db()
    assert advisor.is_active and advisor.username == "adv77"  # nothing erased yet
    note = Notification.objects.get(user=people["admin77"], kind="erasure_request")
    assert note.url == f"/donnees-personnelles/utilisateurs/{advisor.pk}/effacement/"
    assert "adv77" not in note.title + note.body
    assert PrivacyLogEntry.objects.filter(action="erasure_requested").count() == 1


def test_erasing_twice_changes_nothing(people):
    company = people["company"]
    services.erase_user(None, company)
    services.erase_user(None, company)
    assert User.objects.get(pk=company.pk).username == f"utilisateur-efface-{company.pk}"
