"""Advisor workspace: establishment search (filters, htmx, pagination, constant queries), the
establishment page's sections and the establishment edit form, with their permissions."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.directory.factories import ContactFactory
from tests.flows.factories import VisitFactory
from tests.pages import html_of

pytestmark = pytest.mark.django_db

SEARCH = reverse("establishment-search")


def test_search_by_name_siret_naf_commune_epci_and_visit(client, territory):
    e77 = territory["e77"]
    client.force_login(territory["advisor77"])
    html = html_of(client.get(SEARCH))
    # own chamber and the partner chamber's establishments, never another chamber's
    assert "Scierie de Melun-Test" in html and "Chaufferie d&#x27;Évry-Test" in html
    assert "Boulangerie de Versailles-Test" not in html
    assert "Chaufferie" not in html_of(client.get(SEARCH, {"q": "melun"}))
    assert "Scierie de Melun-Test" in html_of(client.get(SEARCH, {"q": e77.siret[:9]}))
    by_naf = html_of(client.get(SEARCH, {"naf": "3530"}))
    assert "Chaufferie" in by_naf and "Scierie de Melun" not in by_naf
    by_commune = html_of(client.get(SEARCH, {"commune": "77288"}))
    assert "Scierie de Melun-Test" in by_commune and "Chaufferie" not in by_commune
    assert "Scierie de Melun-Test" in html_of(client.get(SEARCH, {"commune": "melun"}))
    epci = e77.commune.epci
    by_epci = html_of(client.get(SEARCH, {"epci": epci.code}))
    assert "Scierie de Melun-Test" in by_epci and "Chaufferie" not in by_epci
    assert "Aucun établissement" in html_of(client.get(SEARCH, {"visite": "oui"}))
    VisitFactory(establishment=e77, advisor=territory["advisor77"], date=datetime.date(2025, 3, 4))
    visited = html_of(client.get(SEARCH, {"visite": "oui"}))
    assert "Scierie de Melun-Test" in visited and "04/03/2025" in visited
    assert "Chaufferie" not in visited
    assert "Scierie de Melun" not in html_of(client.get(SEARCH, {"visite": "non"}))


def test_search_htmx_returns_the_table_only(client, territory):
    client.force_login(territory["advisor77"])
    html = html_of(client.get(SEARCH, {"q": "Scierie"}, headers={"HX-Request": "true"}))
    assert "<html" not in html and "Scierie de Melun-Test" in html


@pytest.mark.parametrize("who", ["company77", "company78"])
def test_search_is_for_chamber_staff_only(client, territory, who):
    client.force_login(territory[who])
    assert client.get(SEARCH).status_code == 403
    client.logout()
    response = client.get(SEARCH)
    assert response.status_code == 302 and "/comptes/login/" in response.url


def test_search_pages_in_constant_queries(client, territory, make_establishment):
    client.force_login(territory["advisor77"])

    def count(n):
        for i in range(n):
            e = make_establishment("77288", name=f"Atelier {n}-{i}")
            VisitFactory(
                establishment=e, advisor=territory["advisor77"], date=datetime.date(2025, 1, 2)
            )
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(SEARCH, {"q": "Atelier"}).status_code == 200
        return len(ctx.captured_queries)

    assert count(2) == count(20)
    html = html_of(client.get(SEARCH, {"q": "Atelier"}))
    assert "page 1 sur 1" in html
    for i in range(10):
        make_establishment("77288", name=f"Atelier x-{i}")
    assert "page 2 sur 2" in html_of(client.get(SEARCH, {"q": "Atelier", "page": 2}))


def test_establishment_page_shows_contacts_visits_and_actions(client, territory):
    e77 = territory["e77"]
    ContactFactory(
        establishment=e77, first_name="Anne", last_name="Durand", email="anne@scierie.test"
    )
    VisitFactory(establishment=e77, advisor=territory["advisor77"], date=datetime.date(2025, 5, 6))
    client.force_login(territory["advisor77"])
    html = html_of(client.get(reverse("establishment-detail", args=[e77.pk])))
    assert "anne@scierie.test" in html and "06/05/2025" in html
    assert reverse("visit-create", args=[e77.pk]) in html
    # a partner chamber's advisor reads, but does not record visits
    client.force_login(territory["advisor91"])
    html = html_of(client.get(reverse("establishment-detail", args=[e77.pk])))
    assert "06/05/2025" in html and reverse("visit-create", args=[e77.pk]) not in html
    for who in ("advisor78", "company78"):
        client.force_login(territory[who])
        response = client.get(reverse("establishment-detail", args=[e77.pk]))
        assert response.status_code == 404 and "anne@scierie.test" not in response.content.decode()


def test_company_edits_its_establishment(client, territory):
    e77 = territory["e77"]
    url = reverse("establishment-edit", args=[e77.pk])
    client.force_login(territory["company77"])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {"name": "Scierie Nouvelle", "naf": "1610a", "headcount_band": "12", "address": "1 rue"},
    )
    assert response.status_code == 302
    e77.refresh_from_db()
    assert e77.name == "Scierie Nouvelle" and e77.naf_id == "16.10A" and e77.address == "1 rue"
    bad = client.post(url, {"name": "X", "naf": "99.99Q", "headcount_band": "12"})
    assert bad.status_code == 200 and "Code NAF « 99.99Q » inconnu" in html_of(bad)
    e77.refresh_from_db()
    assert e77.name == "Scierie Nouvelle"


@pytest.mark.parametrize("who,status", [("company78", 404), ("advisor78", 404), ("advisor91", 403)])
def test_others_cannot_edit_the_establishment(client, territory, who, status):
    e77 = territory["e77"]
    client.force_login(territory[who])
    url = reverse("establishment-edit", args=[e77.pk])
    assert client.get(url).status_code == status
    assert (
        client.post(url, {"name": "Pirate", "naf": "16.10A", "headcount_band": "12"}).status_code
        == status
    )
    e77.refresh_from_db()
    assert e77.name == "Scierie de Melun-Test"
    client.logout()
    assert client.post(url, {"name": "Pirate"}).status_code == 302
