"""The marketplace API: same policy as the web (tokens act as their user)."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from maillage.accounts.tokens import create_token

pytestmark = pytest.mark.django_db


def call(client, token, method, url, payload=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if method == "get":
        return client.get(f"/api{url}", headers=headers)
    return client.post(
        f"/api{url}", payload or {}, content_type="application/json", headers=headers
    )


def test_buyer_publishes_supplier_responds_buyer_closes(
    client, market, django_capture_on_commit_callbacks
):
    tok = {k: create_token(u, "t") for k, u in market["users"].items()}
    tok["advisor78"] = create_token(market["advisor78"], "t")
    closes = (timezone.localdate() + datetime.timedelta(days=10)).isoformat()
    body = {
        "buyer": market["buyer"].pk,
        "theme": "purchasing",
        "kind": "service",
        "title": "Tournage de bagues",
        "description": "Bagues en bronze, tournage et fraisage.",
        "category": "mechanics",
        "closes_on": closes,
        "hide_buyer": True,
        "lots": [{"title": "Tournage", "category": "mechanics"}],
    }
    assert call(client, None, "post", "/needs", body).status_code == 401
    assert call(client, tok["mech1"], "post", "/needs", body).status_code == 404  # not theirs
    r = call(client, tok["buyer"], "post", "/needs", body)
    assert r.status_code == 201, r.content
    need_id = r.json()["id"]
    assert r.json()["status"] == "draft" and r.json()["lots"][0]["title"] == "Tournage"
    assert call(client, tok["mech1"], "get", f"/needs/{need_id}").status_code == 404  # draft

    with django_capture_on_commit_callbacks(execute=True):
        r = call(client, tok["buyer"], "post", f"/needs/{need_id}/publish")
    assert r.status_code == 200 and r.json()["notified"] == 2
    assert len(mail.outbox) == 2

    seen = call(client, tok["mech1"], "get", f"/needs/{need_id}").json()
    assert seen["buyer_name"] is None and seen["notified"] is None  # hidden buyer, no counters
    r = call(
        client,
        tok["mech1"],
        "post",
        f"/needs/{need_id}/responses",
        {"supplier": market["mech1"].pk, "message": "Oui", "price_band": "lt5k"},
    )
    assert r.status_code == 201
    response_id = r.json()["id"]
    # Someone else's establishment: refused; a competitor does not see the response.
    r = call(
        client,
        tok["mech2"],
        "post",
        f"/needs/{need_id}/responses",
        {"supplier": market["mech1"].pk, "message": "Usurpation"},
    )
    assert r.status_code == 403
    assert call(client, tok["mech2"], "get", f"/needs/{need_id}/responses").json() == []
    assert (
        call(client, tok["mech2"], "post", f"/responses/{response_id}/shortlist").status_code == 404
    )
    assert call(client, tok["advisor78"], "get", f"/needs/{need_id}/responses").json() == []

    assert call(client, tok["buyer"], "post", f"/responses/{response_id}/shortlist").json()[
        "shortlisted"
    ]
    assert (
        call(client, tok["mech1"], "get", f"/needs/{need_id}").json()["buyer_name"]
        == "Grand Donneur d'Ordre"
    )
    r = call(client, tok["mech1"], "post", f"/needs/{need_id}/close", {"winner": None})
    assert r.status_code == 403
    r = call(client, tok["buyer"], "post", f"/needs/{need_id}/close", {"winner": response_id})
    assert r.status_code == 200 and r.json()["status"] == "awarded"
    r = call(client, tok["buyer"], "post", f"/needs/{need_id}/publish")
    assert r.status_code == 400 and "Passage impossible" in r.json()["detail"]
    listed = call(client, tok["mech1"], "get", "/needs").json()["items"]
    assert [n["id"] for n in listed] == [need_id]
