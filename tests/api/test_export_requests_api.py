"""API of export contact requests: who lists, reads, answers and withdraws them (as on the web),
with French errors."""

from __future__ import annotations

import pytest

from maillage.accounts.tokens import create_token
from maillage.directory.models import ExportContactRequest
from tests.directory.factories import ExportProjectFactory
from tests.directory.test_export_requests import outsiders, world  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def call(client, user, method, url, body=None):
    headers = {"Authorization": f"Bearer {create_token(user, 'test')}"} if user else {}
    if method == "get":
        return client.get(f"/api{url}", headers=headers)
    return client.post(
        f"/api{url}", data=body or {}, content_type="application/json", headers=headers
    )


def test_each_side_lists_and_reads_its_requests(client, world):  # noqa: F811
    req = world["req"]
    for user in (world["morocco"].user, world["company77"], world["advisor77"]):
        r = call(client, user, "get", "/export-requests")
        assert r.status_code == 200
        assert [row["id"] for row in r.json()["items"]] == [req.pk]
        one = call(client, user, "get", f"/export-requests/{req.pk}").json()
        assert one["status"] == "pending" and one["countries"] == ["MA", "VN"]
        assert one["addressed_to_me"] is (user == world["morocco"].user)
        assert one["contact"] is None  # nothing exchanged before acceptance
        assert one["message"] == "Un salon à Casablanca en mars"


def test_outsiders_and_anonymous_get_nothing(client, world):  # noqa: F811
    req = world["req"]
    for who, user in outsiders(world).items():
        assert call(client, user, "get", "/export-requests").json()["items"] == [], who
        for method, url, body in (
            ("get", f"/export-requests/{req.pk}", None),
            ("post", f"/export-requests/{req.pk}/answer", {"decision": "accept"}),
            ("post", f"/export-requests/{req.pk}/withdraw", None),
        ):
            r = call(client, user, method, url, body)
            assert r.status_code == 404 and r.json() == {"detail": "Introuvable."}, (who, url)
    for url in ("/export-requests", f"/export-requests/{req.pk}"):
        assert call(client, None, "get", url).status_code == 401
    for url in (f"/export-requests/{req.pk}/answer", f"/export-requests/{req.pk}/withdraw"):
        assert call(client, None, "post", url, {"decision": "accept"}).status_code == 401
    req.refresh_from_db()
    assert req.status == "pending"


def test_only_the_addressee_answers_and_contacts_follow(client, world):  # noqa: F811
    req = world["req"]
    answer = f"/export-requests/{req.pk}/answer"
    for user in (world["company77"], world["advisor77"]):
        r = call(client, user, "post", answer, {"decision": "accept"})
        assert r.status_code == 403
        assert r.json()["detail"] == "Seul le destinataire de la demande peut y répondre."
    advisor = world["morocco"].user
    assert call(client, advisor, "post", answer, {"decision": "peut-être"}).status_code == 422
    r = call(client, advisor, "post", answer, {"decision": "accept", "message": "Volontiers"})
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "accepted" and body["answer"] == "Volontiers"
    assert body["contact"]["email"] == "co77@example.test"
    seen_by_sme = call(client, world["company77"], "get", f"/export-requests/{req.pk}").json()
    assert seen_by_sme["contact"]["email"] == "cce_ma@cce.test"
    assert seen_by_sme["contact"]["phone"] == "01 23 45 67 89"
    r = call(client, advisor, "post", answer, {"decision": "decline"})
    assert r.status_code == 400
    assert r.json()["detail"] == "Cette demande a déjà reçu une réponse."
    r = call(client, world["company77"], "post", f"/export-requests/{req.pk}/withdraw")
    assert r.status_code == 400 and "déjà reçu une réponse" in r.json()["detail"]


def test_only_the_sme_withdraws(client, world):  # noqa: F811
    req = world["req"]
    withdraw = f"/export-requests/{req.pk}/withdraw"
    r = call(client, world["morocco"].user, "post", withdraw)
    assert r.status_code == 403
    assert r.json()["detail"] == "Seule l'entreprise qui a fait la demande peut la retirer."
    r = call(client, world["advisor77"], "post", withdraw)  # the SME's chamber acts for it
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    assert r.json()["withdrawn_at"] is not None
    r = call(client, world["company77"], "post", withdraw)
    assert r.status_code == 400
    assert r.json()["detail"] == "Cette demande a été retirée par l'entreprise."
    r = call(
        client,
        world["morocco"].user,
        "post",
        f"/export-requests/{req.pk}/answer",
        {"decision": "accept"},
    )
    assert r.status_code == 400
    req.refresh_from_db()
    assert req.status == ExportContactRequest.Status.WITHDRAWN and req.answered_by is None
    # The addressee still sees it, as withdrawn.
    rows = call(client, world["morocco"].user, "get", "/export-requests").json()["items"]
    assert [(row["id"], row["status"]) for row in rows] == [(req.pk, "withdrawn")]


def test_the_list_does_not_grow_in_queries(
    client,
    world,  # noqa: F811
    make_establishment,
    make_user,
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from maillage.accounts.models import User
    from maillage.directory import services

    contact = world["managers"][0]
    token = create_token(contact, "test")
    headers = {"Authorization": f"Bearer {token}"}

    def count() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as ctx:
            r = client.get("/api/export-requests", headers=headers)
        return len(r.json()["items"]), len(ctx.captured_queries)

    def add(n: int) -> None:
        e = make_establishment("77288", name=f"Atelier {n:02d}")
        owner = make_user(f"owner{n}", User.Role.COMPANY, establishments=[e])
        ExportProjectFactory(establishment=e, countries=["MA"], sectors=["agrifood"])
        services.request_export_contact(owner, e, cluster=world["cluster"])

    add(0)
    one = count()
    for n in range(1, 12):
        add(n)
    many = count()
    assert (one[0], many[0]) == (1, 12) and many[1] == one[1]
