"""Award per lot (issue 16, left point): a buyer awards each lot of a need to one response for
that lot, several suppliers winning different lots; the need closes when every lot is decided;
contacts go only between the buyer and each lot's winner; winners and the others are notified;
web and API, with a strict body; the per-need close still works."""

from __future__ import annotations

import datetime
import importlib

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from maillage.accounts.tokens import create_token
from maillage.marketplace import policy as marketplace_policy
from maillage.marketplace import services
from maillage.marketplace.models import Lot, Need, NeedEvent, Response
from maillage.notifications.models import Notification
from maillage.notifications.registry import subject_key
from tests.directory.factories import ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_lots(market, make_need):
    """A published need with two lots; mech1 and mech2 answer lot 1, elec answers lot 2; each
    side has a contact with an e-mail address."""
    u = market["users"]
    for key, email in (
        ("buyer", "anne@donneur.test"),
        ("mech1", "paul@usinage.test"),
        ("mech2", "marc@moissy.test"),
        ("elec", "eve@elec.test"),
    ):
        ContactFactory(establishment=market[key], first_name=key, last_name="Contact", email=email)
    need = make_need(
        market["buyer"],
        u["buyer"],
        lots=[("Tournage", "mechanics"), ("Câblage", "electricity")],
    )
    services.publish(u["buyer"], need)
    lot1, lot2 = need.lots.order_by("number")
    r_mech1 = services.respond(u["mech1"], need, market["mech1"], message="Lot 1", lot=lot1)
    r_mech2 = services.respond(u["mech2"], need, market["mech2"], message="Lot 1 ?", lot=lot1)
    r_elec = services.respond(u["elec"], need, market["elec"], message="Lot 2", lot=lot2)
    return {
        "need": need,
        "lots": (lot1, lot2),
        "responses": {"mech1": r_mech1, "mech2": r_mech2, "elec": r_elec},
    }


def _page(client, user, need):
    client.force_login(user)
    return client.get(reverse("marketplace:need-detail", args=[need.pk])).content.decode()


def _award_url(need, number):
    return reverse("marketplace:lot-award", args=[need.pk, number])


def _api(client, token, url, payload):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(f"/api{url}", payload, content_type="application/json", headers=headers)


