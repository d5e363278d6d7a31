"""A hidden buyer is revealed, once a response is shortlisted (or retained), to its supplier and to
every member of the group that gave it — in pages, notifications, e-mails and the API — and to
nobody else: not the other responders, not a group left out, not another company, another
chamber's advisor or an anonymous visitor."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from maillage.accounts.tokens import create_token
from maillage.marketplace import policy as marketplace_policy
from maillage.marketplace import services
from maillage.notifications.models import Notification
from maillage.notifications.registry import subject_key
from tests.marketplace.factories import SupplierProfileFactory

pytestmark = pytest.mark.django_db

BUYER = "Grand Donneur"


@pytest.fixture
def hidden(market, make_need, make_establishment, make_user, profile):
    """A hidden-buyer need answered by a group (mech1 lead, far and elec) and by a second group
    (mech2 lead with the baker); a third company of the 77 chamber stays out."""
    u = market["users"]
    need = make_need(market["buyer"], u["buyer"], hide_buyer=True)
    services.publish(u["buyer"], need)
    group = services.respond(
        u["mech1"],
        need,
        market["mech1"],
        message="Offre du groupement A",
        partners=[market["far"].siret, market["elec"].siret],
    )
    other = services.respond(
        u["mech2"],
        need,
        market["mech2"],
        message="Offre du groupement B",
        partners=[market["baker"].siret],
    )
    outsider = make_establishment("77288", name="Voisin Sans Réponse", naf="25.62B")
    profile(outsider, "Tôlerie fine.")
    u["outsider"] = make_user("u-outsider", "company", establishments=[outsider])
    mail.outbox.clear()
    return need, group, other


def _page(client, user, need) -> tuple[int, str]:
    if user is None:
        client.logout()
    else:
        client.force_login(user)
    r = client.get(reverse("marketplace:need-detail", args=[need.pk]))
    return r.status_code, r.content.decode()


def _api(client, user, url):
    headers = {"Authorization": f"Bearer {create_token(user, 't')}"} if user else {}
    return client.get(f"/api{url}", headers=headers)


def _outsiders(market):
    u = market["users"]
    return {
        "responder of a group not shortlisted": u["mech2"],
        "member of a group not shortlisted": u["baker"],
        "company that did not respond": u["outsider"],
        "company of another chamber": market["company78"],
        "advisor of another chamber": market["advisor78"],
    }


def test_hidden_from_everyone_before_the_shortlist(client, market, hidden):
    need, _group, _other = hidden
    u = market["users"]
    for user in [u["mech1"], u["far"], u["elec"], *_outsiders(market).values()]:
        assert not marketplace_policy.can_see_buyer(user, need)
        status, page = _page(client, user, need)
        assert status == 200 and BUYER not in page and "identité masquée" in page
        detail = _api(client, user, f"/needs/{need.pk}").json()
        assert detail["buyer"] is None and detail["buyer_name"] is None
    # The buyer's side still sees itself, as does its chamber's advisor.
    assert marketplace_policy.can_see_buyer(u["buyer"], need)
    assert marketplace_policy.can_see_buyer(market["advisor77"], need)


def test_shortlisting_a_group_reveals_the_buyer_to_every_member(client, market, hidden):
    need, group, _other = hidden
    u = market["users"]
    services.shortlist(u["buyer"], group)
    for key in ("mech1", "far", "elec"):
        assert marketplace_policy.can_see_buyer(u[key], need), key
        status, page = _page(client, u[key], need)
        assert status == 200 and BUYER in page and "identité masquée" not in page
        assert _api(client, u[key], f"/needs/{need.pk}").json()["buyer_name"].startswith(BUYER)
        listed = _api(client, u[key], "/needs").json()["items"]
        assert [n["buyer_name"] for n in listed if n["id"] == need.pk][0].startswith(BUYER)
    for who, user in _outsiders(market).items():
        assert not marketplace_policy.can_see_buyer(user, need), who
        status, page = _page(client, user, need)
        assert BUYER not in page, who
        r = _api(client, user, f"/needs/{need.pk}")
        assert BUYER not in r.content.decode(), who
        assert BUYER not in _api(client, user, "/needs").content.decode(), who
    # Anonymous visitors: the login page, a 401 from the API, never the name.
    status, page = _page(client, None, need)
    assert status == 302 and BUYER not in page
    r = _api(client, None, f"/needs/{need.pk}")
    assert r.status_code == 401 and BUYER not in r.content.decode()


def test_notifications_and_emails_name_the_buyer_only_to_the_shortlisted_group(
    market, hidden, django_capture_on_commit_callbacks
):
    need, group, _other = hidden
    u = market["users"]
    with django_capture_on_commit_callbacks(execute=True):
        services.shortlist(u["buyer"], group)
    told = Notification.objects.filter(kind="shortlisted", dedup_key=subject_key(need))
    assert set(told.values_list("user__username", flat=True)) == {"u-mech1", "u-far", "u-elec"}
    assert all(BUYER in n.body for n in told)
    assert "groupement" in told.get(user=u["far"]).title
    revealed = {"mech1@example.test", "far@example.test", "elec@example.test"}
    assert {m.to[0] for m in mail.outbox} == revealed
    # Closing without award: every responder learns it; no one else's e-mail names the buyer.
    with django_capture_on_commit_callbacks(execute=True):
        services.close(u["buyer"], need)
    for message in mail.outbox:
        if message.to[0] not in revealed:
            assert BUYER not in message.subject + message.body, message.to
    for n in Notification.objects.exclude(user__username__in=["u-mech1", "u-far", "u-elec"]):
        if n.user_id != u["buyer"].pk:
            assert BUYER not in n.title + n.body, n.user


def test_withdrawn_shortlist_and_other_group_stay_hidden_until_retained(client, market, hidden):
    need, group, other = hidden
    u = market["users"]
    services.shortlist(u["buyer"], other)
    services.shortlist(u["buyer"], other, on=False)
    assert not marketplace_policy.can_see_buyer(u["baker"], need)
    # Awarding the other group's response reveals the buyer to its members, not to group A.
    services.close(u["buyer"], need, winner=other)
    for key in ("mech2", "baker"):
        assert marketplace_policy.can_see_buyer(u[key], need)
        assert BUYER in _page(client, u[key], need)[1]
    outcome = Notification.objects.get(kind="need_outcome", user=u["baker"])
    assert "retenue" in outcome.title and BUYER in outcome.body
    for key in ("mech1", "far", "elec"):
        assert not marketplace_policy.can_see_buyer(u[key], need)
        assert BUYER not in _page(client, u[key], need)[1]
        assert BUYER not in Notification.objects.get(kind="need_outcome", user=u[key]).body


def test_naming_the_hidden_buyer_as_co_contractor_is_no_oracle(market, hidden):
    """Trying directory SIRETs one by one must not single out a hidden buyer: its SIRET is
    accepted exactly like any other supplier's, and the page shows nothing more."""
    need, _group, _other = hidden
    u = market["users"]
    profile_buyer = market["buyer"]
    SupplierProfileFactory(
        establishment=profile_buyer, capabilities="Assemblage.", categories="", service_radius_km=50
    )
    response = services.respond(
        u["outsider"],
        need,
        u["outsider"].establishments.get(),
        message="Avec vous",
        partners=[profile_buyer.siret],
    )
    assert set(response.consortium.members.all()) == {
        u["outsider"].establishments.get(),
        profile_buyer,
    }


