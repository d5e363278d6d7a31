"""Members of a group of co-contractors: they see, read-only, the response the lead gave in the
group's name and its outcome, and are notified (kind with opt-out) on submission and on closing;
a non-member company, another chamber's advisor and an anonymous visitor see nothing of it."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from maillage.marketplace import policy as marketplace_policy
from maillage.marketplace import services
from maillage.marketplace.models import Response
from maillage.marketplace.notifications import CONSORTIUM_RESPONSE, OUTCOME
from maillage.notifications.models import Notification
from maillage.notifications.registry import subject_key
from tests.notifications.factories import NotificationPreferenceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def group_response(market, make_need, django_capture_on_commit_callbacks):
    """A need restricted to the 77 chamber, answered by mech1 with far (a 78 company) and elec."""
    u = market["users"]
    need = make_need(
        market["buyer"], u["buyer"], visibility="chamber", visibility_chamber=market["chambers"][0]
    )
    services.publish(u["buyer"], need)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = services.respond(
            u["mech1"],
            need,
            market["mech1"],
            message="Offre du groupement",
            partners=[market["far"].siret, market["elec"].siret],
        )
    return need, response


def test_members_see_the_group_response_and_outcome_read_only(client, market, group_response):
    need, response = group_response
    u = market["users"]
    detail = reverse("marketplace:need-detail", args=[need.pk])
    # far is in another chamber: it sees this chamber-only need only as a group member.
    assert marketplace_policy.visible_responses(u["far"]).filter(pk=response.pk).exists()
    client.force_login(u["far"])
    page = client.get(detail).content.decode()
    assert "Offre du groupement" in page
    # Read-only: a member cannot rewrite the lead's response, by service or by page.
    with pytest.raises(PermissionDenied):
        services.respond(u["far"], need, market["mech1"], message="réécrite")
    client.post(
        reverse("marketplace:need-respond", args=[need.pk]),
        {"supplier": market["mech1"].pk, "message": "réécrite"},
    )
    assert Response.objects.get(pk=response.pk).message == "Offre du groupement"
    services.close(u["buyer"], need, winner=response)
    page = client.get(detail).content.decode()
    assert "retenue" in page and "Issue du besoin" in page


def test_non_members_other_chamber_advisor_and_anonymous_do_not_see_it(
    client, market, group_response
):
    need, response = group_response
    detail = reverse("marketplace:need-detail", args=[need.pk])
    # A company of the same chamber, not in the group: sees the need, not the response.
    assert (
        not marketplace_policy.visible_responses(market["users"]["mech2"])
        .filter(pk=response.pk)
        .exists()
    )
    client.force_login(market["users"]["mech2"])
    page = client.get(detail).content.decode()
    assert "Usinage de pièces" in page and "Offre du groupement" not in page
    # Another chamber's advisor: neither the need nor the response.
    assert not marketplace_policy.visible_responses(market["advisor78"]).exists()
    client.force_login(market["advisor78"])
    assert client.get(detail).status_code == 404
    client.logout()
    r = client.get(detail)
    assert r.status_code == 302 and "/comptes/login/" in r["Location"]


def test_members_notified_on_submission_and_close_with_opt_out(market, group_response):
    need, response = group_response
    u = market["users"]
    kind = CONSORTIUM_RESPONSE
    # Submitted: each member's users once (not the lead's), by e-mail at once.
    assert set(Notification.objects.filter(kind=kind).values_list("user__username", flat=True)) == {
        "u-far",
        "u-elec",
    }
    assert sorted(m.to[0] for m in mail.outbox if "groupement" in m.subject) == [
        "elec@example.test",
        "far@example.test",
    ]
    # Updating the response notifies nobody a second time.
    services.respond(
        u["mech1"],
        need,
        market["mech1"],
        message="Offre révisée",
        partners=[market["far"].siret, market["elec"].siret],
    )
    assert Notification.objects.filter(kind=kind).count() == 2
    # elec opts out of outcomes; far learns the group won.
    NotificationPreferenceFactory(user=u["elec"], kind=OUTCOME, frequency="never")
    services.close(u["buyer"], need, winner=response)
    outcomes = Notification.objects.filter(kind=OUTCOME, dedup_key=subject_key(need))
    # the group's members learn the outcome, the buyer gets the retained group's contacts
    assert set(outcomes.values_list("user__username", flat=True)) == {"u-mech1", "u-far", "u-buyer"}
    assert "retenue" in outcomes.get(user=u["far"]).title
    assert not Notification.objects.filter(user=u["baker"]).exists()