def test_two_lots_two_winners_contacts_only_between_buyer_and_each_winner(client, market, two_lots):
    u = market["users"]
    need, (lot1, _lot2), r = two_lots["need"], two_lots["lots"], two_lots["responses"]

    # -- the buyer awards lot 1 on the web page --------------------------------------------------
    page = _page(client, u["buyer"], need)
    assert "Attribuer le lot 1" in page and "Clore le lot 2 sans attribution" in page
    response = client.post(
        _award_url(need, 1), {"action": "award", "winner": r["mech1"].pk}, follow=True
    )
    assert "Lot 1 attribué à Usinage Briard" in response.content.decode()
    need.refresh_from_db()
    lot1.refresh_from_db()
    assert need.status == Need.Status.PUBLISHED  # lot 2 is still open
    assert lot1.outcome == Lot.Outcome.AWARDED and lot1.winner_id == r["mech1"].pk
    assert lot1.decided_by == u["buyer"]
    # contacts: the buyer and lot 1's winner only
    assert marketplace_policy.award_contact_establishment_ids(u["buyer"], need) == [
        market["mech1"].pk
    ]
    assert marketplace_policy.award_contact_establishment_ids(u["mech1"], need) == [
        market["buyer"].pk
    ]
    for other in ("mech2", "elec", "far"):
        assert marketplace_policy.award_contact_establishment_ids(u[other], need) == []
    assert "anne@donneur.test" in _page(client, u["mech1"], need)
    assert "anne@donneur.test" not in _page(client, u["mech2"], need)
    # notifications of lot 1: the winner with the buyer's contact, the loser without
    won = Notification.objects.get(user=u["mech1"], kind="lot_award", dedup_key=subject_key(lot1))
    assert "est retenue" in won.title and "anne@donneur.test" in won.body
    lost = Notification.objects.get(user=u["mech2"], kind="lot_award", dedup_key=subject_key(lot1))
    assert "attribué à une autre entreprise" in lost.title
    assert "anne@donneur.test" not in lost.body
    to_buyer = Notification.objects.get(
        user=u["buyer"], kind="lot_award", dedup_key=subject_key(lot1)
    )
    assert "paul@usinage.test" in to_buyer.body
    assert not Notification.objects.filter(user=u["elec"], kind="lot_award").exists()

    # -- ... and lot 2 through the API: every lot is decided, the need is awarded ---------------
    token = create_token(u["buyer"], "t")
    answer = _api(client, token, f"/needs/{need.pk}/lots/2/award", {"winner": r["elec"].pk})
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["status"] == "awarded"
    assert [(lot["outcome"], lot["winner"]) for lot in body["lots"]] == [
        ("awarded", r["mech1"].pk),
        ("awarded", r["elec"].pk),
    ]
    need.refresh_from_db()
    assert need.status == Need.Status.AWARDED and need.closed_at is not None
    assert sorted(marketplace_policy.award_contact_establishment_ids(u["buyer"], need)) == sorted(
        [market["mech1"].pk, market["elec"].pk]
    )
    assert marketplace_policy.award_contact_establishment_ids(u["elec"], need) == [
        market["buyer"].pk
    ]
    assert marketplace_policy.award_contact_establishment_ids(u["mech2"], need) == []
    buyer_page = _page(client, u["buyer"], need)
    assert "paul@usinage.test" in buyer_page and "eve@elec.test" in buyer_page
    assert "marc@moissy.test" not in buyer_page
    assert "Usinage Briard : lot(s) 1" in buyer_page
    assert "Électricité Melunaise : lot(s) 2" in buyer_page
    assert "anne@donneur.test" in _page(client, u["elec"], need)
    loser_page = _page(client, u["mech2"], need)
    assert "anne@donneur.test" not in loser_page and "paul@usinage.test" not in loser_page
    # the final outcome: both winners retained, the loser told the need is closed
    for key in ("mech1", "elec"):
        note = Notification.objects.get(user=u[key], kind="need_outcome")
        assert "est retenue" in note.title and "anne@donneur.test" in note.body
    assert (
        "Lot(s) retenu(s) : 2."
        in Notification.objects.get(user=u["elec"], kind="need_outcome").body
    )
    lost = Notification.objects.get(user=u["mech2"], kind="need_outcome")
    assert "est clos" in lost.title and "anne@donneur.test" not in lost.body
    assert set(Response.objects.filter(is_winner=True).values_list("pk", flat=True)) == {
        r["mech1"].pk,
        r["elec"].pk,
    }
    # the need's history keeps each lot's decision, with who (a company's own change: no audit)
    notes = list(NeedEvent.objects.filter(need=need, lot__isnull=False).values_list("note", "by"))
    assert notes == [
        ("lot 1 attribué à Usinage Briard", u["buyer"].pk),
        ("lot 2 attribué à Électricité Melunaise", u["buyer"].pk),
    ]
    assert "lot 2 attribué à Électricité Melunaise" in buyer_page


def test_every_lot_closed_without_award_closes_the_need_not_awarded(client, market, two_lots):
    u = market["users"]
    need = two_lots["need"]
    client.force_login(u["buyer"])
    client.post(_award_url(need, 1), {"action": "no_award"})
    need.refresh_from_db()
    assert need.status == Need.Status.PUBLISHED
    lost = Notification.objects.get(user=u["mech1"], kind="lot_award")
    assert "clos sans attribution" in lost.title
    client.post(_award_url(need, 2), {"action": "no_award"})
    need.refresh_from_db()
    assert need.status == Need.Status.NOT_AWARDED
    assert [lot.outcome for lot in need.lots.all()] == ["not_awarded", "not_awarded"]
    assert marketplace_policy.award_contact_establishment_ids(u["buyer"], need) == []


