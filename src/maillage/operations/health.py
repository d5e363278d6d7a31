"""Health checks for /sante/: can the database answer, and is the task queue being worked?

Plain results, no personal data: counts and ages only."""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Min, Q
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max

logger = logging.getLogger(__name__)


@dataclass
class Check:
    ok: bool
    detail: dict = field(default_factory=dict)


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        logger.error("Health check: database unreachable (%s)", type(exc).__name__)
        return Check(ok=False, detail={"error": "unreachable"})
    return Check(ok=True)


def check_task_queue(now: datetime.datetime | None = None) -> Check:
    """Unhealthy when a task that could run has waited more than
    MAILLAGE_HEALTH_MAX_PENDING_MINUTES: no worker is taking tasks (none started, or all dead).
    django-tasks-db keeps no worker heartbeat, so a waiting task is the signal. Tasks scheduled
    for later (``run_after`` in the future) are not counted until they are due."""
    backend = settings.TASKS["default"]["BACKEND"]
    if backend != "django_tasks_db.DatabaseBackend":
        return Check(ok=True, detail={"backend": backend.rsplit(".", 1)[-1]})
    now = now or timezone.now()
    limit = datetime.timedelta(minutes=settings.MAILLAGE_HEALTH_MAX_PENDING_MINUTES)
    # A task without a start time has run_after = the largest date; it is due since enqueued.
    unscheduled = Q(run_after=get_date_max())
    try:
        ready = DBTaskResult.objects.ready()
        due_since = ready.aggregate(
            unscheduled=Min("enqueued_at", filter=unscheduled),
            scheduled=Min("run_after", filter=~unscheduled),
        )
        waiting = ready.filter(
            (unscheduled & Q(enqueued_at__lte=now - limit)) | Q(run_after__lte=now - limit)
        ).count()
        ready_count = ready.count()
        running = DBTaskResult.objects.running().count()
    except DatabaseError as exc:
        logger.error("Health check: task queue unreadable (%s)", type(exc).__name__)
        return Check(ok=False, detail={"error": "unreadable"})
    oldest = min((d for d in due_since.values() if d is not None), default=None)
    detail = {
        "ready": ready_count,
        "running": running,
        "waiting_too_long": waiting,
        "max_wait_minutes": settings.MAILLAGE_HEALTH_MAX_PENDING_MINUTES,
    }
    if oldest is not None:
        detail["oldest_ready_minutes"] = round((now - oldest).total_seconds() / 60, 1)
    return Check(ok=waiting == 0, detail=detail)


def run_checks() -> dict:
    """Every check; the database first, since the queue lives in it."""
    database = check_database()
    checks = {"database": database}
    checks["tasks"] = check_task_queue() if database.ok else Check(ok=False, detail={})
    return {
        "status": "ok" if all(c.ok for c in checks.values()) else "error",
        "checks": {name: {"ok": c.ok, **c.detail} for name, c in checks.items()},
    }
