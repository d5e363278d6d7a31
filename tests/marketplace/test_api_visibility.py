"""The needs API follows the web's access policy: a chamber's needs for the users of that
chamber, a network's needs for its members, one's own needs (drafts too); never for another
chamber's advisor, a company outside the audience or an anonymous visitor — on the list, the
detail, the responses and every action."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from maillage.accounts.tokens import create_token
from maillage.networks.models import Network
from tests.networks.factories import MembershipFactory, NetworkFactory

pytestmark = pytest.mark.django_db


def api(client, user, method, url, payload=None):
    headers = {"Authorization": f"Bearer {create_token(user, 't')}"} if user else {}
    if method == "get":
        return client.get(f"/api{url}", headers=headers)
    return client.post(
        f"/api{url}", payload or {}, content_type="application/json", headers=headers
    )


def body(market, **kw):
    return {
        "buyer": market["buyer"].pk,
        "theme": "purchasing",
        "kind": "service",
        "title": kw.pop("title", "Tournage de bagues"),
        "description": "Bagues en bronze, tournage et fraisage.",
        "category": "mechanics",
        "closes_on": (timezone.localdate() + datetime.timedelta(days=10)).isoformat(),
        **kw,
    }


@pytest.fixture
def club(market):
    """A club of the 77 chamber with the electrician and the far (78) machining shop."""
    club = NetworkFactory(name="Club des industriels", chamber=market["chambers"][0])
    for e in (market["elec"], market["far"]):
        MembershipFactory(establishment=e, network=club, since="2024-01-01")
    return club


@pytest.fixture
def needs(client, market, club):
    """Published through the API: one need for the 77 chamber, one for the club; one draft."""
    buyer = market["users"]["buyer"]
    made = {}
    for key, extra in {
        "chamber": {"visibility": "chamber", "visibility_chamber": market["chambers"][0].pk},
        "network": {"visibility": "network", "visibility_network": club.pk},
    }.items():
        r = api(client, buyer, "post", "/needs", body(market, title=f"Besoin {key}", **extra))
        assert r.status_code == 201, r.content
        assert r.json()["visibility"] == key
        made[key] = r.json()["id"]
        assert api(client, buyer, "post", f"/needs/{made[key]}/publish").status_code == 200
    r = api(client, buyer, "post", "/needs", body(market, title="Besoin brouillon"))
    made["draft"] = r.json()["id"]
    return made


def listed(client, user) -> set[str]:
    r = api(client, user, "get", "/needs")
    assert r.status_code == 200
    return {n["title"] for n in r.json()["items"]}


def test_each_audience_sees_its_needs(client, market, needs):
    u = market["users"]
    # Users of the chamber's territory (companies and advisor) see the chamber's need.
    for user in (u["mech1"], u["mech2"], u["elec"], market["advisor77"]):
        assert "Besoin chamber" in listed(client, user)
        assert api(client, user, "get", f"/needs/{needs['chamber']}").status_code == 200
    # The club's members see the club's need, even from another chamber (far is in 78).
    for user in (u["elec"], u["far"]):
        assert "Besoin network" in listed(client, user)
        assert api(client, user, "get", f"/needs/{needs['network']}").status_code == 200
    # The buyer sees its own needs, the draft too (and only it, among the users, sees the draft).
    assert listed(client, u["buyer"]) >= {"Besoin chamber", "Besoin network"}
    r = api(client, u["buyer"], "get", "/needs?mine=true")
    assert {n["title"] for n in r.json()["items"]} == {
        "Besoin chamber",
        "Besoin network",
        "Besoin brouillon",
    }
    # A club member responds through the API to the club's need.
    r = api(
        client,
        u["far"],
        "post",
        f"/needs/{needs['network']}/responses",
        {"supplier": market["far"].pk, "message": "Disponible"},
    )
    assert r.status_code == 201
    assert [
        x["message"]
        for x in api(client, u["far"], "get", f"/needs/{needs['network']}/responses").json()
    ] == ["Disponible"]


OUTSIDERS = {
    # who → the needs they must not see
    "advisor78": ("chamber", "network", "draft"),
    "company78": ("chamber", "network", "draft"),
    "far": ("chamber", "draft"),  # a 78 company: member of the club only
    "mech1": ("network", "draft"),  # a 77 company outside the club
}


@pytest.mark.parametrize("who", sorted(OUTSIDERS))
def test_outsiders_see_nothing_of_other_audiences(client, market, needs, who):
    user = market["users"][who] if who in market["users"] else market[who]
    titles = listed(client, user)

    for key in OUTSIDERS[who]:
        need_id = needs[key]
        assert f"Besoin {key}" not in titles
        for url in (f"/needs/{need_id}", f"/needs/{need_id}/responses"):
            assert api(client, user, "get", url).status_code == 404, url
        for url, payload in (
            (f"/needs/{need_id}/publish", None),
            (f"/needs/{need_id}/close", {"winner": None}),
            (f"/needs/{need_id}/responses", {"supplier": 1, "message": "x"}),
        ):
            assert api(client, user, "post", url, payload).status_code == 404, url
        # The web agrees with the API.
        client.force_login(user)
        page = client.get(reverse("marketplace:need-detail", args=[need_id]))
        assert page.status_code == 404
        client.logout()


def test_anonymous_gets_401_everywhere(client, needs):
    for need_id in needs.values():
        for url in ("/needs", f"/needs/{need_id}", f"/needs/{need_id}/responses"):
            r = api(client, None, "get", url)
            assert r.status_code == 401 and "Besoin" not in r.content.decode()
        assert api(client, None, "post", f"/needs/{need_id}/publish").status_code == 401


def test_bad_visibility_gets_a_french_error_and_creates_nothing(client, market):
    from maillage.marketplace.models import Need

    buyer = market["users"]["buyer"]
    r = api(client, buyer, "post", "/needs", body(market, visibility="chamber"))
    assert r.status_code == 400 and "Choisissez la chambre" in r.json()["detail"]
    r = api(
        client,
        buyer,
        "post",
        "/needs",
        body(market, visibility="network", visibility_network=999999),
    )
    assert r.status_code == 400 and "Réseau inconnu" in r.json()["detail"]
    assert not Need.objects.exists()


def test_a_federation_need_reaches_its_clubs_members(client, market, club):
    """As for a network's members' space, the members of a federation's clubs are its members:
    they see its needs and are its matching candidates; a company outside it is not."""
    from maillage.marketplace import selectors
    from maillage.marketplace.models import Need

    fed = NetworkFactory(name="Fédération régionale", kind=Network.Kind.FEDERATION)
    club.federation = fed
    club.save()
    buyer = market["users"]["buyer"]
    r = api(
        client,
        buyer,
        "post",
        "/needs",
        body(market, title="Besoin fédération", visibility="network", visibility_network=fed.pk),
    )
    need_id = r.json()["id"]
    assert api(client, buyer, "post", f"/needs/{need_id}/publish").status_code == 200
    for key in ("elec", "far"):
        assert "Besoin fédération" in listed(client, market["users"][key])
        assert api(client, market["users"][key], "get", f"/needs/{need_id}").status_code == 200
    for user in (market["users"]["mech1"], market["company78"], market["advisor78"]):
        assert "Besoin fédération" not in listed(client, user)
        assert api(client, user, "get", f"/needs/{need_id}").status_code == 404
    # Matching considers exactly the federation's audience.
    need = Need.objects.get(pk=need_id)
    candidates = selectors.candidate_profiles(need).values_list("establishment__name", flat=True)
    assert set(candidates) == {"Électricité Melunaise", "Tournage Versaillais"}
    assert Need.objects.get(pk=need_id).visibility_network == fed
