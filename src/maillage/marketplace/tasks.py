"""Background jobs of the marketplace (django-tasks): the consortium suggestions of a need."""

from __future__ import annotations

from django_tasks import task

from maillage.marketplace import services


@task()
def compute_consortium_suggestions(need_id: int) -> str:
    return services.compute_consortium_suggestions(need_id).state