def test_a_visible_buyer_cannot_be_its_own_co_contractor(market, hidden):
    need, _group, _other = hidden
    need.hide_buyer = False
    need.save(update_fields=["hide_buyer"])
    u = market["users"]
    SupplierProfileFactory(
        establishment=market["buyer"],
        capabilities="Assemblage.",
        categories="",
        service_radius_km=50,
    )
    with pytest.raises(ValidationError) as exc:
        services.respond(
            u["outsider"],
            need,
            u["outsider"].establishments.get(),
            message="Avec vous",
            partners=[market["buyer"].siret],
        )
    assert "acheteur" in " ".join(exc.value.messages)


def test_back_office_lists_needs_by_policy(client, market, hidden):
    from django.contrib.auth.models import Permission

    need, _group, _other = hidden
    admin78 = market["admin78"]
    admin78.is_staff = True
    admin78.save()
    admin78.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    client.force_login(admin78)
    page = client.get(reverse("admin:marketplace_need_changelist")).content.decode()
    assert need.title not in page and BUYER not in page
    assert client.get(reverse("admin:marketplace_need_change", args=[need.pk])).status_code in (
        302,
        404,
    )
    page = client.get(reverse("admin:marketplace_response_changelist")).content.decode()
    assert "Offre du groupement" not in page
