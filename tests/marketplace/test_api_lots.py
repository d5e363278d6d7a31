"""The API of the buyer's loop: per-lot responses with their versions, lot counters for the buyer
only, invitations from the match list (the buyer only)."""

from __future__ import annotations

import pytest

from maillage.accounts.tokens import create_token
from maillage.marketplace import services
from tests.directory.factories import ContactFactory

pytestmark = pytest.mark.django_db


def call(client, token, method, url, payload=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if method == "get":
        return client.get(f"/api{url}", headers=headers)
    return client.post(
        f"/api{url}", payload or {}, content_type="application/json", headers=headers
    )


def test_per_lot_responses_versions_and_lot_counters(client, market, make_need):
    u = market["users"]
    need = make_need(market["buyer"], u["buyer"], lots=[("Tournage", ""), ("Câblage", "")])
    services.publish(u["buyer"], need)
    t_mech, t_buyer, t_elec = (create_token(u[k], "t") for k in ("mech1", "buyer", "elec"))
    url = f"/needs/{need.pk}/responses"
    for text in ("Offre lot 2", "Offre lot 2 révisée"):
        r = call(
            client, t_mech, "post", url, {"supplier": market["mech1"].pk, "message": text, "lot": 2}
        )
        assert r.status_code == 201, r.content
    body = r.json()
    assert body["lot"] == 2
    assert [v["message"] for v in body["versions"]] == ["Offre lot 2", "Offre lot 2 révisée"]
    r = call(
        client, t_mech, "post", url, {"supplier": market["mech1"].pk, "message": "x", "lot": 3}
    )
    assert r.status_code == 400 and "pas de lot n° 3" in r.json()["detail"]
    listed = call(client, t_buyer, "get", url).json()
    assert [(x["lot"], len(x["versions"])) for x in listed] == [(2, 2)]
    lots = call(client, t_buyer, "get", f"/needs/{need.pk}").json()["lots"]
    assert [(lot["number"], lot["responses"]) for lot in lots] == [(1, 0), (2, 1)]
    # another company sees neither the response nor the lot counters
    assert call(client, t_elec, "get", url).json() == []
    lots = call(client, t_elec, "get", f"/needs/{need.pk}").json()["lots"]
    assert [lot["responses"] for lot in lots] == [None, None]


def test_invite_endpoint_is_the_buyers_only(client, market, make_need, make_establishment, profile):
    u = market["users"]
    shop = make_establishment(
        "77288", name="Tôlerie Sans Compte", naf="25.62B", latitude=48.54, longitude=2.66
    )
    profile(shop, "Usinage, tournage et fraisage de pièces mécaniques.", categories="mechanics")
    ContactFactory(establishment=shop, first_name="Inès", last_name="Roux", email="ines@t.test")
    need = make_need(market["buyer"], u["buyer"])
    services.publish(u["buyer"], need)
    assert need.matches.filter(supplier=shop, notified_at__isnull=True).exists()
    before = need.matches.filter(notified_at__isnull=False).count()
    url = f"/needs/{need.pk}/invite"
    for outsider in (u["mech1"], market["advisor78"], market["advisor77"]):
        r = call(client, create_token(outsider, "t"), "post", url, {"suppliers": [shop.pk]})
        assert r.status_code in (403, 404)
    assert call(client, None, "post", url, {"suppliers": [shop.pk]}).status_code == 401
    r = call(client, create_token(u["buyer"], "t"), "post", url, {"suppliers": [shop.pk]})
    assert r.status_code == 200, r.content
    assert r.json() == {"reached": 1, "unreachable": 0, "notified": before + 1}


def _need_body(market, lots):
    import datetime

    from django.utils import timezone

    return {
        "buyer": market["buyer"].pk,
        "theme": "purchasing",
        "kind": "service",
        "title": "Pièces et câblage",
        "description": "Deux lots.",
        "category": "mechanics",
        "closes_on": (timezone.localdate() + datetime.timedelta(days=10)).isoformat(),
        "lots": lots,
    }


def test_lot_category_by_code_or_french_label(client, market):
    token = create_token(market["users"]["buyer"], "t")
    lots = [
        {"title": "Tournage", "category": "mechanics"},
        {"title": "Câblage", "category": "ÉLECTRICITÉ, automatismes"},
        {"title": "Nettoyage", "category": "proprete"},
        {"title": "Divers"},
    ]
    r = call(client, token, "post", "/needs", _need_body(market, lots))
    assert r.status_code == 201, r.content
    assert [(lot["title"], lot["category"]) for lot in r.json()["lots"]] == [
        ("Tournage", "mechanics"),
        ("Câblage", "electricity"),
        ("Nettoyage", "cleaning"),
        ("Divers", ""),
    ]


def test_unknown_lot_category_is_a_french_422_with_the_allowed_values(client, market):
    from maillage.marketplace.models import Need

    token = create_token(market["users"]["buyer"], "t")
    body = _need_body(market, [{"title": "Plomberie", "category": "plomberie"}])
    r = call(client, token, "post", "/needs", body)
    assert r.status_code == 422
    errors = r.json()["detail"]
    (error,) = [e for e in errors if e["loc"][-1] == "category"]
    assert "Catégorie de lot « plomberie » inconnue" in error["msg"]
    assert "mechanics (mécanique, usinage, chaudronnerie)" in error["msg"]
    assert "electricity (électricité, automatismes)" in error["msg"]
    assert not Need.objects.exists()
