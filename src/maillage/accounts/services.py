"""Writes of the accounts app: the audit log."""

from __future__ import annotations

from maillage.accounts import policy
from maillage.accounts.models import AuditLog


def record_flow_view(user, establishment, detail: str = "") -> AuditLog | None:
    """Log that ``user`` read ``establishment``'s raw flows, when the policy says it is audited."""
    if not policy.flow_view_is_audited(user, establishment):
        return None
    return AuditLog.objects.create(
        user=user, action=AuditLog.Action.VIEW_FLOWS, establishment=establishment, detail=detail
    )


def record_flow_views(
    user, establishment_ids, detail: str = "", action: str = AuditLog.Action.VIEW_FLOWS
) -> int:
    """Bulk variant for lists (API pages, exports): one audit entry per establishment shown."""
    if not policy.is_platform_or_chamber_staff(user):
        return 0
    entries = [
        AuditLog(user=user, action=action, establishment_id=pk, detail=detail)
        for pk in sorted(set(establishment_ids))
    ]
    AuditLog.objects.bulk_create(entries)
    return len(entries)


def record_change(user, establishments, action: str, detail: str = "") -> int:
    """Log a change made by staff to data of ``establishments`` (one entry each); a company
    changing its own data is not logged here (its history is kept by each app)."""
    if not (user is not None and user.is_authenticated):
        return 0
    if not policy.is_platform_or_chamber_staff(user):
        return 0
    ids = sorted({e if isinstance(e, int) else e.pk for e in establishments if e is not None})
    AuditLog.objects.bulk_create(
        AuditLog(user=user, action=action, establishment_id=pk, detail=detail[:255]) for pk in ids
    )
    return len(ids)
