"""While the database is unreachable (PostgreSQL restarting), pages get the French error page with
a 503 and no traceback, the API a JSON 503, and kept connections are checked before reuse
(bench/faults_pg.py restarts a real cluster under load)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.db import OperationalError
from django.test import Client

from maillage.accounts.tokens import create_token

pytestmark = pytest.mark.django_db

LEAKS = ("Traceback", "OperationalError", "connection refused", "Request Method")


@pytest.fixture
def database_down(monkeypatch):
    """Every session read fails as it does when PostgreSQL refuses connections."""

    def refuse(self, *args, **kwargs):
        raise OperationalError('connection to server at "127.0.0.1", port 5432 failed')

    monkeypatch.setattr(SessionStore, "load", refuse)


def test_kept_connections_are_checked_before_reuse():
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True


def test_page_gets_the_french_503_page_without_traceback(territory, database_down):
    client = Client(raise_request_exception=False)
    client.cookies[settings.SESSION_COOKIE_NAME] = "une-session"
    r = client.get("/etablissements/")
    html = r.content.decode()
    assert r.status_code == 503 and r["Retry-After"] == "5"
    assert "Erreur du serveur" in html and "réessayez dans quelques instants" in html
    assert 'lang="fr"' in html
    assert not [leak for leak in LEAKS if leak in html]


def test_api_gets_a_json_503(territory, database_down):
    client = Client(raise_request_exception=False)
    client.cookies[settings.SESSION_COOKIE_NAME] = "une-session"
    r = client.get("/api/establishments")
    assert r.status_code == 503 and r["Content-Type"].startswith("application/json")
    assert r.json() == {
        "detail": "La base de données ne répond pas : réessayez dans quelques instants."
    }


def test_api_view_failing_on_the_database_gets_a_json_503(territory, monkeypatch):
    # The token is checked, then the view's query fails: ninja's handler answers.
    token = create_token(territory["advisor77"], "essai")

    def refuse(*args, **kwargs):
        raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr("maillage.directory.policy.visible_establishments", refuse)
    r = Client(raise_request_exception=False).get(
        "/api/establishments", headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 503 and r["Retry-After"] == "5"
    assert "réessayez" in r.json()["detail"]


def test_other_errors_stay_500(territory, monkeypatch):
    def broken(self, *args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(SessionStore, "load", broken)
    client = Client(raise_request_exception=False)
    client.cookies[settings.SESSION_COOKIE_NAME] = "une-session"
    r = client.get("/etablissements/")
    assert r.status_code == 500 and "Erreur du serveur" in r.content.decode()
    r = client.get("/api/establishments")
    assert r.status_code == 500 and r.json()["detail"].startswith("Erreur du serveur")
