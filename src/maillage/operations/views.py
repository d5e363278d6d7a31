"""The health endpoint."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from maillage.operations.health import run_checks


@login_not_required
@never_cache
@require_safe
def health(request):
    """Who may see what: public (a load balancer or supervisor asks without an account); the
    answer holds only statuses, counts and ages, nothing about a company or a person.
    200 when every check passes, 503 otherwise."""
    result = run_checks()
    return JsonResponse(result, status=200 if result["status"] == "ok" else 503)
