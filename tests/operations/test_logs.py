"""Structured logs: one JSON object per line, the request's id on every line written while
serving it, and no personal data (e-mail addresses removed, client addresses pseudonymised,
routes instead of paths and query strings)."""

from __future__ import annotations

import io
import json
import logging

import pytest

from maillage.config import logging as maillage_logging
from maillage.config.logging import logging_config, pseudonym, scrub


@pytest.fixture
def lines():
    """Records as the console handler of settings.LOGGING would write them, captured."""
    config = logging_config(level="INFO", fmt="json", request_level="INFO")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(maillage_logging.JsonLinesFormatter())
    handler.addFilter(maillage_logging.RequestContext())
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(config["root"]["level"])

    def read() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    yield read
    root.removeHandler(handler)
    root.setLevel(previous)


def test_scrub_removes_emails_and_pseudonymises_addresses():
    text = scrub("refus pour jean.dupont@cci-exemple.fr depuis 203.0.113.42 et 2001:db8::1")
    assert "jean.dupont" not in text and "cci-exemple.fr" not in text
    assert "203.0.113.42" not in text and "2001:db8::1" not in text
    assert "[email]" in text
    assert f"ip:{pseudonym('203.0.113.42')}" in text
    assert f"ip:{pseudonym('2001:db8::1')}" in text
    # Times, versions and the machine's own addresses are left alone.
    assert scrub("à 18:20:33, Django 5.2.1, sur 127.0.0.1:8000") == (
        "à 18:20:33, Django 5.2.1, sur 127.0.0.1:8000"
    )


def test_pseudonym_is_stable_and_keyed(settings):
    first = pseudonym("alice")
    assert first == pseudonym("alice") != pseudonym("bob")
    settings.SECRET_KEY = "another-key-" + "x" * 40
    assert pseudonym("alice") != first


@pytest.mark.django_db
def test_each_request_gets_one_json_line_with_its_id_and_route(client, lines):
    response = client.get(
        "/etablissements/?q=jean.dupont@cci-exemple.fr", HTTP_X_REQUEST_ID="proxy-42"
    )
    assert response["X-Request-ID"] == "proxy-42"
    (line,) = [r for r in lines() if r["logger"] == "maillage.request"]
    assert line["request_id"] == "proxy-42"
    assert line["method"] == "GET"
    assert line["route"] == "/etablissements/"
    assert line["status_code"] == 302
    assert isinstance(line["duration_ms"], float)
    assert "jean.dupont" not in json.dumps(lines())


@pytest.mark.django_db
def test_a_malformed_request_id_is_replaced(client, lines):
    response = client.get("/sante/", HTTP_X_REQUEST_ID="<script>alert(1)</script>")
    assert response["X-Request-ID"] != "<script>alert(1)</script>"
    assert len(response["X-Request-ID"]) == 32
    assert lines()[-1]["request_id"] == response["X-Request-ID"]


@pytest.mark.django_db
def test_refused_requests_are_logged_with_the_request_id(client, lines):
    response = client.get("/pas-de-page-ici/")
    assert response.status_code == 404
    refused = [r for r in lines() if r["logger"] == "django.request"]
    assert refused and refused[0]["request_id"] == response["X-Request-ID"]
    assert refused[0]["status_code"] == 404
    assert "request" not in refused[0]  # Django's request object (with its query) is left out


def test_tracebacks_are_scrubbed(lines):
    try:
        raise ValueError("doublon pour marie.curie@labo.example")
    except ValueError:
        logging.getLogger("maillage.test").exception("échec de l'import")
    (line,) = lines()
    assert line["level"] == "ERROR"
    assert "ValueError" in line["exc"]
    assert "marie.curie" not in json.dumps(line)
    assert "request_id" not in line  # outside a request


@pytest.mark.django_db
def test_failed_logins_name_neither_the_user_nor_the_address(client, make_user, lines):
    make_user("advisor-77", role="ADVISOR")
    client.post(
        "/comptes/login/",
        {"username": "advisor-77", "password": "mauvais"},
        REMOTE_ADDR="198.51.100.7",
    )
    text = json.dumps(lines())
    assert "axes" in text  # django-axes did log the failure
    assert "advisor-77" not in text
    assert "198.51.100.7" not in text
    assert pseudonym("advisor-77") in text
