"""API tokens expire and can be revoked by their owner, from the « Mes jetons d'API » page; nobody
else sees or revokes them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from maillage.accounts.models import ApiToken, User
from maillage.accounts.tokens import create_token, digest

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(make_chamber, make_user):
    c77, c78 = make_chamber("cci-77", "77"), make_chamber("cci-78", "78")
    return {
        "owner": make_user("owner", User.Role.ADVISOR, c77),
        "colleague": make_user("colleague", User.Role.ADVISOR, c77),
        "other_chamber": make_user("other", User.Role.ADVISOR, c78),
        "company": make_user("company", User.Role.COMPANY),
    }


def api(client, token):
    return client.get("/api/establishments", headers={"Authorization": f"Bearer {token}"})


def test_a_token_lives_the_set_lifetime_then_is_refused(client, people, settings):
    settings.MAILLAGE_API_TOKEN_DAYS = 30
    token = create_token(people["owner"], "script")
    row = ApiToken.objects.get(digest=digest(token))
    assert timedelta(days=29) < row.expires_at - timezone.now() <= timedelta(days=30)
    assert api(client, token).status_code == 200
    ApiToken.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert api(client, token).status_code == 401


def test_the_owner_creates_sees_once_and_revokes_a_token(client, people):
    client.force_login(people["owner"])
    page = client.post("/compte/jetons/", {"name": "Tableur régional", "days": 10})
    html = page.content.decode()
    value = html.split('<code class="token-value">')[1].split("</code>")[0]
    assert value.startswith("mlg_") and api(client, value).status_code == 200
    again = client.get("/compte/jetons/").content.decode()
    assert "Tableur régional" in again and value not in again  # shown once only
    row = ApiToken.objects.get(name="Tableur régional")
    assert timedelta(days=9) < row.expires_at - timezone.now() <= timedelta(days=10)
    client.force_login(people["owner"])
    response = client.post(f"/compte/jetons/{row.pk}/revoquer/", follow=True)
    assert "Jeton révoqué" in response.content.decode()
    assert "révoqué" in client.get("/compte/jetons/").content.decode()
    client.logout()
    assert api(client, value).status_code == 401


def test_a_bad_lifetime_is_refused_in_french(client, people):
    client.force_login(people["owner"])
    html = client.post("/compte/jetons/", {"name": "x", "days": 1000}).content.decode()
    assert "inférieure ou égale à 365" in html
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("who", ["colleague", "other_chamber", "company"])
def test_nobody_else_sees_or_revokes_a_token(client, people, who):
    token = create_token(people["owner"], "secret-script")
    row = ApiToken.objects.get(digest=digest(token))
    client.force_login(people[who])
    assert "secret-script" not in client.get("/compte/jetons/").content.decode()
    assert client.post(f"/compte/jetons/{row.pk}/revoquer/").status_code == 404
    row.refresh_from_db()
    assert row.revoked_at is None and api(client, token).status_code == 200


def test_anonymous_visitors_are_sent_to_the_login_page(client, people):
    token = create_token(people["owner"], "script")
    row = ApiToken.objects.get(digest=digest(token))
    for response in (
        client.get("/compte/jetons/"),
        client.post(f"/compte/jetons/{row.pk}/revoquer/"),
    ):
        assert response.status_code == 302 and "/comptes/login/" in response["Location"]
    row.refresh_from_db()
    assert row.revoked_at is None


def test_revoking_needs_a_post(client, people):
    token = create_token(people["owner"], "script")
    row = ApiToken.objects.get(digest=digest(token))
    client.force_login(people["owner"])
    assert client.get(f"/compte/jetons/{row.pk}/revoquer/").status_code == 405
    row.refresh_from_db()
    assert row.revoked_at is None


def test_the_command_takes_a_lifetime(people, capsys):
    call_command("create_api_token", "owner", "--name", "cli", "--days", "5")
    value = capsys.readouterr().out.strip()
    row = ApiToken.objects.get(digest=digest(value))
    assert timedelta(days=4) < row.expires_at - timezone.now() <= timedelta(days=5)
