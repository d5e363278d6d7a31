"""Events and networks notify through the one registry (``maillage.notifications``): in the app,
and by e-mail once per recipient and event when "immédiatement", in the daily digest when
"résumé quotidien", not at all when "jamais". E-mails leave only once the action's transaction
commits (``django_capture_on_commit_callbacks(execute=True)`` stands for the commit here)."""

from __future__ import annotations

import datetime
import logging
import smtplib

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse

from maillage import notifications
from maillage.accounts.models import User
from maillage.events import services
from maillage.events.notifications import (
    EVENT_PROMOTED,
    EVENT_REGISTRATION,
    EVENT_REMINDER,
    EVENTS,
    MEETING_ANSWER,
    MEETING_REQUEST,
    MEETING_SCHEDULE,
)
from maillage.networks import services as network_services
from maillage.networks.models import Network
from maillage.networks.notifications import NETWORK_NEWS
from maillage.notifications import registry
from maillage.notifications import services as notification_services
from maillage.notifications.models import Notification, NotificationPreference
from tests.events.conftest import answers
from tests.events.factories import ScheduleRunFactory
from tests.networks.factories import MembershipFactory, NetworkFactory
from tests.notifications.factories import NotificationPreferenceFactory

pytestmark = pytest.mark.django_db


def _prefer(user, kind, frequency):
    NotificationPreferenceFactory(user=user, kind=kind, frequency=frequency)


def _mails_to(user):
    return [m for m in mail.outbox if m.to == [user.email]]


def test_event_kinds_are_in_the_registry_with_defaults():
    kinds = registry.REGISTRY
    for code in (
        EVENT_REGISTRATION,
        EVENT_PROMOTED,
        EVENT_REMINDER,
        MEETING_REQUEST,
        MEETING_ANSWER,
        MEETING_SCHEDULE,
    ):
        assert kinds[code].default == "immediate"
        assert kinds[code].section == EVENTS
    assert kinds[NETWORK_NEWS].default == "daily"
    with pytest.raises(ValueError, match="unknown notification kind"):
        notifications.notify([], "event_whatever", title="x", body="y", url="/")


def test_registration_immediately_never_and_daily(world, django_capture_on_commit_callbacks):
    event = world["event"]
    event.capacity = 3
    event.save()
    a_user, b_user, c_user = world["company77"], world["company_b"], world["company_c"]
    _prefer(b_user, EVENT_REGISTRATION, "never")
    _prefer(c_user, EVENT_REGISTRATION, "daily")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.register(a_user, event, world["e77"], answers(event))
        services.register(b_user, event, b_user.establishments.get(), answers(event))
        services.register(c_user, event, c_user.establishments.get(), answers(event))
    # Immediately: exactly one e-mail, and the notification in the app, already e-mailed.
    assert len(_mails_to(a_user)) == 1
    assert "Inscription confirmée" in _mails_to(a_user)[0].subject
    assert reverse("event-detail", args=[event.pk]) in _mails_to(a_user)[0].body
    n = Notification.objects.get(user=a_user)
    assert n.kind == EVENT_REGISTRATION and n.emailed_at and not n.email_due
    # Never: nothing at all.
    assert not _mails_to(b_user) and not Notification.objects.filter(user=b_user).exists()
    # Daily: nothing now, one digest later, and nothing more on a second run.
    assert not _mails_to(c_user)
    assert Notification.objects.get(user=c_user).email_due
    assert notifications.send_digests() == 1
    digest = _mails_to(c_user)
    assert len(digest) == 1 and "résumé quotidien" in digest[0].subject
    assert "Inscription confirmée : Positive Business Place" in digest[0].body
    assert notifications.send_digests() == 0
    assert len(mail.outbox) == 2


