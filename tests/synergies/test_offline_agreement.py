"""The offline path of the synergy pipeline (issue 16, left point): a synergy that goes on
(discussion, implementation) without any introduction ever proposed on the platform needs the
advisor to state the agreement reached offline — a note and its date — recorded in the history
and audited; the form and the API say in French what is missing."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from maillage.accounts.models import AuditLog, User
from maillage.accounts.tokens import create_token
from maillage.synergies import introductions, services
from maillage.synergies.models import Suggestion
from tests.flows.factories import wood_synergy
from tests.pages import html_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def deal(territory, make_user):
    """A sawmill (77) offering 42 t of wood waste a year, a boiler (91, partner chamber) needing
    50 t: one substitution, detected, moved to « proposée » by hand (no introduction)."""
    wood_synergy(territory, offered=42, needed=50)
    territory["company91"] = make_user("co91", User.Role.COMPANY, establishments=[territory["e91"]])
    services.detect()
    s = Suggestion.objects.get(
        kind="substitution",
        offer_flow__establishment=territory["e77"],
        need_flow__establishment=territory["e91"],
    )
    services.change_status(s, territory["advisor77"], Suggestion.Status.PROPOSED, "Appel fait")
    territory["s"] = s
    return territory


def test_going_on_without_introduction_needs_the_offline_agreement(deal):
    s, adv = deal["s"], deal["advisor77"]
    today = timezone.localdate()
    with pytest.raises(ValidationError) as exc:
        services.change_status(s, adv, Suggestion.Status.DISCUSSION)
    errors = exc.value.message_dict
    assert "Aucune mise en relation n'a été proposée sur la plateforme" in errors["__all__"][0]
    assert errors["note"] == ["Décrivez l'accord obtenu hors plateforme (qui, comment)."]
    assert errors["agreement_on"] == ["Indiquez la date de l'accord hors plateforme."]
    with pytest.raises(ValidationError) as exc:
        services.change_status(s, adv, Suggestion.Status.DISCUSSION, "Accord au téléphone")
    assert set(exc.value.message_dict) == {"__all__", "agreement_on"}
    with pytest.raises(ValidationError, match="dans le futur"):
        services.change_status(
            s,
            adv,
            Suggestion.Status.DISCUSSION,
            "Accord au téléphone",
            agreement_on=today + datetime.timedelta(days=1),
        )
    with pytest.raises(ValidationError, match="Décrivez l'accord"):
        services.change_status(s, adv, Suggestion.Status.DISCUSSION, "  ", agreement_on=today)
    s.refresh_from_db()
    assert s.status == "proposed" and s.events.count() == 1  # nothing recorded by the refusals

    agreed = today - datetime.timedelta(days=3)
    event = services.change_status(
        s,
        adv,
        Suggestion.Status.DISCUSSION,
        "Accord des deux directeurs au salon Bois-Énergie",
        agreement_on=agreed,
    )
    assert (event.agreement_on, event.note, event.user) == (
        agreed,
        "Accord des deux directeurs au salon Bois-Énergie",
        adv,
    )
    audit = AuditLog.objects.filter(
        user=adv, action=AuditLog.Action.CHANGE_SYNERGY, detail__contains="accord hors plateforme"
    )
    assert set(audit.values_list("establishment_id", flat=True)) == {
        deal["e77"].pk,
        deal["e91"].pk,
    }
    assert audit.first().detail == (
        f"suggestion {s.pk} : accord hors plateforme du {agreed:%d/%m/%Y} déclaré (discussion)"
    )
    # stated once: implementing needs the quantity, not the agreement again
    services.change_status(s, adv, Suggestion.Status.IMPLEMENTED, "", 35.0)
    s.refresh_from_db()
    assert s.status == "implemented"


def test_an_agreement_date_belongs_to_going_on_without_introduction(deal):
    s, adv = deal["s"], deal["advisor77"]
    today = timezone.localdate()
    with pytest.raises(ValidationError, match="ne s'indique que pour poursuivre"):
        services.change_status(
            s, adv, Suggestion.Status.ABANDONED, "Plus d'actualité", agreement_on=today
        )
    # through an introduction the companies' own answers are the agreement
    services.change_status(s, adv, Suggestion.Status.ABANDONED, "Plus d'actualité")
    services.change_status(s, adv, Suggestion.Status.DETECTED)
    introductions.propose_introduction(s, adv)
    for side in s.introductions.all():
        user = deal["company77"] if side.establishment == deal["e77"] else deal["company91"]
        introductions.respond_introduction(user, side, accept=True)
    s.refresh_from_db()
    assert s.status == "discussion"
    with pytest.raises(ValidationError, match="proposée sur la plateforme"):
        services.change_status(s, adv, Suggestion.Status.IMPLEMENTED, "x", 35.0, agreement_on=today)
    services.change_status(s, adv, Suggestion.Status.IMPLEMENTED, "", 35.0)
    assert not s.events.filter(agreement_on__isnull=False).exists()


def test_the_form_says_what_is_missing_in_french_and_the_history_keeps_it(client, deal):
    s = deal["s"]
    client.force_login(deal["advisor77"])
    page = html_of(client.get(reverse("suggestion-detail", args=[s.pk])))
    assert 'id="offline-hint"' in page and "décrivez dans la note l'accord obtenu" in page
    assert 'name="agreement_on"' in page and 'type="date"' in page
    url = reverse("suggestion-transition", args=[s.pk])
    refused = client.post(url, {"to_status": "discussion"})
    assert refused.status_code == 400
    html = html_of(refused)
    assert "Aucune mise en relation n&#x27;a été proposée sur la plateforme" in html
    assert "Indiquez la date de l&#x27;accord hors plateforme." in html
    assert "Décrivez l&#x27;accord obtenu hors plateforme" in html
    s.refresh_from_db()
    assert s.status == "proposed"
    agreed = timezone.localdate() - datetime.timedelta(days=1)
    done = client.post(
        url,
        {
            "to_status": "discussion",
            "note": "Accord signé par courriel",
            "agreement_on": agreed.isoformat(),
        },
    )
    assert done.status_code == 302
    s.refresh_from_db()
    assert s.status == "discussion"
    page = html_of(client.get(reverse("suggestion-detail", args=[s.pk])))
    assert f"Accord hors plateforme du {agreed:%d/%m/%Y} :" in page
    assert "Accord signé par courriel" in page
    assert 'id="offline-hint"' not in page  # stated: not asked again


def test_the_api_needs_the_agreement_too(client, deal):
    s = deal["s"]
    headers = {"Authorization": f"Bearer {create_token(deal['advisor77'], 't')}"}
    url = f"/api/suggestions/{s.pk}/status"
    r = client.post(url, {"status": "discussion"}, content_type="application/json", headers=headers)
    assert r.status_code == 400
    assert "Aucune mise en relation n'a été proposée sur la plateforme" in r.json()["detail"]
    r = client.post(
        url,
        {"status": "discussion", "note": "Accord oral", "agreement_on": "2026-13-01"},
        content_type="application/json",
        headers=headers,
    )
    assert r.status_code == 422
    r = client.post(
        url,
        {
            "status": "discussion",
            "note": "Accord oral en réunion",
            "agreement_on": timezone.localdate().isoformat(),
        },
        content_type="application/json",
        headers=headers,
    )
    assert r.status_code == 200 and r.json()["status"] == "discussion"
    assert s.events.get(to_status="discussion").agreement_on == timezone.localdate()


def test_only_the_advisors_in_charge_state_an_agreement(client, deal):
    s = deal["s"]
    url = reverse("suggestion-transition", args=[s.pk])
    body = {
        "to_status": "discussion",
        "note": "Accord",
        "agreement_on": timezone.localdate().isoformat(),
    }
    client.force_login(deal["advisor78"])  # another chamber's advisor: the suggestion is hidden
    assert client.post(url, body).status_code == 404
    client.force_login(deal["company77"])  # a company, even one of the two
    assert client.post(url, body).status_code == 403
    client.force_login(deal["company78"])  # another company
    assert client.post(url, body).status_code == 403
    client.logout()
    assert client.post(url, body).status_code == 302  # to the login page
    api = f"/api/suggestions/{s.pk}/status"
    payload = {"status": "discussion", "note": "Accord", "agreement_on": body["agreement_on"]}
    for who, expected in (("advisor78", 404), ("company78", 404)):
        headers = {"Authorization": f"Bearer {create_token(deal[who], 't')}"}
        r = client.post(api, payload, content_type="application/json", headers=headers)
        assert r.status_code == expected
    assert client.post(api, payload, content_type="application/json").status_code == 401
    s.refresh_from_db()
    assert s.status == "proposed" and not s.events.filter(agreement_on__isnull=False).exists()
