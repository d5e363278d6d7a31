"""A NUL byte (``%00``) in a search or in rejected form input gets an ordinary answer, never a 500:
PostgreSQL text cannot hold it, so it must not reach a query (found by bench/bad_input.py; on
SQLite these requests passed already, on PostgreSQL they were 500s)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from maillage.directory.models import Establishment
from maillage.flows.models import Flow
from tests.networks.factories import NetworkFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def advisor(territory):
    client = Client(raise_request_exception=True)
    client.force_login(territory["advisor77"])
    return client


def test_searches_ignore_nul(advisor, territory):
    assert advisor.get("/marche/", {"q": "acier\x00", "theme": "\x00"}).status_code == 200
    r = advisor.get(reverse("options-waste-codes"), {"q": "\x00"})
    assert r.status_code == 200
    network = NetworkFactory(name="Club NUL", chamber=territory["chambers"][0])
    r = advisor.get(reverse("network-members", args=[network.pk]), {"q": "sc\x00ie"})
    assert r.status_code == 200


def test_establishment_form_with_nul_is_refused_in_french(advisor, territory):
    e77 = territory["e77"]
    r = advisor.post(
        reverse("establishment-edit", args=[e77.pk]),
        {"siret": e77.siret, "name": "Scierie", "naf": "16\x00", "commune": "7728\x00"},
    )
    assert r.status_code == 200
    assert "Le caractère nul n’est pas autorisé." in r.content.decode()
    e77.refresh_from_db()
    assert e77.name == "Scierie de Melun-Test"
    assert Establishment.objects.count() == 3


def test_flow_form_with_nul_resource_class_is_refused(advisor, territory):
    r = advisor.post(
        reverse("flow-create", args=[territory["e77"].pk]),
        {"direction": "offer", "category": "waste", "resource_class": "\x00", "quantity": "1",
         "unit": "t", "period": "year"},
    )  # fmt: skip
    assert r.status_code == 200
    assert not Flow.objects.exists()


def test_api_path_matching_no_operation_gets_json_404(advisor):
    r = advisor.get("/api/needs/=HYPERLINK(x)/nulle-part")
    assert r.status_code == 404 and r.json() == {"detail": "Introuvable."}
    assert "Page introuvable" in advisor.get("/nulle-part/").content.decode()