def test_promotion_request_answer_and_reminder_once_each(world, django_capture_on_commit_callbacks):
    event = world["event"]
    a_user, b_user, c_user = world["company77"], world["company_b"], world["company_c"]
    committed = django_capture_on_commit_callbacks
    with committed(execute=True):
        a = services.register(a_user, event, world["e77"], answers(event))
        b = services.register(b_user, event, b_user.establishments.get(), answers(event))
        c = services.register(c_user, event, c_user.establishments.get(), answers(event))
    assert c.status == "waiting"
    assert "Liste d'attente" in _mails_to(c_user)[0].subject
    mail.outbox.clear()
    with committed(execute=True):
        services.cancel(b_user, b)
    assert [m.subject for m in mail.outbox] == [
        "[Maillage] Une place s'est libérée : Positive Business Place"
    ]
    assert mail.outbox[0].to == [c_user.email]
    mail.outbox.clear()
    c.refresh_from_db()
    with committed(execute=True):
        req = services.request_meeting(a_user, event, c.pk, 3)
    assert [m.to for m in mail.outbox] == [[c_user.email]]
    assert "Scierie de Melun-Test souhaite vous rencontrer" in mail.outbox[0].body
    with committed(execute=True):
        services.answer_request(c_user, req, True)
    assert [m.to for m in mail.outbox] == [[c_user.email], [a_user.email]]
    assert "a accepté" in mail.outbox[1].body
    mail.outbox.clear()
    # Reminders go through the registry too: once per participant, whatever the re-runs.
    _prefer(a_user, EVENT_REMINDER, "never")
    now = event.starts_at - datetime.timedelta(hours=2)
    with committed(execute=True):
        assert services.send_reminders(now) == 2
        assert services.send_reminders(now) == 0
    assert [m.to for m in mail.outbox] == [[c_user.email]]
    assert Notification.objects.filter(kind=EVENT_REMINDER).count() == 1
    a.refresh_from_db()
    assert a.reminded_at is not None  # "never" is the user's choice, not a pending reminder


def test_schedule_published_then_changed(world, django_capture_on_commit_callbacks):
    event = world["event"]
    a_user, b_user = world["company77"], world["company_b"]
    a = services.register(a_user, event, world["e77"], answers(event))
    b = services.register(b_user, event, b_user.establishments.get(), answers(event))
    services.answer_request(b_user, services.request_meeting(a_user, event, b.pk, 2), True)
    mail.outbox.clear()
    organiser = world["advisor77"]
    committed = django_capture_on_commit_callbacks
    with committed(execute=True):
        services.compute_schedule(ScheduleRunFactory(event=event, requested_by=organiser))
    assert sorted(m.to[0] for m in mail.outbox) == sorted([a_user.email, b_user.email])
    assert all("Planning des rendez-vous publié" in m.subject for m in mail.outbox)
    assert all(reverse("event-agenda", args=[event.pk]) in m.body for m in mail.outbox)
    # Re-run keeping the schedule: nobody's agenda changed, nobody is told.
    mail.outbox.clear()
    with committed(execute=True):
        services.compute_schedule(
            ScheduleRunFactory(event=event, requested_by=organiser, keep_current=True)
        )
    assert mail.outbox == []
    # Pin the pair in another slot: both agendas change, both are told once.
    current = event.meetings.get().slot
    services.set_pair_rule(organiser, event, a.pk, b.pk, "pin", (current + 1) % event.slot_count)
    with committed(execute=True):
        services.compute_schedule(ScheduleRunFactory(event=event, requested_by=organiser))
    assert sorted(m.to[0] for m in mail.outbox) == sorted([a_user.email, b_user.email])
    assert all("Planning des rendez-vous modifié" in m.subject for m in mail.outbox)


def test_network_news_goes_to_members_in_the_digest(
    world, make_user, settings, tmp_path, django_capture_on_commit_callbacks
):
    committed = django_capture_on_commit_callbacks
    settings.MEDIA_ROOT = tmp_path
    federation = NetworkFactory(name="Fédération test", kind=Network.Kind.FEDERATION)
    club = NetworkFactory(name="Club test", federation=federation, chamber=world["chambers"][0])
    MembershipFactory(establishment=world["e77"], network=club, since=datetime.date(2020, 1, 1))
    animator = make_user("anim", User.Role.ANIMATOR)
    animator.email = "anim@example.test"
    animator.save()
    club.animators.add(animator)
    member, outsider = world["company77"], world["company_b"]
    _prefer(member, NETWORK_NEWS, "immediate")
    mail.outbox.clear()
    with committed(execute=True):
        network_services.publish_post(animator, club, "Visite d'usine", "Jeudi à 10 h.")
    # The member chose "immediately"; the author is not told; non-members never.
    assert [m.to for m in mail.outbox] == [[member.email]]
    assert "Actualité de Club test : Visite d'usine" in mail.outbox[0].subject
    assert not Notification.objects.filter(user__in=[animator, outsider]).exists()
    # A federation's news reaches its clubs' members; a document too.
    federation.animators.add(animator)
    with committed(execute=True):
        network_services.add_document(
            animator, federation, "Charte", SimpleUploadedFile("charte.pdf", b"%PDF-1.4")
        )
    assert len(mail.outbox) == 2
    assert "Nouveau document dans Fédération test" in mail.outbox[1].subject
    # A second member with the default (daily) gets it in the digest only.
    second = make_user("co-second", User.Role.COMPANY, establishments=[world["e77"]])
    second.email = "second@example.test"
    second.save()
    with committed(execute=True):
        network_services.publish_post(animator, club, "Atelier", "Mardi.")
    assert len(mail.outbox) == 3
    assert notifications.send_digests() == 1
    assert mail.outbox[-1].to == [second.email] and "Atelier" in mail.outbox[-1].body


