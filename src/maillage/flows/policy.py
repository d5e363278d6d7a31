"""Who may see and change raw flows and visits:

- platform staff see and edit everything;
- advisors and chamber administrators read the raw flows (and visits) of their own chamber and of
  chambers whose agreement has the "flows" scope; they record flows and visits for their own
  chamber's establishments only (partners read);
- a company user reads and edits the flows of the establishments they represent;
- anyone else (network animators, export advisors, anonymous visitors) sees no flow;
- a flow's history is readable by whoever may read the flow itself;
- the flows' export (CSV / XLSX, audited) is for platform and chamber staff and company users.
"""

from __future__ import annotations

from django.db.models import QuerySet

from maillage.accounts.policy import (
    Standing,
    chamber_id_of,
    flow_chamber_ids,
    is_own_chamber_staff,
    standing,
)
from maillage.directory.policy import can_edit_establishment
from maillage.flows.models import Flow, Visit


def _visible(qs: QuerySet, user) -> QuerySet:
    match standing(user):
        case Standing.PLATFORM:
            return qs
        case Standing.CHAMBER:
            return qs.filter(
                establishment__commune__territory__chamber_id__in=flow_chamber_ids(user)
            )
        case Standing.COMPANY:
            return qs.filter(establishment__users=user)
    return qs.none()


def visible_flows(user) -> QuerySet:
    return _visible(Flow.objects.all(), user)


def visible_visits(user) -> QuerySet:
    return _visible(Visit.objects.all(), user)


def can_view_flows(user, establishment) -> bool:
    match standing(user):
        case Standing.PLATFORM:
            return True
        case Standing.CHAMBER:
            return chamber_id_of(establishment) in flow_chamber_ids(user)
        case Standing.COMPANY:
            return user.establishments.filter(pk=establishment.pk).exists()
    return False


def can_edit_flows(user, establishment) -> bool:
    """Whoever may edit the establishment records its flows (see ``can_edit_establishment``)."""
    return can_edit_establishment(user, establishment)


def can_record_visit(user, establishment) -> bool:
    if user.is_authenticated and user.is_superuser:
        return True
    return is_own_chamber_staff(user, establishment)


def can_view_flow_history(user, flow) -> bool:
    return can_view_flows(user, flow.establishment)


def can_export_flows(user) -> bool:
    """The flows' export (what ``visible_flows`` shows, audited): platform and chamber staff,
    company users (their own establishments'); nobody else."""
    return standing(user) in (Standing.PLATFORM, Standing.CHAMBER, Standing.COMPANY)