def test_lot_award_refuses_what_does_not_fit(market, two_lots, make_need):
    u = market["users"]
    need, (lot1, lot2), r = two_lots["need"], two_lots["lots"], two_lots["responses"]
    with pytest.raises(ValidationError, match="porte sur un autre lot"):
        services.award_lot(u["buyer"], lot2, r["mech1"])  # a lot 1 response for lot 2
    other = make_need(market["buyer"], u["buyer"], title="Autre besoin")
    services.publish(u["buyer"], other)
    foreign = services.respond(u["mech1"], other, market["mech1"], message="Autre")
    with pytest.raises(ValidationError, match="ne concerne pas ce besoin"):
        services.award_lot(u["buyer"], lot1, foreign)
    with pytest.raises(PermissionDenied):
        services.award_lot(u["mech1"], lot1, r["mech1"])  # a supplier awards itself
    services.award_lot(u["buyer"], lot1, r["mech1"])
    with pytest.raises(ValidationError, match="Le lot 1 est déjà attribué"):
        services.award_lot(u["buyer"], lot1, r["mech2"])
    # a decided lot receives no more responses, nor revisions; the form no longer offers it
    with pytest.raises(ValidationError, match="ne reçoit plus de réponses"):
        services.respond(u["mech2"], need, market["mech2"], message="Révision", lot=lot1)
    from maillage.marketplace.forms import ResponseForm

    form = ResponseForm(suppliers=Need.objects.none(), need=need)
    assert list(form.fields["lot"].queryset) == [lot2]
    services.award_lot(u["buyer"], lot2, None)
    lot2.refresh_from_db()
    with pytest.raises(ValidationError, match="n'est plus ouvert"):
        services.award_lot(u["buyer"], lot2, r["elec"])


def test_whole_need_response_can_win_a_lot(market, two_lots):
    u = market["users"]
    need, (_lot1, lot2) = two_lots["need"], two_lots["lots"]
    whole = services.respond(u["mech2"], need, market["mech2"], message="Tout")
    services.award_lot(u["buyer"], lot2, whole)
    lot2.refresh_from_db()
    assert lot2.winner_id == whole.pk
    assert marketplace_policy.award_contact_establishment_ids(u["mech2"], need) == [
        market["buyer"].pk
    ]


def test_per_need_close_still_awards_a_one_lot_need_and_closes_open_lots(
    market, two_lots, make_need
):
    u = market["users"]
    # one lot: closing the need with a winner awards the lot to it, as before
    single = make_need(market["buyer"], u["buyer"], title="Un lot", lots=[("Tournage", "")])
    services.publish(u["buyer"], single)
    winner = services.respond(
        u["mech1"], single, market["mech1"], message="Offre", lot=single.lots.get()
    )
    services.close(u["buyer"], single, winner=winner)
    assert single.status == Need.Status.AWARDED
    assert single.lots.get().winner_id == winner.pk
    assert marketplace_policy.award_contact_establishment_ids(u["mech1"], single) == [
        market["buyer"].pk
    ]
    # two lots, one already awarded: closing gives the other lot to the chosen response
    need, (lot1, _lot2), r = two_lots["need"], two_lots["lots"], two_lots["responses"]
    services.award_lot(u["buyer"], lot1, r["mech1"])
    with pytest.raises(ValidationError, match="déjà attribué ou clos"):
        services.close(u["buyer"], need, winner=r["mech2"])  # lot 1 is decided
    services.close(u["buyer"], need, winner=r["elec"])
    need.refresh_from_db()
    assert need.status == Need.Status.AWARDED
    assert [lot.winner_id for lot in need.lots.all()] == [r["mech1"].pk, r["elec"].pk]
    # an awarded need can still be deleted (back-office): its lots and responses go with it
    single.delete()
    assert not Lot.objects.filter(need_id=single.pk).exists()


