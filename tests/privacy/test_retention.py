"""Retention: ``purge_retention`` deletes what is older than its period, keeps the rest; the dry
run deletes nothing."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from maillage.accounts.models import AuditLog
from maillage.notifications.models import Notification
from maillage.privacy import retention
from tests.accounts.factories import AccessAttemptFactory, AuditLogFactory
from tests.notifications.factories import NotificationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def aged(territory):
    now = timezone.now()
    user, e77 = territory["advisor77"], territory["e77"]

    def audit(days):
        return AuditLogFactory(
            user=user, establishment=e77, action="view_flows", at=now - datetime.timedelta(days)
        )

    def note(days):
        return NotificationFactory(
            user=user, kind="network_news", title="t", created_at=now - datetime.timedelta(days)
        )

    return {
        "old_audit": [audit(400), audit(366), audit(500)],
        "recent_audit": audit(300),
        "old_notes": [note(181), note(200)],
        "recent_note": note(10),
    }


def _run(*args) -> str:
    out = io.StringIO()
    call_command("purge_retention", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_the_dry_run_counts_and_deletes_nothing(aged):
    out = _run("--dry-run")
    assert "accounts.AuditLog : 3 ligne(s) à supprimer" in out
    assert "notifications.Notification : 2 ligne(s) à supprimer" in out
    assert AuditLog.objects.count() == 4 and Notification.objects.count() == 3


def test_the_purge_deletes_old_rows_in_batches_and_keeps_recent_ones(aged):
    out = _run("--batch", "2")
    assert "accounts.AuditLog : 3 ligne(s) supprimée(s)" in out
    assert "notifications.Notification : 2 ligne(s) supprimée(s)" in out
    assert list(AuditLog.objects.all()) == [aged["recent_audit"]]
    assert list(Notification.objects.all()) == [aged["recent_note"]]
    assert "0 ligne(s) supprimée(s)" in _run().splitlines()[0]  # nothing left to purge


def test_progress_is_reported_per_batch(aged):
    seen = []
    retention.purge(batch=1, progress=lambda table, done, total: seen.append((table, done, total)))
    assert [s for s in seen if s[0] == "accounts.AuditLog"] == [
        ("accounts.AuditLog", 1, 3),
        ("accounts.AuditLog", 2, 3),
        ("accounts.AuditLog", 3, 3),
    ]


def test_the_periods_come_from_the_settings(aged, settings):
    settings.MAILLAGE_AUDIT_RETENTION_DAYS = 1000
    settings.MAILLAGE_NOTIFICATION_RETENTION_DAYS = 5
    counts = retention.purge(dry_run=True)
    assert counts["accounts.AuditLog"] == 0
    assert counts["notifications.Notification"] == 3


def test_a_bad_batch_size_is_refused_in_french(aged):
    with pytest.raises(CommandError, match="entier positif"):
        _run("--batch", "0")


def test_old_sign_in_attempts_follow_the_audit_period(aged):
    from axes.models import AccessAttempt

    now = timezone.now()
    for username in ("old", "recent"):
        AccessAttemptFactory(
            username=username, ip_address="192.0.2.1", user_agent="x", failures_since_start=1
        )
    AccessAttempt.objects.filter(username="old").update(
        attempt_time=now - datetime.timedelta(days=400)
    )
    assert retention.purge()["axes.AccessAttempt"] == 1
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == ["recent"]
