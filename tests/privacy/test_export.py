"""The export of a person's data: everything declared, secrets never (token digests, passwords)."""

from __future__ import annotations

import json

import pytest

from maillage.accounts.models import ApiToken
from maillage.privacy import services
from maillage.privacy.models import PrivacyLogEntry
from maillage.privacy.relations import USER_RELATIONS, model_and_field

pytestmark = pytest.mark.django_db


def _download(client, url) -> dict:
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment; filename=")
    assert response["Content-Type"].startswith("application/json")
    return json.loads(response.content)


def test_a_user_downloads_everything_held_about_them(client, people):
    company = people["company"]
    client.force_login(company)
    data = _download(client, "/donnees-personnelles/mes-donnees/export/")
    assert data["identite"]["username"] == "co77"
    assert data["identite"]["email"] == "lea@scierie.test"
    assert data["identite"]["role_libelle"] == "utilisateur d'entreprise"
    assert "password" not in data["identite"]
    # every declared relation of an installed app is in the export
    for relation in USER_RELATIONS:
        if model_and_field(relation) is not None:
            assert relation.key in data["relations"], relation.key
    rel = data["relations"]

    def rows(key):
        return rel[key]["lignes"]

    assert [r["name"] for r in rows("accounts.ApiToken.user")] == ["Mon ERP"]
    assert "digest" not in rows("accounts.ApiToken.user")[0]
    digest = ApiToken.objects.get(user=company).digest
    assert digest not in json.dumps(data)
    assert [r["title"] for r in rows("notifications.Notification.user")] == ["Actualité du club"]
    assert rows("notifications.NotificationPreference.user")[0]["frequency"] == "daily"
    assert rows("accounts.User.establishments")[0]["id"] == people["e77"].pk
    assert rows("directory.ExportContactRequest.requested_by")[0]["message"] == "Salon au Maroc"
    assert rows("events.Registration.user")[0]["offers"] == "Sciure"
    assert [r["name"] for r in rows("networks.Network.animators")] == ["Club 77"]
    assert [r["name"] for r in rows("directory.Cluster.managers")] == ["Pôle Bois"]
    assert data["demandes_de_rendez_vous"][0]["message"] == "Parlons sciure"
    # the export itself is logged, by ids only
    entry = PrivacyLogEntry.objects.get(action="export_user")
    assert (entry.actor, entry.subject_id) == (company, company.pk)


def test_an_advisor_sees_their_audit_entries_and_visits(client, people):
    client.force_login(people["advisor77"])
    data = _download(client, "/donnees-personnelles/mes-donnees/export/")
    assert len(data["relations"]["accounts.AuditLog.user"]["lignes"]) == 1
    visits = data["relations"]["flows.Visit.advisor"]["lignes"]
    assert [v["id"] for v in visits] == [people["visit"].pk]


def test_a_chamber_administrator_exports_a_contact(client, people):
    contact = people["contact"]
    client.force_login(people["admin77"])
    data = _download(client, f"/donnees-personnelles/contacts/{contact.pk}/export/")
    assert data["personne"] == "contact"
    assert data["identite"]["email"] == "anne.martin@scierie.test"
    assert data["identite"]["phone"] == "01 60 00 00 00"
    assert data["etablissement"]["siret"] == people["e77"].siret
    entry = PrivacyLogEntry.objects.get(action="export_contact")
    assert entry.establishment == people["e77"]
    assert entry.chamber == people["chambers"][0]


def test_a_chamber_administrator_exports_a_company_user(client, people):
    client.force_login(people["admin77"])
    company = people["company"]
    data = _download(client, f"/donnees-personnelles/utilisateurs/{company.pk}/export/")
    assert data["identite"]["username"] == "co77"


def test_the_establishment_page_offers_the_contact_actions_to_its_staff_only(client, people):
    contact, e77 = people["contact"], people["e77"]
    export_url = f"/donnees-personnelles/contacts/{contact.pk}/export/"
    client.force_login(people["advisor77"])
    assert export_url in client.get(f"/etablissements/{e77.pk}/").content.decode()
    client.force_login(people["advisor91"])  # a partner chamber sees the page, not the actions
    page = client.get(f"/etablissements/{e77.pk}/")
    assert page.status_code == 200 and export_url not in page.content.decode()


def test_the_export_holds_plain_json_values(people):
    data = services.export_user(None, people["company"])
    json.dumps(data, default=str)  # the view's encoder handles dates and decimals
    assert data["format"] == services.FORMAT