def test_preferences_page_lists_event_kinds_in_french(client, world):
    user = world["company77"]
    client.force_login(user)
    url = reverse("notifications:list")
    html = client.get(url).content.decode()
    for text in (
        "Événements et rendez-vous d&#x27;affaires",
        "Rappel avant un événement",
        "Demande de rendez-vous d&#x27;affaires",
        "Planning de mes rendez-vous publié ou modifié",
        "Actualités et documents de mes réseaux",
        "Marché : besoins et réponses",
    ):
        assert text in html, text
    r = client.post(url, {EVENT_REMINDER: "never"})
    assert r.status_code == 302
    assert NotificationPreference.objects.get(user=user).frequency == "never"
    # A bad value is refused with the form's French message, nothing saved.
    r = client.post(url, {EVENT_REMINDER: "hourly"})
    assert r.status_code == 200 and "Sélectionnez un choix valide" in r.content.decode()
    assert NotificationPreference.objects.get(user=user).frequency == "never"


def test_e_mails_leave_only_when_the_transaction_commits(world, django_capture_on_commit_callbacks):
    event = world["event"]
    a_user, b_user = world["company77"], world["company_b"]
    services.register(a_user, event, world["e77"], answers(event))
    b = services.register(b_user, event, b_user.establishments.get(), answers(event))
    mail.outbox.clear()
    # Inside the transaction: the in-app row is there, the e-mail waits for the commit.
    committed = django_capture_on_commit_callbacks
    with committed(execute=False) as callbacks, transaction.atomic():
        req = services.request_meeting(a_user, event, b.pk, 2)
        n = Notification.objects.get(user=b_user, kind=MEETING_REQUEST)
        assert n.emailed_at is None and mail.outbox == []
    assert len(callbacks) == 1 and mail.outbox == []
    callbacks[0]()  # the commit
    assert [m.to for m in mail.outbox] == [[b_user.email]]
    n.refresh_from_db()
    assert n.emailed_at is not None and not n.email_due
    # A rolled-back answer: no row, no e-mail, the request still pending.
    mail.outbox.clear()
    with (
        committed(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.answer_request(b_user, req, True)
        raise RuntimeError("a later step of the same action fails")
    assert callbacks == [] and mail.outbox == []
    assert not Notification.objects.filter(kind=MEETING_ANSWER).exists()
    req.refresh_from_db()
    assert req.status == "pending"


def test_a_digest_run_and_the_commit_never_send_twice(world, django_capture_on_commit_callbacks):
    event = world["event"]
    user = world["company77"]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.register(user, event, world["e77"], answers(event))
    # Should a digest run pick the row up first, the e-mail at commit is not sent again.
    assert notifications.send_digests() == 1
    callbacks[0]()
    assert len(_mails_to(user)) == 1


def test_a_mail_server_failure_leaves_the_e_mail_to_the_digest(
    world, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    event = world["event"]
    user = world["company77"]

    def down(to, subject, text):
        raise smtplib.SMTPServerDisconnected("serveur indisponible")

    monkeypatch.setattr(notification_services, "send_email", down)
    with (
        caplog.at_level(logging.ERROR, logger="maillage.notifications"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        reg = services.register(user, event, world["e77"], answers(event))
    # The registration stands; the notification is kept for the daily digest; the failure logged.
    assert reg.status == "confirmed"
    n = Notification.objects.get(user=user)
    assert n.email_due and n.emailed_at is None
    assert "left for the daily digest" in caplog.text
    monkeypatch.undo()
    assert notifications.send_digests() == 1
    assert "Inscription confirmée" in _mails_to(user)[0].body
