"""Consortium suggestions for a need of several lots, computed in the background."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from maillage.marketplace import selectors
from maillage.marketplace.models import (
    ConsortiumSuggestions,
    Need,
)

# -- consortium suggestions (computed in the background) --------------------------------------
# A computation pending or running with no sign of life for MAILLAGE_RUN_STALE_MINUTES is taken
# as lost (worker stopped): see maillage.runs.


def wants_consortia(need: Need) -> bool:
    return need.status == Need.Status.PUBLISHED and need.lots.count() >= 2


def request_consortium_suggestions(need: Need, force: bool = False):
    """The stored suggestions of the need, with a background computation started when there are
    none for the current inputs (lots, candidate supplier profiles) — or always with ``force``.
    A computation already under way for the same inputs is not started twice; a failed one is
    retried only when asked (``force``) or when the inputs change. None for a need without
    suggestions (not published, fewer than two lots)."""

    if not wants_consortia(need):
        return None
    fingerprint = selectors.consortium_fingerprint(need)
    row = ConsortiumSuggestions.objects.filter(need=need).first()
    now = timezone.now()
    # A computation lost by a dead worker (stale rule) is queued again for the same inputs.
    if row is not None and not force and row.fingerprint == fingerprint and not row.is_stale:
        return row
    row, _created = ConsortiumSuggestions.objects.update_or_create(
        need=need,
        defaults={
            "fingerprint": fingerprint,
            "state": ConsortiumSuggestions.State.PENDING,
            "created_at": now,
            "started_at": None,
            "finished_at": None,
            "heartbeat_at": None,
            "progress": 0,
            "step": "",
            "error": "",
        },
    )
    # cycle: the task module imports this one to run the computation.
    from maillage.marketplace.tasks import compute_consortium_suggestions

    compute_consortium_suggestions.enqueue(need.pk)
    row.refresh_from_db()  # an immediate backend has already computed it
    return row


def compute_consortium_suggestions(need_id: int) -> ConsortiumSuggestions:
    """Compute and store the groups of a need (the background task's work). The fingerprint
    stored is the one of the inputs read here, so a change made meanwhile is seen as stale on
    the next page view and computed again. A row no longer pending (recovered as lost, or
    taken by another worker) is left as is."""
    need = Need.objects.select_related("buyer").get(pk=need_id)
    row = ConsortiumSuggestions.objects.get(need=need)
    if not row.start():
        return row
    row.advance(10, _("lecture des lots et des fournisseurs"))
    fingerprint = selectors.consortium_fingerprint(need)
    try:
        groups, candidates = selectors.compute_consortia(need)
    except Exception as exc:
        # Shown on the buyer's page; the worker logs the traceback too.
        row.fail(str(exc))
        raise
    row.finish(fingerprint=fingerprint, groups=groups, candidates=candidates)
    return row
