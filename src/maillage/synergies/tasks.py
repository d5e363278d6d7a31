"""Background jobs of the synergies app (django-tasks: a database queue, `manage.py db_worker`)."""

from __future__ import annotations

from django_tasks import task

from maillage.synergies import services
from maillage.synergies.models import DetectionRun


@task()
def run_detection(run_id: int) -> dict:
    """Run a full detection for the run's chamber, recording progress on the run. A run no
    longer pending (recovered as lost, then restarted as a new run) is skipped."""
    run = DetectionRun.objects.select_related("chamber").get(pk=run_id)
    if not run.start():
        return {}
    try:
        results = services.detect(run.chamber, run=run)
    except Exception as exc:
        # The failure is shown on the run's page; the worker logs the traceback too.
        run.fail(str(exc))
        raise
    run.finish(counts=results)
    return results
