"""Web hardening: login throttling (django-axes), neutral Server header."""

from __future__ import annotations

import datetime

import pytest
from django.test import override_settings

from maillage.accounts.models import User

pytestmark = pytest.mark.django_db

LOGIN = "/comptes/login/"


def _try(client, password):
    return client.post(LOGIN, {"username": "cible", "password": password})


def test_ten_wrong_passwords_lock_the_account_until_the_cool_off(client, make_user, settings):
    make_user("cible", User.Role.COMPANY)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = _try(client, "mauvais")
        assert response.status_code == 200
        assert "Identifiant ou mot de passe incorrect" in response.content.decode()
    locked = _try(client, "mauvais")
    assert locked.status_code == 429
    assert "Compte temporairement bloqué" in locked.content.decode()
    # the right password is refused while the account is locked, and no session is opened
    refused = _try(client, "pw-test-123")
    assert refused.status_code == 429
    assert "_auth_user_id" not in client.session
    # once the cool-off has elapsed the right password works again
    with override_settings(AXES_COOLOFF_TIME=datetime.timedelta(microseconds=1)):
        opened = _try(client, "pw-test-123")
    assert opened.status_code == 302
    assert client.session["_auth_user_id"] == str(User.objects.get(username="cible").pk)


def test_lockout_is_per_account(client, make_user, settings):
    make_user("cible", User.Role.COMPANY)
    make_user("voisin", User.Role.COMPANY)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _try(client, "mauvais")
    other = client.post(LOGIN, {"username": "voisin", "password": "pw-test-123"})
    assert other.status_code == 302


def test_a_success_resets_the_failure_count(client, make_user, settings):
    make_user("cible", User.Role.COMPANY)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _try(client, "mauvais")
    assert _try(client, "pw-test-123").status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _try(client, "mauvais").status_code == 200
    assert _try(client, "pw-test-123").status_code == 302


def test_server_header_does_not_reveal_python(client, live_server):
    import http.client
    from urllib.parse import urlsplit

    assert client.get(LOGIN)["Server"] == "Maillage"
    # the live server is the same wsgiref stack as runserver
    address = urlsplit(live_server.url)
    connection = http.client.HTTPConnection(address.hostname, address.port)
    connection.request("GET", LOGIN)
    server = connection.getresponse().getheader("Server")
    connection.close()
    assert server == "Maillage"
    assert "Python" not in server