def test_a_decided_lot_cannot_be_removed(market, make_need):
    u = market["users"]
    need = make_need(market["buyer"], u["buyer"], lots=[("Tournage", ""), ("Câblage", "")])
    services.publish(u["buyer"], need)
    services.award_lot(u["buyer"], need.lots.get(number=2), None)  # no response, closed
    with pytest.raises(ValidationError, match="est déjà clos sans attribution"):
        services.save_need(u["buyer"], need, [("Tournage", "")])
    assert need.lots.count() == 2


def test_expiry_keeps_awarded_lots_and_closes_the_others(market, two_lots):
    u = market["users"]
    need, (lot1, lot2), r = two_lots["need"], two_lots["lots"], two_lots["responses"]
    services.award_lot(u["buyer"], lot1, r["mech1"])
    result = services.close_expired_needs(today=need.closes_on + datetime.timedelta(days=1))
    assert result["closed"] == 1
    need.refresh_from_db()
    lot2.refresh_from_db()
    assert need.status == Need.Status.AWARDED
    assert lot2.outcome == Lot.Outcome.NOT_AWARDED and lot2.decided_by is None


def test_lot_award_page_is_the_buyers_only(client, market, two_lots):
    u = market["users"]
    need, r = two_lots["need"], two_lots["responses"]
    url = _award_url(need, 1)
    # another company (a responder), another chamber's advisor, the buyer's chamber advisor
    for outsider in (u["mech1"], u["baker"], market["advisor78"], market["advisor77"]):
        client.force_login(outsider)
        assert client.post(url, {"action": "award", "winner": r["mech1"].pk}).status_code == 403
        assert client.post(url, {"action": "no_award"}).status_code == 403
    client.logout()
    assert client.post(url, {"action": "no_award"}).status_code == 302  # to the login page
    client.force_login(u["buyer"])
    assert client.get(url).status_code == 405
    assert client.post(_award_url(need, 7), {"action": "no_award"}).status_code == 404
    # a response the buyer cannot read (another need's) is a 404, an unknown action changes nothing
    assert client.post(url, {"action": "award", "winner": 999999}).status_code == 404
    client.post(url, {"action": "attribuer-tout"})
    client.post(url, {"action": "award"})
    assert not Lot.objects.filter(need=need, decided_at__isnull=False).exists()
    assert need.lots.get(number=1).outcome == "open"


def test_lot_award_hidden_from_who_cannot_see_the_need(client, market, make_need):
    u = market["users"]
    need = make_need(
        market["buyer"],
        u["buyer"],
        lots=[("Tournage", "")],
        visibility=Need.Visibility.CHAMBER,
        visibility_chamber=market["chambers"][0],
    )
    services.publish(u["buyer"], need)
    assert not marketplace_policy.visible_needs(u["far"]).filter(pk=need.pk).exists()
    client.force_login(u["far"])  # a company of another chamber
    assert client.post(_award_url(need, 1), {"action": "no_award"}).status_code == 404
    token = create_token(u["far"], "t")
    assert _api(client, token, f"/needs/{need.pk}/lots/1/award", {"winner": None}).status_code == (
        404
    )
    assert need.lots.get().outcome == "open"


