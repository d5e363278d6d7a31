"""Background jobs of the events app (django-tasks): the meeting scheduler."""

from __future__ import annotations

from django.utils import timezone
from django_tasks import task

from maillage.events import services
from maillage.events.models import ScheduleRun


@task()
def run_schedule(run_id: int) -> str:
    run = ScheduleRun.objects.select_related("event").get(pk=run_id)
    try:
        run = services.compute_schedule(run)
    except Exception as exc:
        # Shown on the organiser's page; the worker logs the traceback too.
        ScheduleRun.objects.filter(pk=run_id).update(
            state=ScheduleRun.State.FAILED, problems=[str(exc)[:2000]], finished_at=timezone.now()
        )
        raise
    return run.state
