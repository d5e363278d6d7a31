"""Consortium suggestions are computed in the background (django-tasks) and stored per need with
the fingerprint of their inputs: a page view reads them (and shows the computation's status),
never runs the solver; a change of the lots or of a candidate supplier's profile starts a new
computation. Only the buyer's side sees them."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from maillage.marketplace import selectors, services
from maillage.marketplace.models import ConsortiumSuggestions, SupplierProfile
from maillage.marketplace.tasks import compute_consortium_suggestions
from tests.marketplace.factories import SupplierProfileFactory

pytestmark = pytest.mark.django_db

TASK = "maillage.marketplace.tasks.compute_consortium_suggestions"


@pytest.fixture(autouse=True)
def database_queue(settings):
    """The production backend: tasks wait in the database for `manage.py db_worker`."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def need(market, make_need):
    n = make_need(
        market["buyer"],
        market["users"]["buyer"],
        lots=[
            ("Usinage de pièces", "mechanics"),
            ("Câblage d'armoires électriques", "electricity"),
        ],
    )
    services.publish(market["users"]["buyer"], n)
    return n


def queued() -> int:
    return DBTaskResult.objects.filter(task_path=TASK).count()


def run_worker() -> None:
    """What `manage.py db_worker` does for each queued task."""
    for result in DBTaskResult.objects.filter(task_path=TASK, status="READY").order_by("pk"):
        compute_consortium_suggestions.call(*result.args_kwargs["args"])
        result.delete()


def detail(client, user, need):
    client.force_login(user)
    return client.get(reverse("marketplace:need-detail", args=[need.pk])).content.decode()


def test_publishing_queues_the_computation_and_the_page_shows_its_status(
    client, market, need, monkeypatch
):
    assert queued() == 1
    row = ConsortiumSuggestions.objects.get(need=need)
    assert row.state == "pending" and row.groups == []

    def no_solver(*a, **kw):
        raise AssertionError("the page must not run the solver")

    monkeypatch.setattr(selectors, "compute_consortia", no_solver)
    page = detail(client, market["users"]["buyer"], need)
    assert "Calcul des groupements en cours" in page and 'hx-trigger="every 2s"' in page
    assert queued() == 1  # the same inputs are not queued twice
    monkeypatch.undo()

    run_worker()
    row.refresh_from_db()
    assert row.state == "done" and row.groups and row.candidates >= 3
    assert all(len(g["members"]) >= 2 for g in row.groups)
    # The polled fragment now shows the groups (names, lots), and stops polling.
    client.force_login(market["users"]["buyer"])
    fragment = client.get(
        reverse("marketplace:need-consortia", args=[need.pk]), headers={"HX-Request": "true"}
    ).content.decode()
    assert "Électricité Melunaise" in fragment and "Câblage d&#x27;armoires" in fragment
    assert "every 2s" not in fragment and "<html" not in fragment
    # Later views read the stored groups: nothing queued, the solver never called.
    monkeypatch.setattr(selectors, "compute_consortia", no_solver)
    for _ in range(2):
        assert "Électricité Melunaise" in detail(client, market["users"]["buyer"], need)
    assert queued() == 0


def test_changed_inputs_are_computed_again(client, market, need):
    run_worker()
    fingerprint = ConsortiumSuggestions.objects.get(need=need).fingerprint
    buyer = market["users"]["buyer"]

    def changed() -> bool:
        detail(client, buyer, need)
        row = ConsortiumSuggestions.objects.get(need=need)
        moved = row.fingerprint != fingerprint and row.state == "pending" and queued() == 1
        run_worker()
        return moved

    # A candidate supplier edits its profile.
    p = SupplierProfile.objects.get(establishment=market["mech2"])
    p.capabilities += " Rectification."
    services.save_supplier_profile(market["users"]["mech2"], p)
    assert changed()
    fingerprint = ConsortiumSuggestions.objects.get(need=need).fingerprint
    # The buyer changes the lots.
    services.save_need(buyer, need, [("Usinage", "mechanics"), ("Peinture", "construction")])
    assert changed()
    fingerprint = ConsortiumSuggestions.objects.get(need=need).fingerprint
    # A new supplier joins the directory.
    SupplierProfileFactory(
        establishment=market["e77"],
        capabilities="Sciage et rabotage.",
        categories="furniture",
        service_radius_km=50,
    )
    assert changed()
    fingerprint = ConsortiumSuggestions.objects.get(need=need).fingerprint
    # Nothing changed: nothing queued.
    detail(client, buyer, need)
    assert queued() == 0 and ConsortiumSuggestions.objects.get(need=need).state == "done"


