"""Background jobs of the events app (django-tasks): the meeting scheduler."""

from __future__ import annotations

from django_tasks import task

from maillage.events import services
from maillage.events.models import ScheduleRun


@task()
def run_schedule(run_id: int) -> str:
    """Compute the run's schedule. A run no longer pending (recovered as lost, then restarted
    as a new run) is skipped."""
    run = ScheduleRun.objects.select_related("event").get(pk=run_id)
    if not run.start():
        return run.state
    try:
        run = services.compute_schedule(run)
    except Exception as exc:
        # Shown on the organiser's page; the worker logs the traceback too.
        run.fail(str(exc))
        raise
    return run.state
