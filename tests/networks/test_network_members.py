"""Network member management by animators: search by name or SIRET, add, remove, members'
contacts, « Créer un événement » from the network, the participants export; and who may not."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from maillage.accounts.models import User
from maillage.events import services
from maillage.networks.models import Membership
from tests.directory.factories import ContactFactory
from tests.events.conftest import answers as _answers
from tests.networks.factories import MembershipFactory, NetworkFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def club(territory, make_user, make_establishment):
    c77, _c91, c78 = territory["chambers"]
    club = NetworkFactory(name="Club de la Brie", chamber=c77)
    animator = make_user("animateur", User.Role.ANIMATOR)
    club.animators.add(animator)
    other_club = NetworkFactory(name="Club des Yvelines", chamber=c78)
    other_animator = make_user("autre.animateur", User.Role.ANIMATOR)
    other_club.animators.add(other_animator)
    candidate = make_establishment("77288", name="Scierie de la Brie")
    ContactFactory(
        establishment=candidate, first_name="Léa", last_name="Bois", email="lea@scierie.test"
    )
    return {
        **territory,
        "club": club,
        "animator": animator,
        "other_animator": other_animator,
        "candidate": candidate,
    }


def test_animator_searches_adds_sees_contacts_and_removes(client, club):
    network, candidate = club["club"], club["candidate"]
    url = reverse("network-members", args=[network.pk])
    client.force_login(club["animator"])
    html = client.get(url, {"q": "scierie"}).content.decode()
    assert "Scierie de la Brie" in html and candidate.siret in html
    # By SIRET too, spaces allowed; an establishment of another chamber's territory is not offered.
    html = client.get(url, {"q": f"{candidate.siret[:3]} {candidate.siret[3:9]}"}).content.decode()
    assert "Scierie de la Brie" in html
    html78 = client.get(url, {"q": club["e78"].name}).content.decode()
    assert "Aucun établissement trouvé sur le territoire du réseau." in html78
    # Contacts are not shown before membership.
    assert "lea@scierie.test" not in html
    r = client.post(
        reverse("network-member-add", args=[network.pk]),
        {"establishment": candidate.pk, "q": "scierie"},
        follow=True,
    )
    html = r.content.decode()
    assert "Scierie de la Brie est maintenant membre du réseau." in html
    assert "lea@scierie.test" in html and "déjà membre" in html
    assert Membership.objects.filter(network=network, establishment=candidate).exists()
    # Adding twice: a French message, nothing duplicated.
    r = client.post(
        reverse("network-member-add", args=[network.pk]),
        {"establishment": candidate.pk},
        follow=True,
    )
    assert "est déjà membre du réseau" in r.content.decode()
    # Outside the territory: refused with a French message.
    r = client.post(
        reverse("network-member-add", args=[network.pk]),
        {"establishment": club["e78"].pk},
        follow=True,
    )
    assert "hors du territoire du réseau" in r.content.decode()
    assert Membership.objects.filter(network=network).count() == 1
    r = client.post(reverse("network-member-remove", args=[network.pk, candidate.pk]), follow=True)
    assert "Scierie de la Brie ne fait plus partie du réseau." in r.content.decode()
    assert not Membership.objects.filter(network=network).exists()


def test_member_management_refused_to_others(client, club):
    network, candidate = club["club"], club["candidate"]
    MembershipFactory(establishment=club["e77"], network=network, since="2020-01-01")
    urls = [
        ("get", reverse("network-members", args=[network.pk]), {"q": "scierie"}),
        ("post", reverse("network-member-add", args=[network.pk]), {"establishment": candidate.pk}),
        ("post", reverse("network-member-remove", args=[network.pk, club["e77"].pk]), {}),
    ]
    # A member company (sees the space, not the management): 403; the others: 404.
    expected = {"company77": 403, "other_animator": 404, "advisor78": 404, "company78": 404}
    for who, status in expected.items():
        client.force_login(club[who])
        for method, url, data in urls:
            r = getattr(client, method)(url, data)
            assert r.status_code == status, (who, url)
            assert "lea@" not in r.content.decode()
    client.logout()
    for method, url, data in urls:
        r = getattr(client, method)(url, data)
        assert r.status_code == 302 and "/comptes/login/" in r["Location"]
    assert list(
        Membership.objects.filter(network=network).values_list("establishment", flat=True)
    ) == [club["e77"].pk]
    # The chamber's own advisor manages its club.
    client.force_login(club["advisor77"])
    assert client.get(urls[0][1]).status_code == 200


def test_create_event_link_preselects_the_network(client, club):
    network = club["club"]
    client.force_login(club["animator"])
    assert (
        reverse("network-members", args=[network.pk])
        in client.get(reverse("network-space", args=[network.pk])).content.decode()
    )
    html = client.get(reverse("event-list")).content.decode()
    assert "Créer un événement" in html
    html = client.get(reverse("event-create"), {"network": network.pk}).content.decode()
    assert f'<option value="{network.pk}" selected>' in html
    client.force_login(club["company77"])
    assert "Créer un événement" not in client.get(reverse("event-list")).content.decode()


def test_participants_export_csv_and_xlsx_for_organisers_only(client, world):
    event = world["event"]
    services.register(world["company77"], event, world["e77"], _answers(event))
    client.force_login(world["advisor77"])
    assert (
        "participants.csv"
        in client.get(reverse("event-organise", args=[event.pk])).content.decode()
    )
    r = client.get(reverse("event-participants-export", args=[event.pk, "csv"]))
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["Entreprise", "SIRET", "Commune"] and rows[0][-1] == "Régime alimentaire"
    assert rows[1][0] == world["e77"].name and rows[1][-1] == "végétarien"
    r = client.get(reverse("event-participants-export", args=[event.pk, "xlsx"]))
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet.cell(2, 1).value == world["e77"].name
    assert (
        client.get(reverse("event-participants-export", args=[event.pk, "pdf"])).status_code == 404
    )
    for who in ("advisor78", "company77", "company_b"):
        client.force_login(world[who])
        r = client.get(reverse("event-participants-export", args=[event.pk, "csv"]))
        assert r.status_code in (403, 404)
    client.logout()
    r = client.get(reverse("event-participants-export", args=[event.pk, "csv"]))
    assert r.status_code == 302
