"""Who may export and erase whose data: another chamber's advisor or administrator, a partner
chamber, another company, the establishment's own company and an anonymous visitor cannot."""

from __future__ import annotations

import pytest

from maillage.accounts.models import User
from maillage.directory.models import Contact
from tests.factories import SuperuserFactory

pytestmark = pytest.mark.django_db

OUTSIDERS_OF_THE_CONTACT = ["advisor91", "advisor78", "admin78", "company77", "company78"]
OUTSIDERS_OF_THE_USER = ["advisor77", "advisor91", "advisor78", "admin78", "company78"]


def _contact_urls(contact):
    base = f"/donnees-personnelles/contacts/{contact.pk}"
    return [f"{base}/export/", f"{base}/effacement/"]


def _user_urls(user):
    base = f"/donnees-personnelles/utilisateurs/{user.pk}"
    return [f"{base}/export/", f"{base}/effacement/"]


@pytest.mark.parametrize("who", OUTSIDERS_OF_THE_CONTACT)
def test_outsiders_can_neither_export_nor_erase_a_contact(client, people, who):
    contact = people["contact"]
    client.force_login(people[who])
    for url in _contact_urls(contact):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"confirm": "on"}).status_code == 404, url
    assert Contact.objects.filter(pk=contact.pk).exists()


@pytest.mark.parametrize("who", ["advisor77", "admin77"])
def test_the_chamber_staff_may_export_and_erase_a_contact(client, people, who):
    client.force_login(people[who])
    for url in _contact_urls(people["contact"]):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("who", OUTSIDERS_OF_THE_USER)
def test_outsiders_can_neither_export_nor_erase_a_user(client, people, who):
    company = people["company"]
    client.force_login(people[who])
    for url in _user_urls(company):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"confirm": "on"}).status_code == 404, url
    assert User.objects.get(pk=company.pk).is_active


def test_a_chamber_administrator_cannot_erase_platform_staff_or_themselves(client, people):
    admin77 = people["admin77"]
    boss = SuperuserFactory(username="boss", email="boss@example.test")
    boss.chamber = people["chambers"][0]
    boss.save()
    client.force_login(admin77)
    for subject in (boss, admin77):
        for url in _user_urls(subject):
            assert client.get(url).status_code == 404, url


def test_the_user_list_is_for_chamber_administrators(client, people):
    client.force_login(people["admin77"])
    page = client.get("/donnees-personnelles/utilisateurs/")
    assert page.status_code == 200
    names = page.content.decode()
    assert "co77" in names and "adv77" in names
    assert "co78" not in names and "adm78" not in names and "adv91" not in names
    for who in ("advisor77", "company77"):
        client.force_login(people[who])
        assert client.get("/donnees-personnelles/utilisateurs/").status_code == 403


def test_anonymous_visitors_are_sent_to_the_login_page(client, people):
    urls = [
        "/donnees-personnelles/mes-donnees/",
        "/donnees-personnelles/mes-donnees/export/",
        "/donnees-personnelles/mes-donnees/effacement/",
        "/donnees-personnelles/utilisateurs/",
        *_user_urls(people["company"]),
        *_contact_urls(people["contact"]),
    ]
    for url in urls:
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            assert response.status_code == 302, (method, url)
            assert response["Location"].startswith("/comptes/login/"), url
    assert Contact.objects.filter(pk=people["contact"].pk).exists()


def test_own_export_shows_only_ones_own_data(client, people):
    client.force_login(people["company78"])
    body = client.get("/donnees-personnelles/mes-donnees/export/").content.decode()
    assert "co78" in body
    assert "lea@scierie.test" not in body and "anne.martin" not in body


def test_platform_staff_do_not_erase_their_own_account_themselves(client, people):
    boss = SuperuserFactory(username="boss", email="boss@example.test")
    client.force_login(boss)
    url = "/donnees-personnelles/mes-donnees/effacement/"
    assert client.get(url).status_code == 403
    assert client.post(url, {"confirm": "on", "password": "pw-test-123"}).status_code == 403
    assert User.objects.get(pk=boss.pk).is_active