def test_award_api_is_strict_and_the_buyers_only(client, market, two_lots):
    u = market["users"]
    need, r = two_lots["need"], two_lots["responses"]
    url = f"/needs/{need.pk}/lots/1/award"
    buyer = create_token(u["buyer"], "t")
    for body in (
        {},  # the key is required, even to close without award
        {"wnner": None},
        {"winner": r["mech1"].pk, "note": "x"},
        {"winner": "Usinage Briard"},
        {"winner": 0},
        {"winner": [r["mech1"].pk]},
    ):
        answer = _api(client, buyer, url, body)
        assert answer.status_code == 422, (body, answer.content)
    assert _api(client, buyer, f"/needs/{need.pk}/lots/0/award", {"winner": None}).status_code == (
        422
    )
    assert _api(client, buyer, f"/needs/{need.pk}/lots/5/award", {"winner": None}).status_code == (
        404
    )
    for key in ("mech1", "baker"):
        token = create_token(u[key], "t")
        answer = _api(client, token, url, {"winner": r["mech1"].pk})
        assert answer.status_code == 403
        assert "Seul l'acheteur" in answer.json()["detail"]
    token = create_token(market["advisor78"], "t")
    assert _api(client, token, url, {"winner": None}).status_code == 403
    assert _api(client, None, url, {"winner": None}).status_code == 401
    assert need.lots.get(number=1).outcome == "open"
    # a lot 1 response for lot 2: a French 400
    answer = _api(client, buyer, f"/needs/{need.pk}/lots/2/award", {"winner": r["mech1"].pk})
    assert answer.status_code == 400 and "porte sur un autre lot" in answer.json()["detail"]
    # null closes lot 1 without award
    answer = _api(client, buyer, url, {"winner": None})
    assert answer.status_code == 200
    assert answer.json()["lots"][0]["outcome"] == "not_awarded"
    # the others read the outcome of each lot, not the winner
    mech = create_token(u["mech1"], "t")
    lots = client.get(f"/api/needs/{need.pk}", headers={"Authorization": f"Bearer {mech}"}).json()[
        "lots"
    ]
    assert [(lot["outcome"], lot["winner"]) for lot in lots] == [
        ("not_awarded", None),
        ("open", None),
    ]


def test_migration_decides_the_lots_of_needs_closed_before(market, make_need):
    u = market["users"]
    need = make_need(
        market["buyer"], u["buyer"], lots=[("Tournage", ""), ("Câblage", ""), ("Peinture", "")]
    )
    services.publish(u["buyer"], need)
    lot1, lot2, lot3 = need.lots.order_by("number")
    on_lot2 = services.respond(u["elec"], need, market["elec"], message="Lot 2", lot=lot2)
    # as the per-need close left it before lots were decided one by one
    closed_at = timezone.now() - datetime.timedelta(days=3)
    Need.objects.filter(pk=need.pk).update(status=Need.Status.AWARDED, closed_at=closed_at)
    Response.objects.filter(pk=on_lot2.pk).update(is_winner=True)
    never = make_need(market["buyer"], u["buyer"], title="Brouillon", lots=[("A", "")])
    migration = importlib.import_module("maillage.marketplace.migrations.0006_lot_awards")
    migration.decide_lots_of_closed_needs(apps, None)
    lot1, lot2, lot3 = need.lots.order_by("number")
    assert [lot.outcome for lot in (lot1, lot2, lot3)] == ["not_awarded", "awarded", "not_awarded"]
    assert lot2.winner_id == on_lot2.pk and lot2.decided_at == closed_at
    assert never.lots.get().outcome == "open"  # a draft's lots stay open


def test_a_hidden_buyer_is_revealed_to_each_lot_winner_only(client, market, make_need):
    u = market["users"]
    need = make_need(
        market["buyer"],
        u["buyer"],
        hide_buyer=True,
        lots=[("Tournage", "mechanics"), ("Câblage", "electricity")],
    )
    services.publish(u["buyer"], need)
    lot1, lot2 = need.lots.order_by("number")
    win = services.respond(u["mech1"], need, market["mech1"], message="Lot 1", lot=lot1)
    services.respond(u["mech2"], need, market["mech2"], message="Lot 1 aussi", lot=lot1)
    services.award_lot(u["buyer"], lot1, win)
    assert marketplace_policy.can_see_buyer(u["mech1"], need)
    assert not marketplace_policy.can_see_buyer(u["mech2"], need)
    won = Notification.objects.get(user=u["mech1"], kind="lot_award", dedup_key=subject_key(lot1))
    assert "Grand Donneur d'Ordre" in won.body
    lost = Notification.objects.get(user=u["mech2"], kind="lot_award", dedup_key=subject_key(lot1))
    assert "Grand Donneur d'Ordre" not in lost.title + lost.body
    assert "Grand Donneur d" not in _page(client, u["mech2"], need)
