"""Issue 17.6 and 17.10: the API refuses malformed bodies (422), bodies that are not JSON (415) and
blank need titles, and leaves the need untouched."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from maillage.accounts.tokens import create_token
from maillage.marketplace.models import Need
from tests.marketplace.factories import NeedFactory

pytestmark = pytest.mark.django_db


def post(client, token, url, raw, content_type="application/json"):
    return client.post(
        f"/api{url}", raw, content_type=content_type, headers={"Authorization": f"Bearer {token}"}
    )


def need_body(market, title="Tournage de bagues"):
    return {
        "buyer": market["buyer"].pk,
        "theme": "purchasing",
        "kind": "service",
        "title": title,
        "description": "Bagues en bronze, tournage et fraisage.",
        "category": "mechanics",
        "closes_on": (timezone.localdate() + datetime.timedelta(days=10)).isoformat(),
    }


@pytest.fixture
def published(client, market):
    token = create_token(market["users"]["buyer"], "t")
    r = client.post(
        "/api/needs",
        need_body(market),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 201, r.content
    need = Need.objects.get(pk=r.json()["id"])
    assert post(client, token, f"/needs/{need.pk}/publish", "").status_code == 200
    need.refresh_from_db()
    assert need.status == Need.Status.PUBLISHED
    return token, need


@pytest.mark.parametrize(
    "raw", ["[]", '"x"', "123", "null", "{}", '{"winer": null}', '{"winner": "abc"}']
)
def test_close_refuses_a_malformed_body(client, published, raw):
    token, need = published
    r = post(client, token, f"/needs/{need.pk}/close", raw)
    assert r.status_code == 422, r.content
    need.refresh_from_db()
    assert need.status == Need.Status.PUBLISHED and need.closed_at is None


def test_close_with_an_explicit_null_winner_still_works(client, published):
    token, need = published
    r = post(client, token, f"/needs/{need.pk}/close", '{"winner": null}')
    assert r.status_code == 200 and r.json()["status"] == "not_awarded"


def test_a_text_plain_body_is_not_read_as_json(client, published):
    token, need = published
    r = post(client, token, f"/needs/{need.pk}/close", '{"winner": null}', "text/plain")
    assert r.status_code == 415
    assert "application/json" in r.json()["detail"]
    need.refresh_from_db()
    assert need.status == Need.Status.PUBLISHED


def test_a_body_that_is_not_json_is_refused_in_french(client, published):
    token, need = published
    r = post(client, token, f"/needs/{need.pk}/close", "{winner: }")
    assert r.status_code == 400
    assert r.json()["detail"] == "Le corps de la requête n'est pas du JSON valide."


@pytest.mark.parametrize("title", ["   ", "\t\n ", "\u00a0"])
def test_a_blank_need_title_is_refused_by_the_api(client, market, title):
    token = create_token(market["users"]["buyer"], "t")
    r = client.post(
        "/api/needs",
        need_body(market, title),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 422
    assert "intitulé ne peut pas être vide" in str(r.json()["detail"])
    assert not Need.objects.exists()


def blank_titled_draft(need):
    """A draft of the same buyer whose title is blanks only (the forms refuse to write one)."""
    return NeedFactory(
        buyer=need.buyer,
        theme=need.theme,
        kind=need.kind,
        title="   ",
        description="x",
        category="",
        closes_on=need.closes_on,
    )


def test_a_need_with_a_blank_title_cannot_be_published(client, published):
    token, need = published
    draft = blank_titled_draft(need)
    r = post(client, token, f"/needs/{draft.pk}/publish", "")
    assert r.status_code == 400
    assert r.json()["detail"] == "Donnez un intitulé au besoin avant de le publier."
    draft.refresh_from_db()
    assert draft.status == Need.Status.DRAFT


def test_a_blank_need_title_is_refused_by_the_web_form(client, market):
    from django.urls import reverse

    client.force_login(market["users"]["buyer"])
    r = client.post(
        reverse("marketplace:need-create"),
        {**need_body(market, " \t "), "visibility": "platform"},
    )
    assert r.status_code == 200
    assert "Ce champ est obligatoire" in r.content.decode()
    assert not Need.objects.exists()


def test_publishing_a_blank_titled_draft_from_the_web_is_refused(client, published):
    from django.urls import reverse

    token, need = published
    draft = blank_titled_draft(need)
    client.force_login(need.buyer.users.get())
    r = client.post(
        reverse("marketplace:need-transition", args=[draft.pk]), {"action": "publish"}, follow=True
    )
    assert "Donnez un intitulé au besoin avant de le publier." in r.content.decode()
    draft.refresh_from_db()
    assert draft.status == Need.Status.DRAFT
