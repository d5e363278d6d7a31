"""`close_expired_needs`: published needs past their closing date are closed (not awarded) through
the workflow, logged, the buyer told; notified suppliers that have not answered a need closing
soon get one reminder each (their preference respected). With Django's locmem e-mail backend; the
e-mails leave when each need's transaction commits (``django_capture_on_commit_callbacks``)."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.utils import timezone

from maillage.marketplace import services
from maillage.marketplace.models import Match, Need, NeedEvent
from maillage.marketplace.notifications import NEED_EXPIRED, OUTCOME, REMINDER
from maillage.notifications.models import Notification
from maillage.notifications.registry import subject_key
from tests.notifications.factories import NotificationPreferenceFactory

pytestmark = pytest.mark.django_db


def _run() -> str:
    out = io.StringIO()
    call_command("close_expired_needs", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _published(market, make_need, days: int, **kw):
    u = market["users"]
    need = make_need(market["buyer"], u["buyer"], **kw)
    services.publish(u["buyer"], need)
    # the closing date moves after publishing (publishing a need already past it is refused)
    Need.objects.filter(pk=need.pk).update(
        closes_on=timezone.localdate() + datetime.timedelta(days)
    )
    need.refresh_from_db()
    return need


def test_expired_need_is_closed_logged_and_buyer_told_once(
    market, make_need, django_capture_on_commit_callbacks
):
    committed = django_capture_on_commit_callbacks
    u = market["users"]
    need = _published(market, make_need, 0)
    services.respond(u["mech1"], need, market["mech1"], message="Notre offre")
    Need.objects.filter(pk=need.pk).update(closes_on=timezone.localdate() - datetime.timedelta(1))
    open_need = _published(market, make_need, 10, title="Besoin encore ouvert")
    mail.outbox.clear()

    with committed(execute=True):
        assert "1 besoin(s) clos" in _run()

    need.refresh_from_db()
    assert need.status == Need.Status.NOT_AWARDED and need.closed_at is not None
    event = NeedEvent.objects.filter(need=need).order_by("at", "pk").last()
    assert (event.from_status, event.to_status, event.by) == ("published", "not_awarded", None)
    assert Notification.objects.get(kind=NEED_EXPIRED).user == u["buyer"]
    assert ["buyer@example.test"] in [m.to for m in mail.outbox]
    # the responder learns the outcome; nobody may answer any more
    assert Notification.objects.filter(kind=OUTCOME, user=u["mech1"]).exists()
    with pytest.raises(PermissionDenied):
        services.respond(u["mech2"], need, market["mech2"], message="trop tard")
    open_need.refresh_from_db()
    assert open_need.status == Need.Status.PUBLISHED

    sent = len(mail.outbox)
    with committed(execute=True):
        assert "0 besoin(s) clos, 0 relance(s)" in _run()  # idempotent
    assert len(mail.outbox) == sent
    assert NeedEvent.objects.filter(need=need, to_status="not_awarded").count() == 1


def test_one_reminder_per_supplier_without_answer_preference_respected(
    market, make_need, make_user, django_capture_on_commit_callbacks
):
    committed = django_capture_on_commit_callbacks
    u = market["users"]
    # a colleague at mech2 who turned reminders off
    quiet = make_user("u-mech2-quiet", "company", establishments=[market["mech2"]])
    quiet.email = "quiet@example.test"
    quiet.save(update_fields=["email"])
    need = _published(market, make_need, 2)
    far_off = _published(market, make_need, 20, title="Clôture lointaine")
    notified = set(
        Match.objects.filter(need=need, notified_at__isnull=False).values_list(
            "supplier_id", flat=True
        )
    )
    assert {market["mech1"].pk, market["mech2"].pk} <= notified
    services.respond(u["mech1"], need, market["mech1"], message="Déjà répondu")
    NotificationPreferenceFactory(user=quiet, kind=REMINDER, frequency="never")
    mail.outbox.clear()

    with committed(execute=True):
        _run()

    reminded = Notification.objects.filter(kind=REMINDER)
    assert u["mech2"] in {n.user for n in reminded}
    assert not reminded.filter(user__in=[u["mech1"], quiet, u["baker"]]).exists()
    assert not reminded.filter(dedup_key=subject_key(far_off)).exists()
    recipients = [m.to[0] for m in mail.outbox]
    assert "mech2@example.test" in recipients and "quiet@example.test" not in recipients
    m2 = Match.objects.get(need=need, supplier=market["mech2"])
    assert m2.reminded_at is not None
    assert Match.objects.get(need=need, supplier=market["mech1"]).reminded_at is None

    mail.outbox.clear()
    with committed(execute=True):
        assert "0 relance(s)" in _run()  # at most one reminder per (need, supplier)
    assert not mail.outbox
    assert Match.objects.get(pk=m2.pk).reminded_at == m2.reminded_at
