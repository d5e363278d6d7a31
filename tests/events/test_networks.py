"""Networks' members' space: members and animators only; statistics suppress small groups."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from maillage.accounts.models import User
from maillage.directory.models import Membership, Network
from maillage.events.models import NetworkDocument, NetworkPost
from maillage.events.selectors import network_statistics

pytestmark = pytest.mark.django_db


@pytest.fixture
def club(territory, make_user, make_establishment, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    federation = Network.objects.create(name="Fédération test", kind=Network.Kind.FEDERATION)
    club = Network.objects.create(
        name="Club test", federation=federation, chamber=territory["chambers"][0]
    )
    members = [territory["e77"]] + [
        make_establishment("77288", name=f"Membre {i}", naf="38.11Z") for i in range(6)
    ]
    for e in members:
        Membership.objects.create(establishment=e, network=club, since=datetime.date(2020, 1, 1))
    animator = make_user("anim", User.Role.ANIMATOR)
    club.animators.add(animator)
    return {**territory, "club": club, "federation": federation, "animator": animator}


def test_members_and_animators_only(client, club):
    network = club["club"]
    url = reverse("network-space", args=[network.pk])
    r = client.get(url)
    assert r.status_code == 302 and "/comptes/login/" in r.url
    for who in ("company78", "advisor78", "advisor77", "admin78"):
        client.force_login(club[who])
        assert client.get(url).status_code == 404, who
        assert (
            client.post(
                reverse("network-post", args=[network.pk]), {"title": "x", "body": "y"}
            ).status_code
            == 404
        )
    client.force_login(club["company77"])
    html = client.get(url).content.decode()
    assert "Membre 3" in html and "Scierie de Melun-Test" in html
    # A member of a club enters the federation's space too.
    assert client.get(reverse("network-space", args=[club["federation"].pk])).status_code == 200
    # Members read but do not publish.
    assert (
        client.post(
            reverse("network-post", args=[network.pk]), {"title": "x", "body": "y"}
        ).status_code
        == 403
    )
    assert not NetworkPost.objects.exists()


def test_animator_publishes_news_and_documents(client, club):
    network = club["club"]
    client.force_login(club["animator"])
    client.post(
        reverse("network-post", args=[network.pk]), {"title": "Visite d'usine", "body": "Jeudi."}
    )
    client.post(
        reverse("network-document", args=[network.pk]),
        {"title": "Charte", "file": SimpleUploadedFile("charte.txt", b"charte du club")},
    )
    doc = NetworkDocument.objects.get()
    client.force_login(club["company77"])
    html = client.get(reverse("network-space", args=[network.pk])).content.decode()
    assert "Visite d&#x27;usine" in html and "Charte" in html
    download = reverse("network-document-download", args=[network.pk, doc.pk])
    assert b"".join(client.get(download).streaming_content) == b"charte du club"
    client.force_login(club["company78"])
    assert client.get(download).status_code == 404


def test_statistics_suppress_small_groups(club):
    stats = network_statistics(club["club"])
    assert stats["total"] == 7
    # Six waste-collection members are shown; the lone sawmill is not (not even as « autres »).
    assert [n for _label, n in stats["by_section"]] == [6]
    assert stats["by_departement"] == [("Seine-et-Marne", 7)]


def test_space_queries_do_not_grow_with_members(client, club, django_assert_max_num_queries):
    client.force_login(club["company77"])
    url = reverse("network-space", args=[club["club"].pk])
    with django_assert_max_num_queries(20):
        assert client.get(url).status_code == 200
    with django_assert_max_num_queries(8):
        assert client.get(reverse("network-list")).status_code == 200
