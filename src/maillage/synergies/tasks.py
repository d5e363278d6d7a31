"""Background jobs of the synergies app (django-tasks: a database queue, `manage.py db_worker`)."""

from __future__ import annotations

from django.utils import timezone
from django_tasks import task

from maillage.synergies import services
from maillage.synergies.models import DetectionRun


@task()
def run_detection(run_id: int) -> dict:
    """Run a full detection for the run's chamber, recording progress on the run."""
    run = DetectionRun.objects.select_related("chamber").get(pk=run_id)
    try:
        results = services.detect(run.chamber, run=run)
    except Exception as exc:
        # The failure is shown on the run's page; the worker logs the traceback too.
        DetectionRun.objects.filter(pk=run.pk).update(
            state=DetectionRun.State.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        raise
    DetectionRun.objects.filter(pk=run.pk).update(
        state=DetectionRun.State.DONE,
        progress=100,
        step="",
        counts=results,
        finished_at=timezone.now(),
    )
    return results
