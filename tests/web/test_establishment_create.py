"""« Ajouter un établissement »: chamber staff add one in their own territory, typing the NAF and
the commune by name (no JavaScript needed); another chamber's advisor, a company and an anonymous
visitor cannot."""

from __future__ import annotations

import pytest
from django.urls import reverse

from maillage.accounts.models import AuditLog
from maillage.directory.models import Establishment
from tests.factories import make_siret

pytestmark = pytest.mark.django_db


def _values(**kw):
    return {
        "siret": make_siret(),
        "name": "Scierie de Melun-Nord",
        "naf": "scierie",
        "commune": "Melun",
        "headcount_band": "12",
        "address": "1 quai du Port",
        **kw,
    }


def test_advisor_adds_an_establishment_by_names(client, territory):
    client.force_login(territory["advisor77"])
    values = _values()
    response = client.post(reverse("establishment-create"), values)
    saved = Establishment.objects.get(siret=values["siret"])
    assert response.status_code == 302 and response.url == f"/etablissements/{saved.pk}/"
    assert (saved.naf_id, saved.commune_id) == ("16.10A", "77288")
    assert AuditLog.objects.filter(establishment=saved, user=territory["advisor77"]).exists()
    page = client.get(response.url).content.decode()
    assert "16.10A — Sciage et rabotage du bois" in page and "Melun" in page


def test_ambiguous_names_and_duplicates_are_explained_in_french(client, territory):
    client.force_login(territory["advisor77"])
    page = client.post(
        reverse("establishment-create"), _values(naf="bois", commune="Saint-Denis")
    ).content.decode()
    assert "Plusieurs activités correspondent à « bois »" in page
    assert "Plusieurs communes correspondent à « Saint-Denis »" in page
    taken = _values(commune="77288", siret=territory["e77"].siret)
    page = client.post(reverse("establishment-create"), taken).content.decode()
    assert "Un établissement porte déjà ce SIRET." in page
    assert Establishment.objects.count() == 3


def test_another_chambers_territory_is_refused(client, territory):
    client.force_login(territory["advisor78"])
    values = _values()  # Melun is the 77 chamber's
    page = client.post(reverse("establishment-create"), values).content.decode()
    assert "pas sur le territoire de votre chambre" in page
    assert not Establishment.objects.filter(siret=values["siret"]).exists()


def test_companies_and_anonymous_visitors_cannot_add(client, territory):
    assert client.get(reverse("establishment-create")).status_code == 302
    response = client.post(reverse("establishment-create"), _values())
    assert response.status_code == 302 and "/comptes/login/" in response.url
    client.force_login(territory["company77"])
    assert client.get(reverse("establishment-create")).status_code == 403
    assert client.post(reverse("establishment-create"), _values()).status_code == 403
    assert Establishment.objects.count() == 3


def test_search_understands_a_picked_suggestion_and_activity_words(client, territory):
    client.force_login(territory["advisor77"])
    url = reverse("establishment-search")
    picked = client.get(url, {"naf": "16.10A — Sciage et rabotage du bois, hors imprégnation"})
    assert "Scierie de Melun-Test" in picked.content.decode()
    by_words = client.get(url, {"naf": "scierie", "commune": "Melun (77288)"}).content.decode()
    assert "Scierie de Melun-Test" in by_words
    assert "Chaufferie" not in client.get(url, {"naf": "scierie"}).content.decode()