def test_lost_computation_is_queued_again_and_failure_is_shown(client, market, need, monkeypatch):
    DBTaskResult.objects.all().delete()  # the worker lost it
    ConsortiumSuggestions.objects.filter(need=need).update(
        created_at=timezone.now() - datetime.timedelta(hours=1)
    )
    detail(client, market["users"]["buyer"], need)
    assert queued() == 1

    def broken(*a, **kw):
        raise RuntimeError("solveur indisponible")

    monkeypatch.setattr(selectors, "compute_consortia", broken)
    with pytest.raises(RuntimeError):
        run_worker()
    page = detail(client, market["users"]["buyer"], need)
    assert "Le calcul des groupements a échoué" in page and "solveur indisponible" in page
    monkeypatch.undo()
    DBTaskResult.objects.all().delete()
    # Failed with the same inputs: not retried on every view, but on request.
    detail(client, market["users"]["buyer"], need)
    assert queued() == 0
    client.post(reverse("marketplace:need-consortia", args=[need.pk]))
    assert queued() == 1
    run_worker()
    assert ConsortiumSuggestions.objects.get(need=need).state == "done"


def test_only_the_buyer_side_sees_or_starts_them(client, market, need):
    run_worker()
    url = reverse("marketplace:need-consortia", args=[need.pk])
    # A supplier sees the (platform) need but not the suggested groups.
    page = detail(client, market["users"]["mech1"], need)
    assert "Groupements possibles" not in page
    for user, status in (
        (market["users"]["mech1"], 403),
        (market["company78"], 403),
        (market["advisor78"], 403),  # a platform need: seen, its groups not
        (market["advisor77"], 403),
    ):
        client.force_login(user)
        assert client.get(url).status_code == status
        assert client.post(url).status_code == status
    assert queued() == 0
    client.logout()
    r = client.get(url)
    assert r.status_code == 302 and "/comptes/login/" in r["Location"]


def test_api_gives_the_buyer_the_stored_groups_and_their_state(client, market, need):
    from maillage.accounts.tokens import create_token

    def get(user):
        headers = {"Authorization": f"Bearer {create_token(user, 't')}"} if user else {}
        return client.get(f"/api/needs/{need.pk}/consortia", headers=headers)

    r = get(market["users"]["buyer"])
    assert r.status_code == 200 and r.json()["state"] == "pending" and r.json()["groups"] == []
    run_worker()
    data = get(market["users"]["buyer"]).json()
    assert data["state"] == "done" and data["candidates"] >= 3
    first = data["groups"][0]
    assert {lot["number"] for lot in first["lots"]} == {1, 2}
    assert {lot["member"] for lot in first["lots"]} <= {m["id"] for m in first["members"]}
    assert "Électricité Melunaise" in {m["name"] for g in data["groups"] for m in g["members"]}
    for user in (market["users"]["mech1"], market["advisor78"], market["company78"]):
        assert get(user).status_code == 403
    assert get(None).status_code == 401
    assert queued() == 0


def test_a_need_without_lots_has_no_suggestions(client, market, make_need):
    u = market["users"]
    need = make_need(market["buyer"], u["buyer"])
    services.publish(u["buyer"], need)
    assert not ConsortiumSuggestions.objects.exists() and queued() == 0
    client.force_login(u["buyer"])
    url = reverse("marketplace:need-consortia", args=[need.pk])
    page = client.get(url).content.decode()
    assert "au moins deux lots" in page
    r = client.post(url, headers={"HX-Request": "true"})
    assert "au moins deux lots" in r.content.decode() and queued() == 0
