"""Networks' members' space: members and animators only; statistics suppress small groups."""

from __future__ import annotations

import datetime
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from maillage.accounts.models import User
from maillage.networks.models import Network, NetworkDocument, NetworkPost
from maillage.networks.selectors import network_statistics
from tests.networks.factories import MembershipFactory, NetworkFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def club(territory, make_user, make_establishment, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    federation = NetworkFactory(name="Fédération test", kind=Network.Kind.FEDERATION)
    club = NetworkFactory(name="Club test", federation=federation, chamber=territory["chambers"][0])
    members = [territory["e77"]] + [
        make_establishment("77288", name=f"Membre {i}", naf="38.11Z") for i in range(6)
    ]
    for e in members:
        MembershipFactory(establishment=e, network=club, since=datetime.date(2020, 1, 1))
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


def _locate(establishments):
    for i, e in enumerate(establishments):
        e.latitude, e.longitude = 48.5 + i / 100, 2.6 + i / 100
        e.save(update_fields=["latitude", "longitude"])


def test_network_map_members_and_animators_only(client, club, make_user, make_establishment):
    network = club["club"]
    members = list(network.memberships.select_related("establishment"))
    _locate([m.establishment for m in members])
    url = reverse("network-map", args=[network.pk])
    assert client.get(url).status_code == 404  # anonymous
    other_club = NetworkFactory(name="Autre club")
    outsider_est = make_establishment("78646", name="Autre membre")
    MembershipFactory(
        establishment=outsider_est, network=other_club, since=datetime.date(2020, 1, 1)
    )
    other_member = make_user("other-member", User.Role.COMPANY, establishments=[outsider_est])
    for who in (other_member, club["company78"], club["advisor78"], club["advisor77"]):
        client.force_login(who)
        assert client.get(url).status_code == 404, who
    for who in (club["company77"], club["animator"]):
        client.force_login(who)
        layer = client.get(url).json()
        assert layer["type"] == "FeatureCollection" and layer["meta"]["count"] == 7
        names = {f["properties"]["name"] for f in layer["features"]}
        assert "Scierie de Melun-Test" in names and "Membre 5" in names
        # Identity and position only: no flows, quantities, SIRET or contacts.
        assert set(layer["features"][0]["properties"]) == {"id", "name", "commune", "activity"}
        assert club["e77"].siret not in json.dumps(layer)
    # The federation's map shows its clubs' members to a member of a club.
    client.force_login(club["company77"])
    federation = client.get(reverse("network-map", args=[club["federation"].pk])).json()
    assert federation["meta"]["count"] == 7
    # The page itself carries the map (the atlas' assets, the policy-checked layer).
    html = client.get(reverse("network-space", args=[network.pk])).content.decode()
    assert 'id="network-map"' in html and "leaflet.markercluster.js" in html and url in html


def test_network_map_query_count_is_constant(client, club, make_establishment):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    network = club["club"]
    url = reverse("network-map", args=[network.pk])
    client.force_login(club["company77"])
    _locate([m.establishment for m in network.memberships.select_related("establishment")])
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).json()["meta"]["count"] == 7
    extra = [make_establishment("77288", name=f"Nouveau {i}") for i in range(20)]
    _locate(extra)
    for e in extra:
        MembershipFactory(establishment=e, network=network, since=datetime.date(2021, 1, 1))
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).json()["meta"]["count"] == 27
    assert len(many) == len(few) <= 8
