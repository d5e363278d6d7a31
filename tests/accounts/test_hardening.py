"""Issue 17.10: e-mail links are absolute (MAILLAGE_BASE_URL); refused requests are logged without
a traceback; the base URL setting is validated."""

from __future__ import annotations

import logging

import pytest
from django.conf import global_settings
from django.core import mail
from django.core.exceptions import ImproperlyConfigured

from maillage import notifications
from maillage.accounts.models import User
from maillage.config import settings as production
from maillage.config.env import base_url
from maillage.marketplace.notifications import NEW_NEED
from maillage.notifications import registry

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(make_user):
    user = make_user("lectrice", User.Role.COMPANY)
    user.email = "lectrice@example.test"
    user.save()
    return user


def test_immediate_email_links_are_absolute(reader, settings, django_capture_on_commit_callbacks):
    settings.MAILLAGE_BASE_URL = "https://maillage.example.fr"
    with django_capture_on_commit_callbacks(execute=True):
        notifications.notify(
            [reader],
            NEW_NEED,
            title="Besoin",
            body="Un besoin.",
            url="/marche/besoins/7/",
        )
    assert len(mail.outbox) == 1
    assert "https://maillage.example.fr/marche/besoins/7/" in mail.outbox[0].body


def test_digest_links_are_absolute(reader, settings, django_capture_on_commit_callbacks):
    settings.MAILLAGE_BASE_URL = "https://cci.example.fr/maillage"
    kind = next(k for k, v in registry.REGISTRY.items() if v.default == "daily")
    with django_capture_on_commit_callbacks(execute=True):
        notifications.notify([reader], kind, title="Nouvelle", body="x", url="/reseaux/3/")
    assert notifications.send_digests() == 1
    assert "https://cci.example.fr/maillage/reseaux/3/" in mail.outbox[-1].body


def test_the_base_url_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("MAILLAGE_BASE_URL", "https://maillage.example.fr/")
    assert base_url("MAILLAGE_BASE_URL", "http://127.0.0.1:8000") == "https://maillage.example.fr"
    monkeypatch.delenv("MAILLAGE_BASE_URL")
    assert base_url("MAILLAGE_BASE_URL", "http://127.0.0.1:8000") == "http://127.0.0.1:8000"
    for wrong in ("maillage.example.fr", "ftp://x", "https://x/?a=1"):
        monkeypatch.setenv("MAILLAGE_BASE_URL", wrong)
        with pytest.raises(ImproperlyConfigured):
            base_url("MAILLAGE_BASE_URL", "http://127.0.0.1:8000")


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def request_log():
    handler = _Records()
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    yield handler.records
    logger.removeHandler(handler)


def test_refused_requests_are_logged_without_a_traceback(client, reader, request_log):
    client.force_login(reader)
    assert client.get("/etablissements/999999/").status_code == 404
    assert client.get("/journal/").status_code in (403, 404)
    assert len(request_log) == 2
    for record in request_log:
        assert record.levelno == logging.WARNING
        assert record.exc_info is None and record.exc_text is None
    formatted = logging.Formatter().format(request_log[0])
    assert "Traceback" not in formatted


def test_production_keeps_djangos_slow_password_hasher():
    """The suite hashes with MD5 for speed (tests/conftest.py); the settings themselves must keep
    Django's PBKDF2 first, so that real passwords are never stored with the test hasher."""
    hashers = getattr(production, "PASSWORD_HASHERS", global_settings.PASSWORD_HASHERS)
    assert hashers[0] == "django.contrib.auth.hashers.PBKDF2PasswordHasher"
