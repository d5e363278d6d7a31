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
