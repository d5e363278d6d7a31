"""The whole flow with Django's locmem e-mail backend: publish → the relevant suppliers get exactly
one notification each, unrelated ones none → responses → shortlist → close → outcome."""

from __future__ import annotations

import io

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command

from maillage.marketplace import services
from maillage.marketplace.models import Match, Need, NeedEvent
from maillage.notifications.models import Notification
from tests.notifications.factories import NotificationPreferenceFactory

pytestmark = pytest.mark.django_db


def test_publish_notifies_relevant_suppliers_once_then_responses_and_close(
    market, make_need, django_capture_on_commit_callbacks
):
    u = market["users"]
    need = make_need(market["buyer"], u["buyer"])
    assert need.status == Need.Status.DRAFT
    assert not mail.outbox
    committed = django_capture_on_commit_callbacks

    with committed(execute=True):
        matches = services.publish(u["buyer"], need)

    matched = {m.supplier_id for m in matches}
    assert market["mech1"].pk in matched and market["mech2"].pk in matched
    assert market["baker"].pk not in matched
    assert market["far"].pk not in matched  # out of its 20 km service radius
    recipients = sorted(to for m in mail.outbox for to in m.to)
    assert recipients == ["mech1@example.test", "mech2@example.test"]
    assert Notification.objects.filter(user=u["mech1"], kind="new_need").count() == 1
    assert not Notification.objects.filter(user__in=[u["baker"], u["far"], u["elec"]]).exists()

    # Re-running the matching never notifies twice.
    with committed(execute=True):
        services.match_and_notify(need)
    assert len(mail.outbox) == 2

    mail.outbox.clear()
    services.mark_seen(u["mech1"], need)
    with committed(execute=True):
        r1 = services.respond(
            u["mech1"], need, market["mech1"], message="Devis sous 48 h.", price_band="lt25k"
        )
        services.respond(u["mech2"], need, market["mech2"], message="Disponible dès lundi.")
    assert [m.to for m in mail.outbox] == [["buyer@example.test"], ["buyer@example.test"]]
    m1 = Match.objects.get(need=need, supplier=market["mech1"])
    assert m1.seen_at and m1.responded_at and m1.notified_at

    services.shortlist(u["buyer"], r1)
    services.close(u["buyer"], need, winner=r1)
    need.refresh_from_db()
    assert need.status == Need.Status.AWARDED
    outcome = Notification.objects.filter(kind="need_outcome").order_by("user__username")
    # the responders learn the outcome; the buyer receives the retained supplier's contacts
    assert [n.user.username for n in outcome] == ["u-buyer", "u-mech1", "u-mech2"]
    assert "retenu" in outcome[0].title and "retenue" in outcome[1].title
    assert list(NeedEvent.objects.filter(need=need).values_list("to_status", flat=True)) == [
        "published",
        "awarded",
    ]


def test_lifecycle_refuses_forbidden_transitions(market, make_need):
    u = market["users"]
    need = make_need(market["buyer"], u["buyer"])
    with pytest.raises(ValidationError):
        services.transition(u["buyer"], need, Need.Status.AWARDED)
    with pytest.raises(PermissionDenied):
        services.publish(u["mech1"], need)
    services.publish(u["buyer"], need)
    services.close(u["buyer"], need)
    with pytest.raises(ValidationError):
        services.transition(u["buyer"], need, Need.Status.PUBLISHED)
    services.transition(u["buyer"], need, Need.Status.ARCHIVED)


def test_frequencies_never_and_daily_digest(market, make_need, django_capture_on_commit_callbacks):
    u = market["users"]
    NotificationPreferenceFactory(user=u["mech1"], kind="new_need", frequency="never")
    NotificationPreferenceFactory(user=u["mech2"], kind="new_need", frequency="daily")
    need = make_need(market["buyer"], u["buyer"])
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.publish(u["buyer"], need)
    assert callbacks == []  # nobody asked for an e-mail now
    assert not mail.outbox
    assert not Notification.objects.filter(user=u["mech1"]).exists()
    assert Notification.objects.filter(user=u["mech2"], email_due=True).count() == 1
    call_command("send_digests", stdout=io.StringIO())
    assert [m.to for m in mail.outbox] == [["mech2@example.test"]]
    assert "Usinage de pièces de rechange" in mail.outbox[0].body
    call_command("send_digests", stdout=io.StringIO())
    assert len(mail.outbox) == 1


def test_cannot_respond_to_own_need_or_after_close(market, make_need):
    u = market["users"]
    need = make_need(market["buyer"], u["buyer"])
    with pytest.raises(PermissionDenied):  # a draft is not open
        services.respond(u["mech1"], need, market["mech1"], message="x")
    services.publish(u["buyer"], need)
    with pytest.raises(PermissionDenied):
        services.respond(u["buyer"], need, market["buyer"], message="x")
    with pytest.raises(PermissionDenied):  # not in the name of someone else's establishment
        services.respond(u["mech1"], need, market["mech2"], message="x")
    with pytest.raises(ValidationError):
        services.respond(u["mech1"], need, market["mech1"], message="   ")
    services.close(u["buyer"], need)
    need.refresh_from_db()
    with pytest.raises(PermissionDenied):
        services.respond(u["mech1"], need, market["mech1"], message="trop tard")


def test_theme_rules_have_french_messages(market, make_need):
    u = market["users"]
    with pytest.raises(ValidationError) as exc:
        make_need(market["buyer"], u["buyer"], theme="innovation", kind="product", category="")
    assert "nature ne correspond pas" in str(exc.value)
    assert "expertise" in str(exc.value)


def test_respond_as_a_group_of_co_contractors(market, make_need):
    u = market["users"]
    need = make_need(market["buyer"], u["buyer"])
    services.publish(u["buyer"], need)
    with pytest.raises(ValidationError) as exc:
        services.respond(
            u["mech1"], need, market["mech1"], message="Ensemble", partners=["12345678900000"]
        )
    assert "absent(s) de l'annuaire" in str(exc.value)
    with pytest.raises(ValidationError):
        services.respond(
            u["mech1"], need, market["mech1"], message="Ensemble", partners=[market["mech1"].siret]
        )
    r = services.respond(
        u["mech1"], need, market["mech1"], message="Ensemble", partners=[market["elec"].siret]
    )
    assert set(r.consortium.members.values_list("name", flat=True)) == {
        "Usinage Briard",
        "Électricité Melunaise",
    }
    r = services.respond(u["mech1"], need, market["mech1"], message="Finalement seuls")
    assert r.consortium is None
    assert not need.consortia.exists()


def test_a_rolled_back_publication_sends_nothing(
    market, make_need, monkeypatch, django_capture_on_commit_callbacks
):
    """``publish`` is one transaction: when a step after the notifications fails, the need stays a
    draft, no notification row is left and no e-mail leaves."""
    u = market["users"]
    need = make_need(market["buyer"], u["buyer"])
    real_save = Match.save

    def failing_save(self, *args, **kwargs):
        if kwargs.get("update_fields") == ["notified_at"]:
            raise RuntimeError("disque plein")
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(Match, "save", failing_save)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError, match="disque plein"),
    ):
        services.publish(u["buyer"], need)
    assert callbacks == [] and mail.outbox == []
    assert not Notification.objects.exists() and not Match.objects.exists()
    need.refresh_from_db()
    assert need.status == Need.Status.DRAFT
    # The same publication, committed: the two relevant suppliers get their e-mail.
    monkeypatch.setattr(Match, "save", real_save)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.publish(u["buyer"], need)
    assert len(callbacks) == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["mech1@example.test", "mech2@example.test"]
