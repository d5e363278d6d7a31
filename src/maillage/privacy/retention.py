"""Retention periods (docs/privacy.md): the audit logs and the notifications older than their
period are deleted, in batches, by ``manage.py purge_retention`` run daily."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.db import models, transaction
from django.utils import timezone

from maillage.accounts.models import AuditLog
from maillage.notifications.models import Notification
from maillage.privacy.models import PrivacyLogEntry

BATCH = 2_000


@dataclass(frozen=True)
class Table:
    model: type[models.Model]
    date_field: str
    setting: str  # the retention period, in days


def tables() -> list[Table]:
    """The purged tables; django-axes' records of sign-in attempts (login, address, browser)
    follow the audit period."""
    return [
        Table(AuditLog, "at", "MAILLAGE_AUDIT_RETENTION_DAYS"),
        Table(LogEntry, "action_time", "MAILLAGE_AUDIT_RETENTION_DAYS"),
        Table(PrivacyLogEntry, "at", "MAILLAGE_AUDIT_RETENTION_DAYS"),
        Table(Notification, "created_at", "MAILLAGE_NOTIFICATION_RETENTION_DAYS"),
        *(
            Table(model, "attempt_time", "MAILLAGE_AUDIT_RETENTION_DAYS")
            for model in (AccessAttempt, AccessFailureLog, AccessLog)
        ),
    ]


def expired(table: Table, now: datetime.datetime) -> models.QuerySet:
    cutoff = now - datetime.timedelta(days=getattr(settings, table.setting))
    return table.model._default_manager.filter(**{f"{table.date_field}__lt": cutoff})


def purge(
    *,
    dry_run: bool = False,
    now: datetime.datetime | None = None,
    batch: int = BATCH,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, int]:
    """Delete the rows older than their retention period, ``batch`` rows per transaction (a big
    table is never locked for long); returns the count per table ("app_label.Model"), which with
    ``dry_run`` is what would be deleted. ``progress(table, done, total)`` after each batch."""
    now = now or timezone.now()
    counts = {}
    for table in tables():
        label = table.model._meta.label
        rows = expired(table, now)
        total = rows.count()
        counts[label] = total
        if dry_run or not total:
            continue
        done = 0
        while True:
            ids = list(rows.order_by("pk").values_list("pk", flat=True)[:batch])
            if not ids:
                break
            with transaction.atomic():
                table.model._default_manager.filter(pk__in=ids).delete()
            done += len(ids)
            if progress is not None:
                progress(label, min(done, total), total)
        counts[label] = done
    return counts
